"""What each job asks a cluster for, sized from what such jobs were measured to use; and the checks that
a SLURM run's jobs can be scheduled at all (`decaylm slurm-check`, `decaylm slurm-run`; docs/slurm.md).

Sizing (the rules' `resources:` call `sized`). A job's use is a start-up part (the interpreter and its
imports, STARTUP) plus a part that grows with the job's size: the quantities its work is proportional to,
computed from the config before any job runs (reporters, epochs, model cost, tokens per sequence, ...;
`job_size`), so that a dry run shows every request. PROFILES holds, per profile (a rule; a training job's
model kind, and a BERT's tokenizer kind), the peak memory (max_rss) and CPU time (cpu_time) of the rules'
own benchmark files and the size each ran at. Between measurements use is interpolated linearly in the
size; beyond the largest it follows the line through the two largest (or, measured once, the part above
start-up grows in proportion); below the smallest the part above start-up shrinks in proportion. The
request is MEM_MARGIN times that memory and TIME_MARGIN times that time, rounded up, never under
MIN_MEM_MB and MIN_RUNTIME. CPUs are the rule's
threads (the SLURM plugin asks `--cpus-per-task` = threads): one per job, as measured (a mean load of at
most one core; more torch threads made the small models slower, docs/results.md).
`benchmarks/bench_resources.py RESULTS` prints request against measured use for every benchmark file.

Pre-flight (`check_jobs`): every job of a dry run, with the profiles and settings of the real run,
against what its partition offers (`sinfo`: CPUs, memory and GRES per node, time limit; `scontrol`: the
partition's MaxCPUsPerNode and MaxMemPerNode); one line per rule that cannot be scheduled.
Watching (`run_watched`): Snakemake as a child; a job of the run pending for a reason that cannot resolve
(PartitionConfig, an invalid account, ...) ends the run in one line, and Ctrl-C cancels the run's jobs.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache

from decaylm.errors import InputError

# ------------------------------------------------------------------------------------------------
# Sizing

MEM_MARGIN = 2.0     # memory request / measured peak: a job over its request is killed
TIME_MARGIN = 3.0    # runtime request / measured CPU time: a slower or busier node, other CPUs
MIN_MEM_MB = 500     # the interpreter with numpy and pandas measured 70-200 MB
MIN_RUNTIME = 10     # minutes: start-up on a loaded node, a shared file system
MEM_STEP_MB = 100    # requests rounded up to this
# Memory and seconds a job takes before its work, by what it imports: the smallest jobs measured (numpy and
# pandas: provenance, 67-79 MB; torch and transformers: the pretrained row reporting "not run", 338 MB;
# a training job: those of config/tiny.yaml on 600 reporters, 506-592 MB).
STARTUP = {"core": (70.0, 2.0), "torch": (330.0, 6.0), "training": (500.0, 6.0)}
UTRSEQ_EXAMPLE_REPORTERS = 12322  # what data.download fetches (the public UTR-seq example)


@dataclass(frozen=True)
class Measured:
    """One job's use from its benchmark file, and its size in that run."""
    run: str              # which run: "default" (config.yaml), "utrseq" (config/utrseq.yaml), "library"
    size: dict            # the job's quantities there (job_size); reporters: those it had after the filters
    mem_mb: float         # max_rss
    seconds: float | None = None  # cpu_time: the wall time of one thread with a core to itself; None: unknown


@dataclass(frozen=True)
class Profile:
    startup: str                  # what it imports: "core", "torch" or "training" (STARTUP)
    mem_by: tuple = ()            # quantities the memory above start-up is proportional to (() = fixed)
    time_by: tuple = ()           # the same for the time
    measured: tuple = ()          # Measured, of jobs of this profile


@dataclass(frozen=True)
class Request:
    mem_mb: int
    runtime: int                  # minutes
    profile: str
    size: dict = field(default_factory=dict)
    use_mb: float = 0.0           # the estimated use the request is made from
    use_seconds: float = 0.0


def _m(run, mem_mb, seconds, **size):
    return Measured(run, size, mem_mb, seconds)


# The measurements (`benchmarks/bench_resources.py RESULTS --measured` prints them from a run): benchmark files
# of the default run (config.yaml, 3,999 simulated reporters after the filter; `make run`), of the library
# (config/library.yaml: 21,714 reporters), of config/tiny.yaml (600; the test session's runs) and of a run of
# both UTR-seq libraries (config/utrseq_libraries.yaml, 12,158); and the figures of the real-data run
# (config/utrseq.yaml, 12,322 reporters) quoted in issue 25 (BERT_KMER6 993 MB, every training job under 1 GB),
# and of the real-data default run (config.yaml since f8223df; docs/slurm.md).
PROFILES: dict[str, Profile] = {}  # filled below


def _profile(name, startup, mem_by=(), time_by=(), *measured):
    PROFILES[name] = Profile(startup, tuple(mem_by), tuple(time_by), tuple(measured))


R = ("reporters",)
DEFAULT, LIBRARY, UTRSEQ, TINY = 3999, 21714, 12322, 600  # reporters after the read filter in each run
SMALL_BERT = {"epochs": 4, "cost": 65536, "tokens": 112}  # config.yaml's small BERT rows
TINY_BERT = {"reporters": TINY, "epochs": 2, "cost": 8192}  # config/tiny.yaml's

# Data preparation and scoring (numpy, pandas): memory and time grow with the reporters.
_profile("simulate_data", "core", R, R, _m("default", 88, 0.7, reporters=DEFAULT), _m("tiny", 67, 0.2, reporters=TINY))
_profile("normalize_expression", "core", R, R, _m("default", 85, 0.3, reporters=DEFAULT),
         _m("library", 137, 1.0, reporters=LIBRARY))
