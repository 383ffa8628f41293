"""The settings of model and pretraining config entries: shared parts, one architecture per kind,
and the checks that turn a config entry into a ModelSpec.

Which kind uses which architecture is declared in decaylm.models.registry. Kept free of torch so
that the workflow checks every `models` and `pretraining` entry at start-up, before any job
runs: a misspelt or mistyped key stops with one line that names `models.NAME.KEY` (or
`pretraining.NAME.KEY`) and the known keys. The training jobs parse their entry with the same
functions, so the check and the job can never disagree.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields

from decaylm.errors import InputError


# ------------------------------------------------------------------------------------------
# Shared parts


@dataclass
class Training:
    """The shared training loop's settings (decaylm.models.training.fit)."""
    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    patience: int = 3             # early stopping: epochs without a better valid loss
    warmup_fraction: float = 0.05
    grad_clip: float = 1.0
    seed: int = 0
    # > 0: validate, keep and save an exponential moving average of the weights (decay per step)
    ema_decay: float = 0.0
    # weight of the auxiliary outputs' mean MSE (models with aux_hours; column 0 is the target)
    aux_weight: float = 1.0
    # reads: each training reporter's loss term weighted by 1 / (variance_floor + the sampling variance of
    # its target from its reads), weights of mean 1; validation and metrics unweighted (docs/training.md)
    weighting: str = "none"
    variance_floor: float = 0.1   # log2^2: the part of a reporter's residual that is not sampling noise


WEIGHTINGS = ("none", "reads")
READS_WEIGHTED_KINDS = ("cnn", "legnet", "bert")  # whose training reads the variance table (rule target_variance)


@dataclass
class Encoder:
    """A BERT encoder (transformers' BertModel), shared by the regressors and MLM pretraining."""
    layers: int = 4
    hidden: int = 128
    heads: int = 4
    intermediate: int = 512
    max_length: int = 128         # tokens per sequence with [CLS] and [SEP]; longer ones are cut
    dropout: float = 0.1          # hidden dropout inside BERT (and in the conv stem)
    attention_dropout: float = 0.0  # on attention probabilities: costly on the CPU for little gain
    # bf16 autocast on the CPU: on | off | auto (where the CPU has bf16 dot products; decaylm.models.cpu)
    bf16: str = "auto"
    bit_dropout: bool = True      # dropout masks from a quarter of the random numbers (decaylm.models.cpu)


# ------------------------------------------------------------------------------------------
# Architectures per kind

POOLINGS = ("cls", "mean", "meanmax")
BF16_SETTINGS = ("auto", "on", "off")


@dataclass
class KmerRidge:
    k_max: int = 6
    alphas: list = field(default_factory=lambda: [float(10 ** (x / 2)) for x in range(-2, 9)])  # 0.1 .. 1e4
    cv_folds: int = 5


@dataclass
class CNNArchitecture:
    channels: int = 128
    kernel_sizes: list = field(default_factory=lambda: [9, 7, 5])
    dropout: float = 0.2
    pool: int = 2
    aux_hours: list = field(default_factory=list)  # extra outputs: the time course (decaylm.models.auxiliary)
    aux_libraries: list = field(default_factory=list)  # extra outputs: other libraries' targets (decaylm.libraries)


@dataclass
class LegNetArchitecture:
    """decaylm.models.legnet: a stem convolution, then per width an EfficientNet-style block and a
    convolution to that width; no pooling until the head's mean over positions."""
    stem_channels: int = 64
    stem_kernel: int = 7
    block_channels: list = field(default_factory=lambda: [64, 64, 48, 48])
    kernel: int = 7               # of the depthwise and the width-setting convolutions
    expand: int = 4               # channels inside a block: width x expand
    se_reduction: int = 4         # squeeze-excitation bottleneck: width / se_reduction
    dropout: float = 0.2          # before the linear head
    shift: int = 0                # training augmentation: random shift by up to this many nt (0 = off)
    # two input channels beside the one-hot: each position's relative place from the 5' end and from
    # the 3' end (0 to 1), so the network knows where an element sits beyond its receptive field
    position: bool = False
    aux_hours: list = field(default_factory=list)
    aux_libraries: list = field(default_factory=list)


