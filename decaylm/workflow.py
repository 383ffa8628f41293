"""The workflow's Python: what rules/common.smk does with the config before Snakemake builds the DAG,
and how jobs are named, as plain functions that tests call without Snakemake.

Job names below a model: NAME/fold{k} per fold (decaylm/folds.py), NAME/repeat{r} per repeat
(decaylm/repeats.py), NAME/frac{f} per fraction of the learning curve (decaylm/learning_curve.py);
folds combine with neither repeats nor the learning curve.
"""

from __future__ import annotations

import re

from decaylm.config import SIMULATED_SEQUENCES, check_config, schema_error
from decaylm.errors import InputError
from decaylm.folds import fold_jobs, fold_of
from decaylm.learning_curve import curve_jobs, resolve_learning_curve
from decaylm.libraries import fold_single_library
from decaylm.models.registry import KINDS
from decaylm.repeats import training_jobs

SECTIONS_WITH_NAMES = ("tokenizers", "models", "pretraining")


def prepare_config(config: dict, schema_path) -> set[str]:
    """The config as the workflow uses it, in place: entries removed with `NAME: null` dropped, the
    predict stage pruned to match, a single library folded into `data`, the schema's defaults filled
    in, every check of decaylm.config passed and the learning curve's rows resolved. Returns the names of the models removed with
    `NAME: null`; a problem raises one InputError that names the key."""
    from jsonschema import ValidationError
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    apply_skip(config)
    models = config.get("models")
    removed = {name for name, spec in models.items() if spec is None} if isinstance(models, dict) else set()
    for section in SECTIONS_WITH_NAMES:
        if isinstance(config.get(section), dict):
            drop_disabled(config[section])
    prune_predict(config, removed)
    fold_single_library(config)  # one entry of data.libraries: merged into data, the run is a one-library run
    try:
        validate(config, str(schema_path))
    except WorkflowError as error:
        # Snakemake words a schema failure over a dozen lines; say it in one that names the key.
        if not isinstance(error.__context__, ValidationError):
            raise
        raise schema_error(error.__context__) from None
    check_config(config)
    resolve_learning_curve(config, removed)
    return removed


def apply_skip(config: dict) -> None:
    """`skip: [NAME, ...]` leaves defined entries of tokenizers, pretraining and models out of this run, as
    `NAME: null` would, while their settings stay where they are defined (config.yaml keeps every row;
    the default run skips the slow ones and `skip: []` brings them back)."""
    skip = config.pop("skip", None) or []
    if not isinstance(skip, list) or not all(isinstance(name, str) for name in skip):
        raise InputError("config key skip", f"expected a list of entry names, got {skip!r}", "e.g. skip: [BERT_NT, morfessor]")
    for name in skip:
        sections = [section for section in SECTIONS_WITH_NAMES
                    if isinstance(config.get(section), dict) and name in config[section]]
        if not sections:
            raise InputError("config key skip", f"{name!r} is not an entry of {', '.join(SECTIONS_WITH_NAMES)}",
                             "remove it from skip, or check its spelling")
        for section in sections:
            config[section][name] = None


def drop_disabled(entries: dict) -> None:
    """A config file that overrides config.yaml removes a default entry with `NAME: null`."""
    for name in [name for name, spec in entries.items() if spec is None]:
        del entries[name]


def prune_predict(config: dict, removed_models: set[str]) -> None:
    """predict follows the rest of the config: a model removed with `NAME: null` is not scored
    (a name that was never configured is still an error); `NAME: null` removes a sequences or
    variants entry; the simulator's long 3'UTRs (`simulated`) are scored only on simulated data."""
    predict = config.get("predict")
    if not isinstance(predict, dict):
        return
    if isinstance(predict.get("models"), list):
        predict["models"] = [name for name in predict["models"] if name not in removed_models]
    for key in ("sequences", "variants"):
        if isinstance(predict.get(key), dict):
            drop_disabled(predict[key])
    sequences = predict.get("sequences")
    source = (config.get("data") or {}).get("source", "simulated")
    if isinstance(sequences, dict) and source != "simulated":
        for name in [name for name, path in sequences.items() if path == SIMULATED_SEQUENCES]:
            del sequences[name]


# ------------------------------------------------------------------------------------------
# job names


def name_regex(names) -> str:
    """A wildcard constraint matching exactly these names ('(?!)' matches nothing)."""
    return "|".join(re.escape(name) for name in sorted(names)) if names else "(?!)"  # NAME/frac0.25 has a dot


def models_of_kind(config: dict, *kinds: str) -> list[str]:
    return [name for name, spec in config["models"].items() if spec["kind"] in kinds]


def units_of_kind(config: dict, *kinds: str) -> list[str]:
    """A model's name, or its folds NAME/fold{k}: what an ensemble averages and what the folds pool."""
    return [unit for name in models_of_kind(config, *kinds) for unit in fold_jobs(config, name)]


def training_jobs_of_kind(config: dict, *kinds: str) -> list[str]:
    """The training jobs of these kinds: a model (or fold of it), or NAME/repeat1..N when it has repeats;
    and the learning curve's NAME/frac{f}."""
    return [job for unit in units_of_kind(config, *kinds) for job in training_jobs(config, unit)] + curve_jobs(
        config, *kinds)


def trained_by(config: dict, rule: str) -> str:
    """The wildcard constraint of a training rule: the jobs of the kinds the registry gives that rule."""
    return name_regex(training_jobs_of_kind(config, *[kind for kind, spec in KINDS.items() if spec.rule == rule]))


def on_fold_of(name: str, job: str) -> str:
    """NAME on the fold of a job name (X/fold2 -> NAME/fold2), or NAME without folds."""
    fold = fold_of(job)
    return f"{name}/{fold}" if fold else name