_profile("compute_target", "core", R, R, _m("default", 145, 1.0, reporters=DEFAULT),
         _m("tiny", 143, 0.9, reporters=TINY))
_profile("target_variance", "core", R, R, _m("library", 191, 14.8, reporters=LIBRARY))
_profile("split_data", "core", R, R, _m("default", 110, 0.6, reporters=DEFAULT),
         _m("library", 301, 2.0, reporters=LIBRARY), _m("tiny", 109, 0.5, reporters=TINY))
# The other rules that read and write a split-sized table (joint_targets, library_split, split_folds,
# learning_curve_split)
_profile("split_table", "core", R, R, _m("library", 69, 0.3, reporters=LIBRARY),
         _m("utrseq_libraries", 87, 0.5, reporters=12158), _m("utrseq_libraries", 90, 0.6, reporters=12158),
         _m("tiny_folds", 107, 0.5, reporters=TINY))
_profile("evaluate_model", "core", R, R + ("bootstrap",), _m("default", 195, 2.1, reporters=DEFAULT, bootstrap=1000),
         _m("library", 194, 1.9, reporters=LIBRARY, bootstrap=1000),
         _m("tiny", 194, 1.9, reporters=TINY, bootstrap=1000))
_profile("noise_ceiling", "core", R, R + ("resamples",), _m("default", 153, 4.1, reporters=DEFAULT, resamples=200),
         _m("library", 208, 10.0, reporters=LIBRARY, resamples=200),
         _m("tiny", 149, 3.2, reporters=TINY, resamples=200))
# compare_models, and the tables like it (learning_curve, compare_libraries): every row's predictions
_profile("compare_models", "core", R + ("models",), R + ("models", "bootstrap"),
         _m("default", 221, 4.0, reporters=DEFAULT, models=12, bootstrap=1000),
         _m("tiny", 210, 3.0, reporters=TINY, models=8, bootstrap=1000))
_profile("provenance", "core", (), (), _m("default", 78, 0.3), _m("library", 79, 0.4))
# The mean of rows (ensemble_models, repeat_ensemble), and of a row's repeats or folds with their runs' records
# (combine_repeats, pool_folds)
_profile("ensemble_models", "core", R, R, _m("default", 89, 0.5, reporters=DEFAULT),
         _m("library", 96, 0.5, reporters=LIBRARY), _m("library", 85, 0.5, reporters=LIBRARY))
_profile("combine_repeats", "core", R, R, _m("library", 173, 1.3, reporters=LIBRARY),
         _m("tiny_folds", 163, 1.6, reporters=TINY))
_profile("download_utrseq", "core", (), (), _m("not measured: two files of 2 MB", 100, 60.0))
_profile("plot_profiles", "core", (), (), _m("default", 124, 1.5), _m("tiny", 122, 1.3))

# Tokenizers (the tokenizers library; torch's environment).
_profile("tokenizer_stats", "torch", R, R + ("tokenizers",), _m("default", 444, 4.4, reporters=DEFAULT, tokenizers=6),
         _m("library", 772, 7.9, reporters=LIBRARY, tokenizers=1),
         _m("tiny", 387, 3.9, reporters=TINY, tokenizers=3))
_profile("train_tokenizer:nucleotide", "torch", R, R, _m("default", 403, 3.5, reporters=DEFAULT),
         _m("library", 654, 6.8, reporters=LIBRARY), _m("tiny", 350, 3.1, reporters=TINY))
_profile("train_tokenizer:kmer", "torch", R, R, _m("default", 414, 4.1, reporters=DEFAULT))
_profile("train_tokenizer:morfessor", "torch", R, R, _m("default", 341, 13.0, reporters=DEFAULT))
_profile("train_tokenizer:bpe", "torch", R, R, _m("default", 392, 3.3, reporters=DEFAULT),
         _m("tiny", 349, 3.0, reporters=TINY))
_profile("train_tokenizer:rbp_window", "torch", R, R, _m("default", 361, 3.7, reporters=DEFAULT),
         _m("default", 351, 2.7, reporters=DEFAULT), _m("tiny", 346, 3.0, reporters=TINY))

# Training: memory grows with the data held (reporters), time with reporters x epochs x the model's cost
# per nucleotide or token.
TRAIN_TIME = R + ("epochs", "cost", "length")
BERT_TIME = R + ("epochs", "cost", "tokens")
# Below MIN_GRAM_REPORTERS training reporters (every shipped config) the k-mer ridge is scikit-learn's pipeline,
# whose memory grows with reporters x features; above, its folds' Gram matrices (decaylm/models/kmer_ridge.py),
# 2.4-2.7 GB at 5,460 features from 10^5 to 10^6 reporters (benchmarks/bench_scale.py, docs/scale.md).
_profile("train:kmer_ridge", "torch", R + ("features",), R + ("features",),
         _m("default", 434, 4.8, reporters=DEFAULT, features=5460),
         _m("library", 592, 43.1, reporters=LIBRARY, features=5460),
         _m("bench_scale", 2388, 79.9, reporters=99987, features=5460),
         _m("bench_scale", 2664, 393.6, reporters=999909, features=5460),
         _m("tiny", 400, 3.2, reporters=TINY, features=340))
CNN = {"epochs": 15, "cost": 344064, "length": 110}
_profile("train:cnn", "training", R, TRAIN_TIME, _m("default", 611, 78.4, reporters=DEFAULT, **CNN),
         _m("library", 584, 290.1, reporters=LIBRARY, **CNN),
         _m("library", 569, 315.4, reporters=LIBRARY, **CNN),
         _m("tiny", 506, 4.9, reporters=TINY, epochs=3, cost=5376, length=110))
