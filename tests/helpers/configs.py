"""Configs for tests: config.yaml with layers on top (as Snakemake merges --configfile and --config),
the minimal config, configs of a few chosen models or of two libraries, and the config check that
the workflow runs at start-up, in-process (`workflow_config`)."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import yaml
from snakemake.utils import update_config

from tests.helpers.data import LIBRARY_HOURS
from tests.helpers.paths import REPO, SIMULATED_CONFIG

SCHEMA = REPO / "schemas" / "config.schema.yaml"
SWITCHABLE = ("tokenizers", "pretraining", "models")  # the sections whose entries `NAME: null` removes


def default_config() -> dict:
    """The tests' base: config.yaml with config/simulated.yaml on top (the simulator, every row), as
    loaded (a fresh copy, free to change)."""
    from decaylm.workflow import drop_disabled

    config = merged(*(yaml.safe_load(path.read_text()) for path in (REPO / "config.yaml", SIMULATED_CONFIG)))
    drop_disabled(config["predict"]["sequences"])  # simulated.yaml's `zebrafish_utrs: null`, as the workflow drops it
    return config


def merged(base: dict, *layers: dict) -> dict:
    """`base` with each layer merged on top, key by key at every depth, as Snakemake merges config files
    (a copy: neither `base` nor the layers change)."""
    out = copy.deepcopy(base)
    for layer in layers:
        update_config(out, copy.deepcopy(layer))
    return out


def only(models: dict, tokenizers: dict | None = None, **sections) -> dict:
    """A layer over config.yaml that switches off every default tokenizer, pretraining and model
    (`NAME: null`) but `models` and `tokenizers`, with other `sections` as given."""
    defaults = default_config()
    off = {section: {name: None for name in defaults.get(section) or {}} for section in SWITCHABLE}
    sections["data"] = {"source": "simulated", **sections.get("data", {})}  # config.yaml's data are real
    return {**sections, "tokenizers": off["tokenizers"] | (tokenizers or {}), "pretraining": off["pretraining"],
            "models": off["models"] | models}


def minimal_config() -> dict:
    """Small simulated data and one fast model, nothing else."""
    return only({"KMER_RIDGE": {"kind": "kmer_ridge", "k_max": 3}}, data={"simulate": {"n_reporters": 200, "seed": 3}})


def one_model_config(models: dict, **sections) -> dict:
    """A pipeline run of `models` only (with `sections`, tokenizers included), and no interpret stage."""
    return only(models, sections.pop("tokenizers", None), interpret={"models": []}, **sections)


def libraries_config(files: dict, *layers: dict) -> dict:
    """Two libraries A and B (tests.helpers.data.write_libraries) with RIDGE, a small CNN and HYBRID
    trained on both libraries (aux_libraries), and their ensemble (of each library's members); each of
    `layers` replaces whole keys of a section."""
    small = {"epochs": 2, "batch_size": 32}
    hybrid = {"kind": "bert", "tokenizer": "nt", "layers": 1, "hidden": 16, "heads": 2, "intermediate": 32,
              "conv_stem": [5], "stem_pool": 2, "max_length": 64, **small}
    libraries = {lib: {"counts": files[lib], "sequences": files.get(f"sequences_{lib}", files["sequences"])}
                 for lib in ("A", "B")}
    config = only({"RIDGE": {"kind": "kmer_ridge", "k_max": 3, "cv_folds": 3},
                   "CNN_BOTH": {"kind": "cnn", "channels": 16, "aux_libraries": ["A", "B"], **small},
                   "HYBRID_BOTH": {**hybrid, "aux_libraries": ["A", "B"]},
                   "ENS": {"kind": "ensemble", "members": ["CNN_BOTH", "HYBRID_BOTH"]}},
                  {"nt": {"kind": "nucleotide"}},
                  data={"source": "utrseq", "hours": LIBRARY_HOURS, "require_sequences": False, "filter_hours": [0],
                        "libraries": libraries},
                  target={"from_hour": 2, "to_hour": 8}, split={"group_overlap_nt": 40},
                  evaluate={"noise_resamples": 20, "noise_windows": [[0, 8]]},
                  predict={"models": []}, interpret={"models": []})
    for layer in layers:
        for key, value in layer.items():
            config[key] = {**config[key], **value} if isinstance(value, dict) else value
    return config


def write_config(path: Path, config: dict) -> str:
    """`config` as a YAML file for --configfile; its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    return str(path)


# ---------------------------------------------------------------------------------------------
# the config as the workflow sees it, without Snakemake

class ConfigRefused(Exception):
    """The one line that stops Snakemake while it parses the workflow (rules/common.smk)."""


def workflow_config(*layers: dict) -> dict:
    """config.yaml with `layers` merged on top, then prepared as rules/common.smk prepares it
    (decaylm.workflow.prepare_config: `NAME: null` entries dropped, the schema's defaults filled in,
    every check passed). A refusal raises ConfigRefused with the line Snakemake prints."""
    from decaylm.errors import InputError
    from decaylm.workflow import prepare_config

    config = merged(default_config(), *layers)
    try:
        prepare_config(config, SCHEMA)
    except InputError as error:
        raise ConfigRefused(f"config error: {error}") from None
    return config


def expression_inputs(config: dict) -> dict:
    """The input files of the first data stage (rule normalize_expression) of a one-library run."""
    from decaylm.sources import counts_file, sequences_file

    data = config["data"]
    if data["source"] == "table":
        return {"expression": data["expression"], "sequences": data["sequences"]}
    if data["source"] == "simulated":
        raw = os.path.join(config["results"], "data", "raw")
        return {"counts": os.path.join(raw, "reporter_counts.txt"), "sequences": os.path.join(raw, "reporter_seq.txt")}
    return {"counts": counts_file(data), "sequences": sequences_file(data)}