@dataclass
class BertArchitecture(Encoder):
    head_dropout: float = 0.1     # before the regression head
    # cls | mean | meanmax (masked mean and max, concatenated). Mean alone trained to a constant
    # prediction on the real data (BPE, 4x128) where cls and meanmax learned.
    pooling: str = "meanmax"
    conv_stem: list = field(default_factory=list)  # conv kernel sizes under the transformer; [] = plain BERT
    stem_pool: int = 1            # max-pool width after each stem conv (1 = keep the length)
    # kernel sizes (odd) of convolutions over the one-hot nucleotides, averaged over each token's span and
    # added to its embedding (decaylm.models.bert); [] = off
    nt_features: list = field(default_factory=list)
    aux_hours: list = field(default_factory=list)
    aux_libraries: list = field(default_factory=list)


@dataclass
class Finetune:
    checkpoint: str = "zhihan1996/DNABERT-2-117M"  # hub id or local directory
    revision: str = ""            # hub revision (commit) to pin; "" = the default branch
    max_length: int = 64          # tokens with specials; DNABERT-2's BPE gives ~25 per 110 nt
    head_dropout: float = 0.1
    freeze_encoder: bool = False  # train only the head: a cheap probe on a CPU
    probe_timeout: float = 3.0    # seconds to wait for the hub before calling it unreachable
    # run Python code that ships with the checkpoint (DNABERT-2's model class is such code): off unless
    # set, and a hub checkpoint then needs `revision` pinned to a commit (docs/config.md, pretrained)
    trust_remote_code: bool = False


@dataclass
class EnsembleChoice:
    """kind ensemble: `members: auto` chooses the members on valid (decaylm.models.ensemble.choose_members).

    At start-up decaylm.config turns `members: auto` into the candidate list (every other row that
    is not an ensemble) with choose: valid; the job then keeps the combination of 2..max_size
    candidates whose mean prediction has the best valid R2. A hand-written list is used as given.
    """
    choose: str = "none"          # valid: choose among `members` on the valid split; none: use them all
    max_size: int = 3             # largest number of members choose: valid tries


ENSEMBLE_CHOICES = ("none", "valid")


@dataclass
class MaskedLM(Encoder):
    """MLM pretraining: its held-out loss is the loop's validation loss, so `patience` stops it and
    the best held-out epoch is the encoder saved (set patience to epochs to keep the last one)."""
    mask_prob: float = 0.15
    holdout_fraction: float = 0.05  # training sequences left out of the updates, scored each epoch
    extra_sequences: list = field(default_factory=list)  # FASTA or id<TAB>sequence files of unlabeled sequences
    min_overlap: int = 30         # an extra sequence sharing this many nt with valid/test is dropped


@dataclass
class ModelSpec:
    """A parsed `models` (or `pretraining`) entry."""
    name: str
    kind: str
    architecture: object | None
    training: Training | None
    seed: int
    links: dict = field(default_factory=dict)  # tokenizer, init_from, members
    given: tuple = ()  # the keys the config entry set itself (the rest are defaults)

    def to_dict(self) -> dict:
        """Every setting with defaults filled in: what model.json records."""
        out = {"kind": self.kind, "seed": self.seed, **self.links}
        if self.architecture is not None:
            out["architecture"] = dataclasses.asdict(self.architecture)
        if self.training is not None:
            out["training"] = dataclasses.asdict(self.training)
        return out


def known_keys(kind) -> list[str]:
    """The keys a config entry of this kind (a registry.ModelKind) may set."""
    keys = {"seed", *kind.links}
    if kind.trains:
        keys.add("repeats")  # trained that many times with seeds seed, seed + 1, ... (decaylm/repeats.py)
    if kind.architecture is not None:
        keys |= {f.name for f in fields(kind.architecture)}
    if kind.trains:
        keys |= {f.name for f in fields(Training)}
    return sorted(keys)