LEGNET = {"cost": 25600, "length": 110}
_profile("train:legnet", "training", R, TRAIN_TIME, _m("library", 754, 705.3, reporters=LIBRARY, epochs=12, **LEGNET),
         *(_m("library", mem, sec, reporters=LIBRARY, epochs=6, **LEGNET)
           for mem, sec in ((759, 370.9), (739, 394.4), (730, 391.9), (830, 427.1), (826, 401.0), (799, 423.9),
                            (808, 418.2), (785, 407.0))))
_profile("train:bert:bpe", "training", R, BERT_TIME, _m("default", 610, 9.0, reporters=DEFAULT, **SMALL_BERT),
         _m("default", 659, 11.4, reporters=DEFAULT, **SMALL_BERT), _m("tiny", 563, 6.1, tokens=112, **TINY_BERT))
_profile("train:bert:kmer", "training", R, BERT_TIME, _m("default", 758, 19.6, reporters=DEFAULT, **SMALL_BERT),
         _m("utrseq", 993, None, reporters=UTRSEQ, **SMALL_BERT))
_profile("train:bert:nucleotide", "training", R, BERT_TIME,
         _m("default", 728, 14.2, reporters=DEFAULT, epochs=8, cost=32768, tokens=112))
_profile("train:bert:nucleotide+stem", "training", R, BERT_TIME,
         _m("default", 721, 43.8, reporters=DEFAULT, epochs=10, cost=32768, tokens=30),
         _m("library", 1065, 164.6, reporters=LIBRARY, epochs=10, cost=32768, tokens=30),
         _m("tiny", 592, 6.2, tokens=30, **TINY_BERT))
_profile("train:bert:rbp_window", "training", R, BERT_TIME, _m("default", 565, 7.6, reporters=DEFAULT, **SMALL_BERT),
         _m("default", 574, 5.7, reporters=DEFAULT, **SMALL_BERT),
         _m("tiny", 542, 5.8, tokens=112, **TINY_BERT))
_profile("pretrain_mlm", "training", R, BERT_TIME,
         _m("default", 670, 11.5, reporters=DEFAULT, epochs=3, cost=65536, tokens=112),
         _m("tiny", 564, 5.9, reporters=TINY, epochs=1, cost=8192, tokens=112))
# A hub checkpoint without its weights writes "not run" in seconds. With them (DNABERT-2, 117M parameters)
# nothing was measured here (no weights on this machine): 4 GB and 2.7 h for 5 epochs on the real data are
# an estimate (weights, gradients and AdamW's state of 117M parameters, 1.9 GB, plus activations of 32 x 64
# tokens; 6 x 117M multiply-adds per token on one core), to be replaced by a measurement.
_profile("train:pretrained_not_run", "torch", (), (), _m("default", 342, 2.7), _m("tiny", 338, 2.9))
_profile("train:pretrained", "torch", (), R + ("epochs",),
         _m("estimate, not measured", 4000, 9600.0, reporters=UTRSEQ, epochs=5))

# Interpretation of n_sequences test reporters, by the model's family (and a BERT's tokenizer kind).
INTERPRET = {"sequences": 100, "length": 110}
TINY_INTERPRET = {"reporters": TINY, "sequences": 30, "length": 110}
_profile("interpret_model:bert", "torch", R, ("sequences", "length"),
         _m("default", 874, 9.1, reporters=DEFAULT, **INTERPRET),
         _m("default", 993, 43.1, reporters=DEFAULT, **INTERPRET),
         _m("default", 801, 27.7, reporters=DEFAULT, **INTERPRET),
         _m("tiny", 1428, 21.9, **TINY_INTERPRET), _m("tiny", 904, 21.5, **TINY_INTERPRET),
         _m("tiny", 928, 41.9, **TINY_INTERPRET),
         # the real-data default run (config.yaml, f8223df): BERT_BPE, MORPH_D. Issue 25 quoted 2.7 GB for MORPH_D's
         # interpretation at 9859146; today's code measures 1.2 GB on the same data and settings.
         _m("utrseq", 887, 14.2, reporters=UTRSEQ, **INTERPRET), _m("utrseq", 1243, 13.6, reporters=UTRSEQ, **INTERPRET))
_profile("interpret_model:cnn", "torch", R, ("sequences", "length"),
         _m("default", 815, 44.0, reporters=DEFAULT, **INTERPRET),
         _m("library", 758, 26.2, reporters=LIBRARY, **INTERPRET),
         _m("library", 828, 261.9, reporters=LIBRARY, **INTERPRET),
         _m("utrseq", 574, 15.0, reporters=UTRSEQ, **INTERPRET), _m("tiny", 649, 8.1, **TINY_INTERPRET))
_profile("interpret_elements", "torch", (), (), _m("default", 652, 6.0), _m("library", 572, 6.1),
         _m("tiny", 672, 7.0), _m("tiny", 593, 21.5))
_profile("predict_sequences", "torch", (), (), _m("default", 398, 3.0), _m("default", 561, 6.0),
         _m("default", 464, 2.8), _m("default", 634, 7.2), _m("library", 496, 3.3), _m("library", 524, 15.0),
         _m("tiny", 419, 2.7), _m("tiny", 556, 6.0))


# ------------------------------------------------------------------------------------------------
# A job's size: quantities known from the config before any job runs


def _count_lines(path: str) -> int:
    with open(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())


@lru_cache(maxsize=64)
def _file_stats(path: str, mtime: float, separator: str) -> tuple[int, int]:
    """(rows, longest field) of a text file: its sequences' count and length (the sequence is a row's
    longest field)."""
    rows = longest = 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            fields = line.rstrip("\n").split(separator)
            if len(fields) > 1:
                rows += 1
                longest = max(longest, max(len(f.strip()) for f in fields[1:]))
    return rows, longest


def _data_section(config: dict, library: str | None) -> dict:
    if library:
        from decaylm.libraries import library_data

        return library_data(config, library)
    return config["data"]


