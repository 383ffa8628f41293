"""The model kinds: everything the pipeline needs to know about a kind, declared once.

`KINDS` maps a config's `kind:` to a ModelKind. From it come the config check (the known kinds
and each kind's keys), the training job's module, the loader of a model folder, which kinds
`repeats: N` trains N times, and the rule that trains a kind (rules/models.smk). Adding a kind
is an entry here, its module under decaylm/models/ and a rule stanza: docs/extending.md.

Kept free of torch: the workflow reads it at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from decaylm.errors import InputError
from decaylm.models.specs import (BertArchitecture, CNNArchitecture, EnsembleChoice, Finetune, KmerRidge,
                                  LegNetArchitecture, MaskedLM, ModelSpec, parse_entry)


@dataclass(frozen=True)
class ModelKind:
    architecture: type | None     # its settings (a dataclass of decaylm.models.specs), or None
    module: str                   # train(split, spec, out_dir, **inputs) and load(folder, record) -> TrainedModel
    rule: str                     # the Snakemake rule that makes its folder (rules/models.smk)
    trains: bool = True           # has the training loop's settings (decaylm.models.specs.Training)
    seeded: bool = False          # a seed changes what it learns, so `repeats: N` trains it N times
    links: tuple = ()             # keys naming other config entries, resolved by the pipeline
    training_defaults: dict = field(default_factory=dict)


KINDS: dict[str, ModelKind] = {
    "kmer_ridge": ModelKind(KmerRidge, "decaylm.models.kmer_ridge", "train_kmer_ridge", trains=False),
    "cnn": ModelKind(CNNArchitecture, "decaylm.models.cnn", "train_cnn", seeded=True),
    # one-hot like the CNN, so the same rule (and its inputs and resources) trains it
    "legnet": ModelKind(LegNetArchitecture, "decaylm.models.legnet", "train_cnn", seeded=True),
    "bert": ModelKind(BertArchitecture, "decaylm.models.bert", "train_bert", seeded=True,
                      links=("tokenizer", "init_from")),
    # a hub checkpoint (its tokenizer is the checkpoint's), fine-tuned: a small learning rate and few epochs
    "pretrained": ModelKind(Finetune, "decaylm.models.pretrained", "finetune_pretrained", seeded=True,
                            training_defaults={"lr": 3e-5, "epochs": 5, "patience": 2, "batch_size": 32,
                                               "warmup_fraction": 0.1}),
    # the mean of other rows (decaylm/models/ensemble.py)
    "ensemble": ModelKind(EnsembleChoice, "decaylm.models.ensemble", "ensemble_models", trains=False,
                          links=("members",)),
    # the mean of the repeats of one model, as one row (decaylm/repeats.py)
    "repeat_ensemble": ModelKind(None, "decaylm.models.ensemble", "repeat_ensemble", trains=False, links=("of",)),
}

# masked-LM pretraining of a BERT encoder (config section `pretraining`, not a row of the table)
PRETRAINING = ModelKind(MaskedLM, "decaylm.models.mlm", "pretrain_mlm", links=("tokenizer",))

SEEDED_KINDS = tuple(name for name, kind in KINDS.items() if kind.seeded)


def kinds_with_link(key: str) -> set[str]:
    """The kinds whose entries name another entry under `key` (tokenizer, members, ...)."""
    return {name for name, kind in KINDS.items() if key in kind.links}


def parse_model_spec(name: str, spec, default_seed: int = 0) -> ModelSpec:
    """Check `models.<name>` and return it with defaults filled in; one-line InputError otherwise."""
    where = f"models.{name}"
    if not isinstance(spec, dict) or "kind" not in spec:
        raise InputError(where, "has no kind", f"give kind: one of {', '.join(KINDS)}")
    if spec["kind"] not in KINDS:
        raise InputError(f"{where}.kind", f"unknown kind {spec['kind']!r}", f"use one of {', '.join(KINDS)}")
    return parse_entry(where, name, spec["kind"], KINDS[spec["kind"]],
                       {k: v for k, v in spec.items() if k != "kind"}, default_seed)


def parse_pretraining_spec(name: str, spec, default_seed: int = 0) -> ModelSpec:
    """Check `pretraining.<name>` (masked-LM pretraining of a BERT encoder)."""
    where = f"pretraining.{name}"
    if not isinstance(spec, dict):
        raise InputError(where, "is not a mapping", "give tokenizer: NAME and the encoder's settings")
    return parse_entry(where, name, "mlm", PRETRAINING, {k: v for k, v in spec.items() if k != "kind"}, default_seed)