def parse_entry(where: str, name: str, kind_name: str, kind, spec: dict, default_seed: int) -> ModelSpec:
    """Check one config entry (without its `kind` key) against its kind (a registry.ModelKind) and
    return it with defaults filled in; a one-line InputError names the key otherwise."""
    known = known_keys(kind)
    for key in spec:
        if key not in known:
            raise InputError(f"{where}.{key}", f"not a key of kind {kind_name}", f"known keys: {', '.join(known)}")
    seed = _checked(f"{where}.seed", spec.get("seed", default_seed), default_seed if isinstance(default_seed, int) else 0)
    architecture = None
    if kind.architecture is not None:
        architecture = _build(where, kind.architecture, spec)
        _check_architecture(where, architecture)
    training = None
    if kind.trains:
        training = _build(where, Training, {**kind.training_defaults, **spec, "seed": seed})
        for key in ("epochs", "batch_size"):
            if getattr(training, key) < 1:
                raise InputError(f"{where}.{key}", f"{getattr(training, key)} is not >= 1", "give a whole number >= 1")
        _check_weighting(where, kind_name, training)
    links = {key: spec[key] for key in kind.links if spec.get(key) is not None}
    for key, value in links.items():
        expected = list if key == "members" else str
        if key == "members" and value == "auto":
            continue  # chosen on valid; decaylm.config resolves it to the candidates at start-up
        if not isinstance(value, expected):
            raise InputError(f"{where}.{key}", f"{value!r} is not a {'list of model names' if expected is list else 'name'}",
                             "fix the config")
    return ModelSpec(name, kind_name, architecture, training, seed, links, tuple(sorted(spec)))


def _check_weighting(where: str, kind_name: str, training: Training) -> None:
    if training.weighting not in WEIGHTINGS:
        raise InputError(f"{where}.weighting", f"{training.weighting!r} is not allowed", f"use one of {list(WEIGHTINGS)}")
    if training.weighting == "reads" and kind_name not in READS_WEIGHTED_KINDS:
        raise InputError(f"{where}.weighting", f"kind {kind_name} does not weight its loss by the reads",
                         f"drop the key (kinds that do: {', '.join(READS_WEIGHTED_KINDS)})")
    if not training.variance_floor > 0:
        raise InputError(f"{where}.variance_floor", f"{training.variance_floor} is not > 0",
                         "give a variance in log2 units squared, e.g. 0.1")


# What a list-valued key holds, for its error message: (what it is not, the fix).
LIST_KEYS = {"aux_hours": ("a list of hours", "give a list like [0, 4, 12]"),
             "aux_libraries": ("a list of libraries", "give a list like [A_plus]"),
             "kernel_sizes": ("a list of kernel sizes", "give a list like [9, 7, 5]"),
             "block_channels": ("a list of widths", "give a list like [64, 64, 48, 48]"),
             "conv_stem": ("a list of kernel sizes", "give a list like [9, 7]"),
             "nt_features": ("a list of kernel sizes", "give a list like [9, 7], or [] for none"),
             "alphas": ("a list of penalties", "give a list like [0.1, 1, 10]"),
             "extra_sequences": ("a list of files", "give a FASTA or TSV path, or a list of them")}


def _build(where: str, cls: type, spec: dict):
    values = {}
    for f in fields(cls):
        if f.name in spec:
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            values[f.name] = _checked(f"{where}.{f.name}", spec[f.name], default, LIST_KEYS.get(f.name))
    return cls(**values)