def data_size(config: dict, library: str | None = None) -> tuple[int, int]:
    """(reporters, sequence length) of the run's data: for read counts, the sequences the config reads (an
    upper bound of those that pass the read filter); for simulated data, what the simulator makes."""
    libraries = (config["data"].get("libraries") or {}) if not library else {}
    if len(libraries) > 1:  # a job of every library (the shared split): the largest
        return max(data_size(config, name) for name in libraries)
    data = _data_section(config, library)
    source = config["data"]["source"]
    if source == "simulated":
        sim = data.get("simulate") or {}
        return int(sim.get("n_reporters", 4000)), int(sim.get("length", 110))
    from decaylm.sources import sequences_file

    path, separator = (data["sequences"], ",") if source == "table" else (sequences_file(data), "\t")
    if os.path.isfile(path):
        rows, longest = _file_stats(path, os.path.getmtime(path), separator)
        return max(rows - (source == "table"), 1), max(longest, 1)
    return UTRSEQ_EXAMPLE_REPORTERS, 110  # not there yet: data.download fetches the example


def _model_spec(config: dict, model: str):
    from decaylm.models.registry import parse_model_spec
    from decaylm.repeats import base_model

    name = base_model(model)
    return parse_model_spec(name, config["models"][name], config.get("seed", 0))


def _encoder_cost(arch) -> float:
    """Multiply-adds per token of a BERT encoder's layers (attention projections and feed-forward)."""
    return arch.layers * arch.hidden * (4 * arch.hidden + 2 * arch.intermediate)


def _tokens(arch, length: int) -> float:
    """Tokens per sequence at most (a nucleotide each, cut at max_length; a conv stem pools them)."""
    pooled = length / max(1, getattr(arch, "stem_pool", 1)) ** len(getattr(arch, "conv_stem", []) or [])
    return min(arch.max_length, math.ceil(pooled) + 2)


def _tokenizer_kind(config: dict, name: str) -> str:
    from decaylm.repeats import base_model

    return config["tokenizers"][base_model(name)]["kind"]


def _training_size(config, spec, reporters, length) -> tuple[str, dict]:
    arch, training = spec.architecture, spec.training
    size = {"reporters": reporters, "epochs": training.epochs if training else 1}
    if spec.kind == "cnn":
        size.update(cost=arch.channels ** 2 * sum(arch.kernel_sizes), length=length)
        return "train:cnn", size
    if spec.kind == "legnet":
        size.update(cost=sum(width ** 2 * arch.expand for width in arch.block_channels), length=length)
        return "train:legnet", size
    if spec.kind == "bert":
        size.update(cost=_encoder_cost(arch), tokens=_tokens(arch, length))
        stem = "+stem" if arch.conv_stem else ""
        return f"train:bert:{_tokenizer_kind(config, spec.links['tokenizer'])}{stem}", size
    if spec.kind == "kmer_ridge":
        size.update(features=sum(4 ** k for k in range(1, arch.k_max + 1)))
        return "train:kmer_ridge", size
    if spec.kind == "pretrained":
        return ("train:pretrained" if pretrained_available(arch) else "train:pretrained_not_run"), size
    return f"train:{spec.kind}", size


def pretrained_available(arch) -> bool:
    """Whether a hub checkpoint's job can load its weights: a local folder, the hub's cache, or the hub
    itself (not offline); without them the job writes "not run" in seconds and needs little."""
    if os.path.isdir(os.path.expanduser(arch.checkpoint)):
        return True
    # HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE as decaylm.models.pretrained.offline reads them (that module
    # imports torch, seconds at every workflow start)
    offline = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    if not any(os.environ.get(v, "").lower() in ("1", "true", "yes", "on") for v in offline):
        return True  # the job may download them
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(arch.checkpoint, "config.json", revision=arch.revision or None), str)
    except Exception:  # noqa: BLE001 - no hub library or an odd cache: assume the weights are there
        return True


def job_size(config: dict, rule: str, wildcards) -> tuple[str, dict]:
    """(profile, quantities) of a job of `rule` with these wildcards."""
    wildcards = dict(wildcards or {})
    library = wildcards.get("library")
    reporters, length = data_size(config, library)
    size = {"reporters": reporters}
    if "model" in wildcards and (rule == "train_model" or rule.startswith(("train_", "finetune_"))):
        return _training_size(config, _model_spec(config, wildcards["model"]), reporters, length)
    if rule == "pretrain_mlm":
        from decaylm.models.registry import parse_pretraining_spec
        from decaylm.repeats import base_model

        name = base_model(wildcards["pretraining"])
        spec = parse_pretraining_spec(name, config["pretraining"][name], config.get("seed", 0))
        return "pretrain_mlm", {**size, "epochs": spec.training.epochs, "cost": _encoder_cost(spec.architecture),
                                "tokens": _tokens(spec.architecture, length)}
    if rule == "train_tokenizer":
        return f"train_tokenizer:{_tokenizer_kind(config, wildcards['tokenizer'])}", size
    if rule == "tokenizer_stats":
        return rule, {**size, "tokenizers": max(1, len(config.get("tokenizers") or {}))}
    if rule == "noise_ceiling":
        return rule, {**size, "resamples": config["evaluate"]["noise_resamples"]}
    if rule == "evaluate_model":
        return rule, {**size, "bootstrap": config["evaluate"]["bootstrap"]}
    if rule in ("compare_models", "learning_curve", "compare_libraries"):
        return "compare_models", {**size, "models": len(config["models"]), "bootstrap": config["evaluate"]["bootstrap"]}
    if rule in ("ensemble_models", "repeat_ensemble"):
        return "ensemble_models", size
    if rule in ("combine_repeats", "pool_folds"):
        return "combine_repeats", size
    if rule in ("joint_targets", "library_split", "split_folds", "learning_curve_split"):
        return "split_table", size
    if rule == "interpret_model":
        kind = _model_spec(config, wildcards["model"]).kind
        family = {"legnet": "cnn", "repeat_ensemble": "ensemble"}.get(kind, kind)
        return f"interpret_model:{family}", {**size, "sequences": config["interpret"]["n_sequences"], "length": length}
    if rule in ("predict_sequences", "predict_variants"):
        return "predict_sequences", {}
    if rule in ("provenance", "download_utrseq", "plot_profiles", "interpret_elements"):
        return rule, {}
    return rule, size


# ------------------------------------------------------------------------------------------------
# Use and request


def _scale(size: dict, by: tuple) -> float:
    return math.prod(float(size.get(q, 1)) for q in by)


def _estimate(points: list[tuple[float, float]], scale: float, startup: float) -> float:
    """Use at `scale` from measured (scale, use) points: linear between them; beyond the largest, along the
    line through the two largest (never falling, nor under any measurement); below the smallest, or with one
    point, the part above start-up in proportion. Of several measurements at one scale the largest counts."""
    most: dict[float, float] = {}
    for scale_at, use in points:
        most[scale_at] = max(use, most.get(scale_at, use))
    points = sorted(most.items())
    (s_low, u_low), (s_high, u_high) = points[0], points[-1]
    if scale > s_high and len(points) > 1:
        (s0, u0) = points[-2]
        line = u_high + max(0.0, (u_high - u0) / (s_high - s0)) * (scale - s_high)
        return max(line, max(use for _, use in points))
    if scale >= s_high:
        return startup + max(0.0, u_high - startup) * (scale / s_high if s_high else 1.0)
    if scale <= s_low:
        return startup + max(0.0, u_low - startup) * (scale / s_low if s_low else 1.0)
    for (s0, u0), (s1, u1) in zip(points, points[1:]):
        if s0 <= scale <= s1:
            return u0 + (u1 - u0) * (scale - s0) / (s1 - s0)
    raise AssertionError("unreachable")


def estimate_use(profile_name: str, size: dict) -> tuple[float, float]:
    """(peak memory MB, wall seconds) a job of this profile and size is expected to use. A profile never
    measured (a BERT over another tokenizer kind) takes the most that its measured siblings predict."""
    profile = PROFILES.get(profile_name)
    if profile is None:
        family = profile_name.rsplit(":", 1)[0]
        siblings = [key for key in PROFILES if ":" in key and key.rsplit(":", 1)[0] == family]
        if not siblings:
            raise KeyError(f"{profile_name}: no measurement; add one to PROFILES in decaylm/resources.py")
        uses = [estimate_use(key, size) for key in siblings]
        return max(mem for mem, _ in uses), max(sec for _, sec in uses)
    mem0, sec0 = STARTUP[profile.startup]
    mem = _estimate([(_scale(m.size, profile.mem_by), m.mem_mb) for m in profile.measured],
                    _scale(size, profile.mem_by), mem0)
    timed = [(_scale(m.size, profile.time_by), m.seconds) for m in profile.measured if m.seconds is not None]
    sec = _estimate(timed, _scale(size, profile.time_by), sec0) if timed else sec0
    return mem, sec


def request_for(profile_name: str, size: dict) -> Request:
    mem, sec = estimate_use(profile_name, size)
    mem_mb = max(MIN_MEM_MB, math.ceil(MEM_MARGIN * mem / MEM_STEP_MB) * MEM_STEP_MB)
    runtime = max(MIN_RUNTIME, math.ceil(TIME_MARGIN * sec / 60))
    return Request(mem_mb, runtime, profile_name, size, mem, sec)


def job_request(config: dict, rule: str, wildcards=None) -> Request:
    """The request of one job of `rule` (the rule's name as in rules/*.smk; the training rules' template,
    train_model, sizes every model kind)."""
    return request_for(*job_size(config, rule, wildcards))


def sized(config: dict, rule: str, key: str):
    """A rule's `resources:` value (`mem_mb` or `runtime`) as Snakemake wants it: a function of the job's
    wildcards (rules/*.smk: `mem_mb=sized(config, "split_data", "mem_mb")`)."""
    def value(wildcards):
        return getattr(job_request(config, rule, wildcards), key)

    value.__name__ = f"{rule}_{key}"
    return value


# ------------------------------------------------------------------------------------------------
# What a SLURM partition offers

SINFO_FORMAT = "%P|%l|%N|%c|%m|%G"  # partition (* = default), time limit, node, CPUs, memory (MB), GRES


@dataclass
class Node:
    name: str
    cpus: int
    mem_mb: int
    gpus: dict  # GPU type -> count; "" -> all GPUs of the node


@dataclass
class Partition:
    name: str
    default: bool = False
    time_limit: int | None = None      # minutes; None = no limit
    nodes: list = field(default_factory=list)
    max_cpus_per_node: int | None = None  # scontrol's MaxCPUsPerNode / MaxMemPerNode, when limited
    max_mem_per_node: int | None = None

    def node_limits(self, node: Node) -> tuple[int, int]:
        """(CPUs, MB) one job may have on this node in this partition."""
        cpus = min(node.cpus, self.max_cpus_per_node or node.cpus)
        return cpus, min(node.mem_mb, self.max_mem_per_node or node.mem_mb)

    def most(self) -> tuple[int, int]:
        """The most CPUs and memory a job may have on any one node."""
        limits = [self.node_limits(node) for node in self.nodes] or [(0, 0)]
        return max(cpus for cpus, _ in limits), max(mem for _, mem in limits)

    def gpu_types(self) -> set:
        return {kind for node in self.nodes for kind, count in node.gpus.items() if kind and count}