def _checked(where: str, value, default, list_hint: tuple | None = None):
    """`value` if it has the type of `default` (ints pass for floats; a string for a list of strings)."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, list):
        if isinstance(value, str):
            value = [value]
        ok = isinstance(value, list)
    else:
        ok = isinstance(value, type(default))
    if not ok and list_hint is not None:
        raise InputError(where, f"{value!r} is not {list_hint[0]}", list_hint[1])
    if not ok:
        wanted = {bool: "true or false", int: "a whole number", float: "a number", list: "a list",
                  str: "a text value"}.get(type(default), type(default).__name__)
        raise InputError(where, f"{value!r} is not {wanted}", f"give {wanted}")
    return value


def _check_architecture(where: str, arch) -> None:
    if isinstance(arch, Encoder):
        if arch.hidden % arch.heads:
            raise InputError(f"{where}.heads", f"hidden {arch.hidden} is not divisible by heads {arch.heads}",
                             "pick heads that divide hidden")
        if str(arch.bf16).lower() not in BF16_SETTINGS + ("true", "false"):
            raise InputError(f"{where}.bf16", f"{arch.bf16!r} is not allowed", f"use one of {list(BF16_SETTINGS)}")
    if isinstance(arch, BertArchitecture) and arch.pooling not in POOLINGS:
        raise InputError(f"{where}.pooling", f"unknown pooling {arch.pooling!r}", f"use one of {list(POOLINGS)}")
    if isinstance(arch, EnsembleChoice):
        if arch.choose not in ENSEMBLE_CHOICES:
            raise InputError(f"{where}.choose", f"{arch.choose!r} is not allowed", f"use one of {list(ENSEMBLE_CHOICES)}")
        if arch.max_size < 2:
            raise InputError(f"{where}.max_size", f"{arch.max_size} is not >= 2", "an ensemble has two or more members")
    if isinstance(arch, MaskedLM) and not 0 < arch.mask_prob < 1:
        raise InputError(f"{where}.mask_prob", f"{arch.mask_prob} is not in (0, 1)", "BERT uses 0.15")
    for key in ("kernel_sizes", "conv_stem", "nt_features"):
        sizes = getattr(arch, key, None)
        if sizes is not None and not all(isinstance(k, int) and not isinstance(k, bool) and k > 0 for k in sizes):
            raise InputError(f"{where}.{key}", f"{sizes!r} is not a list of positive whole numbers", "e.g. [9, 7, 5]")
    sizes = getattr(arch, "nt_features", [])
    if any(k % 2 == 0 for k in sizes):  # an even kernel's output would sit half a base off the spans it is averaged over
        raise InputError(f"{where}.nt_features", f"{sizes!r} holds an even kernel size", "give odd sizes, e.g. [9, 7]")
    if isinstance(arch, LegNetArchitecture):
        sizes = arch.block_channels
        if not sizes or not all(isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in sizes):
            raise InputError(f"{where}.block_channels", f"{sizes!r} is not a list of positive whole numbers",
                             "e.g. [64, 64, 48, 48]")
        for key in ("stem_channels", "stem_kernel", "kernel", "expand", "se_reduction"):
            if getattr(arch, key) < 1:
                raise InputError(f"{where}.{key}", f"{getattr(arch, key)} is not >= 1", "give a whole number >= 1")
        if arch.shift < 0:
            raise InputError(f"{where}.shift", f"{arch.shift} is negative", "give 0 (off) or a number of nt")
    if isinstance(arch, KmerRidge) and not (arch.alphas and all(
            isinstance(a, (int, float)) and not isinstance(a, bool) and a > 0 for a in arch.alphas)):
        # the Cholesky factorizations of decaylm.models.kmer_ridge need alpha > 0
        raise InputError(f"{where}.alphas", f"{arch.alphas} is not a list of penalties > 0",
                         "give penalties > 0, like [0.1, 1, 10]")
    if isinstance(arch, CNNArchitecture) and not arch.kernel_sizes:
        raise InputError(f"{where}.kernel_sizes", "is empty", "give at least one kernel size, e.g. [9, 7, 5]")
    hours = getattr(arch, "aux_hours", None)
    if hours is not None and not all(isinstance(h, (int, float)) and not isinstance(h, bool) for h in hours):
        raise InputError(f"{where}.aux_hours", f"{hours!r} is not a list of hours", "give a list like [0, 4, 12]")