def parse_minutes(text: str) -> int | None:
    """A SLURM time (`infinite`, `UNLIMITED`, `30`, `30:00`, `2:00:00`, `1-12:00:00`) in minutes; None = none."""
    text = text.strip()
    if text.lower() in ("infinite", "unlimited", "none", "n/a", ""):
        return None
    days, _, clock = text.rpartition("-")
    parts = [int(p) for p in clock.split(":")]
    hours, minutes, seconds = {1: (0, parts[0], 0), 2: (0, *parts), 3: tuple(parts)}[len(parts)]
    return (int(days or 0) * 24 + hours) * 60 + minutes + math.ceil(seconds / 60)


def parse_gres(text: str) -> dict:
    """GPUs of a node from sinfo's %G (`gpu:a100:4(S:0-1),shard:8`, `gpu:2`, `(null)`): {type: n, "": total}."""
    gpus: dict = {}
    for item in re.sub(r"\([^)]*\)", "", text).split(","):
        parts = item.strip().split(":")
        if parts[0] != "gpu" or len(parts) < 2 or not parts[-1].isdigit():
            continue
        count = int(parts[-1])
        if len(parts) == 3:
            gpus[parts[1]] = gpus.get(parts[1], 0) + count
        gpus[""] = gpus.get("", 0) + count
    return gpus


def _number(text: str) -> int:
    match = re.match(r"\d+", text.strip())
    if not match:
        raise ValueError(text)
    return int(match.group())


def parse_sinfo(text: str) -> dict[str, Partition]:
    """Partitions from `sinfo --Node --noheader --format=SINFO_FORMAT` (one line per node and partition)."""
    partitions: dict[str, Partition] = {}
    for line in text.splitlines():
        fields = line.strip().split("|")
        if len(fields) != 6:
            continue
        name, limit, node, cpus, mem, gres = fields
        default = name.endswith("*")
        name = name.rstrip("*")
        part = partitions.setdefault(name, Partition(name, default, parse_minutes(limit)))
        part.default = part.default or default
        if node not in {n.name for n in part.nodes}:
            part.nodes.append(Node(node, _number(cpus), _number(mem), parse_gres(gres)))
    return partitions


def add_partition_limits(partitions: dict[str, Partition], scontrol_text: str) -> None:
    """MaxCPUsPerNode and MaxMemPerNode from `scontrol show partition --oneliner` (limits that sinfo does
    not show and that leave a job pending for ever: Reason=PartitionConfig, MaxMemPerLimit)."""
    for line in scontrol_text.splitlines():
        fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
        part = partitions.get(fields.get("PartitionName", ""))
        if part is None:
            continue
        for key, attr in (("MaxCPUsPerNode", "max_cpus_per_node"), ("MaxMemPerNode", "max_mem_per_node")):
            value = fields.get(key, "UNLIMITED")
            if value[:1].isdigit():
                setattr(part, attr, _number(value))


def _slurm(*argv: str, timeout: float = 60) -> str:
    """A SLURM command's output; one-line InputError when it is missing or fails."""
    if not shutil.which(argv[0]):
        raise InputError(argv[0], "not found: this is not a SLURM login node",
                         "run on the cluster where sbatch works (or check PATH)")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise InputError(" ".join(argv), (done.stderr.strip().splitlines() or ["failed"])[-1],
                         "check that SLURM answers (sinfo)")
    return done.stdout


def cluster_partitions() -> dict[str, Partition]:
    partitions = parse_sinfo(_slurm("sinfo", "--Node", "--noheader", f"--format={SINFO_FORMAT}"))
    try:
        add_partition_limits(partitions, _slurm("scontrol", "show", "partition", "--oneliner"))
    except InputError:
        pass  # the limits are a refinement: sinfo's nodes and time limits still hold
    return partitions


# ------------------------------------------------------------------------------------------------
# The jobs a run will submit, and whether their partitions can take them


@dataclass
class PlannedJob:
    rule: str
    threads: int
    resources: dict

    @property
    def cpus(self) -> int:
        """What the SLURM plugin asks: cpus_per_task when set, else the job's threads."""
        value = self.resources.get("cpus_per_task")
        return int(value) if isinstance(value, int) and value > 0 else self.threads

    @property
    def mem_mb(self) -> int:
        per_cpu = self.resources.get("mem_mb_per_cpu")
        return int(per_cpu) * self.cpus if per_cpu else int(self.resources.get("mem_mb") or 0)

    @property
    def runtime(self) -> int | None:
        value = self.resources.get("runtime")
        return int(value) if value else None

    @property
    def gpus(self) -> tuple[int, str]:
        """(GPUs, type or "") as `gpu`/`gpu_model` or `gres: gpu[:type]:n` ask."""
        if self.resources.get("gpu"):
            return int(self.resources["gpu"]), str(self.resources.get("gpu_model") or "")
        wanted = parse_gres(str(self.resources.get("gres") or ""))
        typed = [(n, kind) for kind, n in wanted.items() if kind]
        return typed[0] if typed else (wanted.get("", 0), "")

    @property
    def partitions(self) -> list[str]:
        return [p.strip() for p in str(self.resources.get("slurm_partition") or "").split(",") if p.strip()]


def planned_jobs(snakemake_args: list[str], local: bool = False) -> list[PlannedJob]:
    """The cluster jobs (with `local`, the localrules' too) of a dry run with these Snakemake arguments, with
    the resources and threads Snakemake resolved for them (profiles, --set-resources and --set-threads
    included). The dry run runs in this process, so that each job's rule and local flag come from Snakemake
    itself."""
    import contextlib
    import io

    from snakemake import cli
    from snakemake.executors import dryrun

    jobs: list[PlannedJob] = []
    original = dryrun.Executor.run_job

    def record(self, job):
        for one in job.jobs if job.is_group() else [job]:
            workflow = one.dag.workflow
            if one.rule.norun or (one.rule.name in workflow._localrules and not local):
                continue
            jobs.append(PlannedJob(one.rule.name, int(one.threads), dict(one.resources.items())))
        return original(self, job)

    output = io.StringIO()
    dryrun.Executor.run_job = record
    root_handlers = logging.root.handlers[:]  # Snakemake's log records would reach ours too: kept out
    logging.root.handlers = []
    try:
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            try:
                # ours first: after the user's `-- TARGETS` they would be targets
                cli.main(["--dry-run", *_uncapped_threads(snakemake_args), *snakemake_args])
                code = 0
            except SystemExit as done:
                code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    finally:
        dryrun.Executor.run_job = original
        logging.root.handlers = root_handlers
    if code != 0:
        sys.stderr.write(output.getvalue()[-6000:])
        raise InputError("snakemake --dry-run", f"failed with exit status {code} (its output is above)",
                         "fix what it says, then run again")
    return jobs


def _uncapped_threads(snakemake_args: list[str]) -> list[str]:
    """A dry run caps every job's threads at --cores (1 by default); a cluster run without --cores does
    not. So that the dry run's threads are the cluster's, a run without --cores gets plenty."""
    given = any(arg in ("--cores", "-c") or arg.startswith("--cores=") or re.fullmatch(r"-c\d+", arg)
                for arg in snakemake_args)
    return [] if given else ["--cores", str(2 ** 20)]


def _describe(cpus, mem_mb, runtime, gpus) -> str:
    parts = [f"{mem_mb} MB", f"{cpus} CPU{'s' if cpus != 1 else ''}"]
    parts.append(f"{runtime} min" if runtime is not None else "no time limit")
    if gpus[0]:
        parts.append(f"{gpus[0]} GPU{'s' if gpus[0] != 1 else ''}" + (f" of type {gpus[1]}" if gpus[1] else ""))
    return ", ".join(parts)


def _fits(job: PlannedJob, part: Partition) -> bool:
    if job.runtime is not None and part.time_limit is not None and job.runtime > part.time_limit:
        return False
    count, kind = job.gpus
    for node in part.nodes:
        cpus, mem = part.node_limits(node)
        if job.cpus <= cpus and job.mem_mb <= mem and node.gpus.get(kind, 0) >= count:
            return True
    return False


def check_jobs(jobs: list[PlannedJob], partitions: dict[str, Partition]) -> list[str]:
    """One line per rule with a job that no partition it may go to can run: what it asks for, what the
    partition has, and the override that fits it there."""
    default = next((p for p in partitions.values() if p.default), None)
    by_rule: dict[str, list[PlannedJob]] = {}
    for job in jobs:
        names = job.partitions or ([default.name] if default else [])
        if not any(name in partitions and _fits(job, partitions[name]) for name in names):
            by_rule.setdefault(job.rule, []).append(job)
    lines = []
    for rule, failed in sorted(by_rule.items()):
        cpus = max(j.cpus for j in failed)
        mem = max(j.mem_mb for j in failed)
        runtime = max((j.runtime for j in failed if j.runtime is not None), default=None)
        gpus = max(j.gpus for j in failed)  # (count, type)
        names = failed[0].partitions or ([default.name] if default else [])
        jobs_text = f"{rule} ({len(failed)} job{'s' if len(failed) > 1 else ''})"
        asks = f"{jobs_text} asks for {_describe(cpus, mem, runtime, gpus)}"
        missing = [name for name in names if name not in partitions]
        if not names:
            lines.append(f"{asks}; sinfo shows no default partition: give one with "
                         f"--default-resources slurm_partition=NAME (partitions: {', '.join(sorted(partitions))})")
            continue
        if missing:
            listed = ", ".join(sorted(partitions))
            lines.append(f"{asks}; partition {missing[0]} does not exist (sinfo lists: {listed}): "
                         f"--set-resources {rule}:slurm_partition={sorted(partitions)[0]}")
            continue
        part = partitions[names[0]]
        most_cpus, most_mem = part.most()
        threads, resources = [], []
        if cpus > most_cpus:
            threads.append(f"--set-threads {rule}={most_cpus}")
        if mem > most_mem:
            resources.append(f"{rule}:mem_mb={most_mem}")
        if runtime is not None and part.time_limit is not None and runtime > part.time_limit:
            resources.append(f"{rule}:runtime={part.time_limit}")
        if gpus[0] and not any(n.gpus.get(gpus[1], 0) >= gpus[0] for n in part.nodes):
            with_gpus = sorted(name for name, p in partitions.items() if any(n.gpus.get("", 0) for n in p.nodes))
            if with_gpus:
                resources.append(f"{rule}:slurm_partition={with_gpus[0]}")
            else:
                threads.append("`make slurm` (profiles/slurm asks for no GPU)")
        fixes = threads + ([f"--set-resources {' '.join(resources)}"] if resources else [])
        node_gpus = max((n.gpus.get("", 0) for n in part.nodes), default=0)
        has = f"{most_mem} MB and {most_cpus} CPU{'s' if most_cpus != 1 else ''}" + (
            f" and {node_gpus} GPU{'s' if node_gpus != 1 else ''}" if node_gpus else "") + " per node, " + (
            f"{part.time_limit} min per job" if part.time_limit is not None else "no time limit")
        lines.append(f"{asks}; partition {part.name} has at most {has}: "
                     f"{' '.join(fixes) or 'no single node has all of it together'}")
    return lines


def preflight(snakemake_args: list[str]) -> list[str]:
    """`decaylm slurm-check`: the lines of check_jobs for the run these Snakemake arguments would start."""
    partitions = cluster_partitions()
    if not partitions:
        raise InputError("sinfo", "lists no partition", "check that SLURM answers on this node")
    return check_jobs(planned_jobs(snakemake_args), partitions)


# ------------------------------------------------------------------------------------------------
# Watching a run: no silent wait on a job that can never start; Ctrl-C cancels the run's jobs

# squeue reasons that no wait resolves: the job asks what the partition, account or QOS never allows.
NEVER_STARTS = re.compile(r"^(PartitionConfig|PartitionTimeLimit|PartitionNodeLimit|MaxMemPerLimit|BadConstraints|"
                          r"InvalidAccount|InvalidQOS|DependencyNeverSatisfied|(QOS|Assoc)(Max\w*PerJob|Min)\w*)$")
WHY = {
    "PartitionConfig": "it asks for more CPUs (or GPUs) per node than the partition has or allows",
    "MaxMemPerLimit": "it asks for more memory than the partition allows (MaxMemPerNode/MaxMemPerCPU)",
    "PartitionTimeLimit": "its runtime is over the partition's time limit",
    "PartitionNodeLimit": "it asks for more nodes than the partition allows",
    "InvalidAccount": "the account is not valid for you (slurm_account)",
    "InvalidQOS": "the QOS is not valid for you or this partition",
    "ReqNodeNotAvail": "the node it needs does not exist",
}
RUN_ID = re.compile(r"SLURM run ID: (\S+)")


def never_starts(reason: str, known_nodes=None) -> bool:
    """Whether a pending job's squeue reason (%r) means it can never start. ReqNodeNotAvail does when none of
    the nodes it names exists (`known_nodes`); a node that is down or drained may come back."""
    head = reason.split(",")[0].strip()
    if NEVER_STARTS.match(head):
        return True
    if head == "ReqNodeNotAvail" and known_nodes is not None:
        named = re.search(r"UnavailableNodes:(\S+)", reason)
        return bool(named) and not any(node in known_nodes for node in _hostnames(named.group(1)))
    return False


def _hostnames(hostlist: str) -> list[str]:
    try:
        return _slurm("scontrol", "show", "hostnames", hostlist, timeout=30).split()
    except (InputError, OSError, subprocess.SubprocessError):
        return hostlist.split(",")


def pending_jobs(run_id: str) -> list[tuple[str, str, str]]:
    """(job id, rule, reason) of the run's pending jobs (its job name is the run's id; the comment rule_NAME...)."""
    out = _slurm("squeue", "--noheader", f"--name={run_id}", "--states=PENDING", "--format=%i|%k|%r", timeout=60)
    jobs = []
    for line in out.splitlines():
        fields = line.split("|", 2)
        if len(fields) == 3:
            rule = re.match(r"rule_(\w+?)(_wildcards_|$)", fields[1].strip())
            jobs.append((fields[0].strip(), rule.group(1) if rule else fields[1].strip(), fields[2].strip()))
    return jobs


def stuck_job(run_id: str) -> str | None:
    """The one line that says which job of the run can never start and why, or None."""
    try:
        pending = pending_jobs(run_id)
        if not pending:
            return None
        known = None
        if any(reason.startswith("ReqNodeNotAvail") for _, _, reason in pending):
            known = set(_slurm("sinfo", "--Node", "--noheader", "--format=%N").split())
    except (InputError, OSError, subprocess.SubprocessError):
        return None  # squeue did not answer this time: ask again at the next look
    for job_id, rule, reason in pending:
        if never_starts(reason, known):
            head = reason.split(",")[0].strip()
            why = WHY.get(head) or WHY.get(re.sub(r"^(QOS|Assoc).*", "", head)) or "no wait resolves it"
            return (f"decaylm: SLURM job {job_id} (rule {rule}) can never start: Reason={head}, {why}; stopping the "
                    f"run and cancelling its jobs (`decaylm slurm-check` with the same arguments names the fix)")
    return None


def _interrupt_with_parent() -> None:
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGINT))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: Ctrl-C still reaches Snakemake through this process


def run_watched(snakemake_args: list[str], interval: float = 20.0) -> int:
    """Snakemake with these arguments as a child, its output passed through. Every `interval` seconds the
    run's pending jobs are looked at (squeue); one that can never start ends the run with one line. On
    Ctrl-C (or SIGTERM, SIGHUP) Snakemake is interrupted once, which cancels its jobs, and whatever of the run
    is still queued is cancelled after it. Returns the exit status."""
    # Its own session: Ctrl-C reaches this process only, which interrupts Snakemake once (a second SIGINT
    # would cut its cancelling short); and it is interrupted too if this process is killed (Linux).
    child = subprocess.Popen([sys.executable, "-m", "snakemake", *snakemake_args], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, bufsize=1, start_new_session=True,
                             preexec_fn=_interrupt_with_parent)
    run_id: list[str] = []
    stop = threading.Event()
    stopped_why: list[str] = []

    def relay() -> None:
        for line in child.stdout:
            sys.stderr.write(line)
            found = RUN_ID.search(line)
            if found and not run_id:
                run_id.append(found.group(1))

    def interrupt(signum, _frame) -> None:
        stopped_why.append(f"signal {signum}")
        stop.set()

    reader = threading.Thread(target=relay, daemon=True)
    reader.start()
    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        last_look = time.monotonic()
        while child.poll() is None and not stop.is_set():
            stop.wait(1.0)
            if run_id and time.monotonic() - last_look >= interval:
                last_look = time.monotonic()
                line = stuck_job(run_id[0])
                if line:
                    print(line, file=sys.stderr, flush=True)
                    stopped_why.append(line)
                    stop.set()
        if stop.is_set() and child.poll() is None:
            child.send_signal(signal.SIGINT)  # Snakemake cancels its SLURM jobs (scancel) and exits
            try:
                child.wait(timeout=120)
            except subprocess.TimeoutExpired:
                child.kill()
        code = child.wait()
        reader.join(timeout=10)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if run_id and stopped_why:
            subprocess.run(["scancel", f"--name={run_id[0]}"], capture_output=True, timeout=60)
    return (code or 1) if stopped_why else code
