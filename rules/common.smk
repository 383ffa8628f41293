# Helpers shared by the workflow: config validation, paths, and which rule trains which model.

import os

from snakemake.exceptions import WorkflowError

# Conda environments (--use-conda) do not install the package: their jobs import it from here.
REPO = workflow.basedir
os.environ.update(PYTHONPATH=os.pathsep.join(p for p in (REPO, os.environ.get("PYTHONPATH")) if p))

from decaylm.config import SIMULATED_SEQUENCES
from decaylm.errors import InputError
from decaylm.folds import fold_jobs, fold_names, fold_of
from decaylm.learning_curve import curve_fractions, curve_points, fraction_of
from decaylm.libraries import library_data, library_names, spec_in_library
from decaylm.repeats import base_model, repeat_count, repeat_seed, training_jobs
from decaylm.resources import sized
from decaylm.sources import counts_file, sequences_file
from decaylm.workflow import (
    models_of_kind,
    name_regex,
    on_fold_of,
    prepare_config,
    trained_by,
    units_of_kind,
)

try:
    REMOVED_MODELS = prepare_config(config, os.path.join(REPO, "schemas", "config.schema.yaml"))
except InputError as error:
    raise WorkflowError(f"config error: {error}")

RESULTS = config["results"]
# Jobs that lead to a trained model (tokenizers, pretraining, training) run before the jobs that read
# one (scoring, interpretation), so the longest jobs start first.
TRAINING_PRIORITY = 10
SOURCE = config["data"]["source"]


def R(*parts):
    """A path under the results root."""
    return os.path.join(RESULTS, *parts)


# Libraries (decaylm/libraries.py, docs/libraries.md): with two or more data.libraries, what belongs to
# one library (expression, target, its split.tsv, models, comparison, logs) lives under
# {results}/{library}/; the shared split, tokenizers, pretraining and provenance stay at the root.
# With one library LIB is "" and L(...) is R(...): every path is today's.
LIBRARIES = library_names(config)
LIB = "{library}" if LIBRARIES else ""


# The {library} wildcard's constraint is set in the Snakefile (a directive: tests run this file as Python).


def L(*parts):
    """A path of one library: {results}/{library}/... (or {results}/... with one library)."""
    return R(LIB, *parts)


def library_of(wildcards):
    """The library of a job ({library} wildcard), or None in a single-library run."""
    return wildcards.get("library") if LIBRARIES else None


def data_of(wildcards):
    """The data section a job reads: its library's, or config["data"]."""
    library = library_of(wildcards)
    return library_data(config, library) if library else config["data"]


# The predict stage (rules/predict.smk): which models score which files; no models, no stage.
PREDICT = config["predict"]
PREDICT_MODELS = PREDICT["models"] if PREDICT["sequences"] else []


# The interpret stage (rules/interpret.smk): models of interpret.models that are configured get jobs;
# any other name (never configured, or removed with `NAME: null`) gets a row with the reason.
INTERPRET = config["interpret"]
INTERPRET_MODELS = [name for name in INTERPRET["models"] if name in config["models"]]
INTERPRET_UNAVAILABLE = {
    name: (
        "removed from models with `NAME: null`"
        if name in REMOVED_MODELS
        else f"not a configured model (configured: {', '.join(sorted(config['models']))})"
    )
    for name in INTERPRET["models"]
    if name not in config["models"]
}
INTERPRET_SETTINGS = {key: value for key, value in INTERPRET.items() if key != "models"}


def interpret_outputs():
    if not INTERPRET["models"]:
        return []
    return [R("interpret", "elements.tsv"), R("interpret", "elements.png")]


def predict_sequences_file(name):
    """The file of predict.sequences NAME: `simulated` is the simulator's long 3'UTRs."""
    path = PREDICT["sequences"][name]
    return R("data", "raw", "long_utrs.fa") if path == SIMULATED_SEQUENCES else path


def predict_elements_file(name):
    """The planted elements of predict.sequences NAME, where known (the simulator's), to mark in its figure."""
    return [R("data", "raw", "long_utrs_truth.tsv")] if PREDICT["sequences"][name] == SIMULATED_SEQUENCES else []


def predict_model_inputs(wildcards):
    """The run record of the model and, for an ensemble, of its members (their folders are loaded too)."""
    spec = config["models"][wildcards.model]
    return [R("models", name, "run.json") for name in [wildcards.model, *(spec.get("members") or [])]]


def predict_outputs():
    if not PREDICT_MODELS:
        return []
    return (
        expand(
            R("predict", "{model}", "{name}.{table}"),
            model=PREDICT_MODELS,
            name=sorted(PREDICT["sequences"]),
            table=["tsv", "summary.tsv"],
        )
        + expand(R("predict", "{model}", "variants_{name}.tsv"), model=PREDICT_MODELS, name=sorted(PREDICT["variants"]))
        + expand(R("predict", "{name}_profiles.png"), name=sorted(PREDICT["sequences"]))
    )


# Job names: decaylm/workflow.py.
FOLDS = fold_names(config)


REPEATED = [name for name in config["models"] if repeat_count(config, name) > 1]


def repeat_files(model, filename):
    """FILE of each repeat of a repeated model (decaylm/repeats.py)."""
    return [R("models", job, filename) for job in training_jobs(config, model)] if model in REPEATED else []


def fold_files(model, filename):
    """FILE of each fold of a model under cross-validation (decaylm/folds.py)."""
    return [R("models", unit, filename) for unit in fold_jobs(config, model)] if FOLDS else []


def per_fold(names):
    """Tokenizer or pretraining names, per fold under cross-validation (NAME/fold{k})."""
    return [unit for name in names for unit in fold_jobs(config, name)]


def pretraining_spec(wildcards):
    return config["pretraining"][base_model(wildcards.pretraining)]


def split_of(wildcards):
    """The split a job trains on: its fold's, or the one split (a model, tokenizer or pretraining job);
    a model of a library trains on its library's split.tsv (the shared split with that library's target)."""
    if library_of(wildcards):
        return L("data", "split.tsv")
    job = wildcards[0]  # the rule's one wildcard: model, tokenizer or pretraining
    fold = fold_of(job)
    if fold:
        return R("data", "folds", fold, "split.tsv")
    fraction = fraction_of(job)  # a learning-curve job NAME/frac{f} trains on its nested subset
    return curve_split(fraction) if fraction else R("data", "split.tsv")


def scored_split():
    """The reporters the comparison scores: the test split, or under folds every reporter (pooled)."""
    return R("data", "folds", "pooled.tsv") if FOLDS else L("data", "split.tsv")


def raw_counts(data=None):
    """The counts file: the simulator's, or data.counts (else reporter_counts.txt in data.path)."""
    if SOURCE == "simulated":
        return R("data", "raw", "reporter_counts.txt")
    return counts_file(data or config["data"])


def raw_sequences(data=None):
    """The id<TAB>sequence file: the simulator's, or data.sequences (else reporter_seq.txt in data.path)."""
    if SOURCE == "simulated":
        return R("data", "raw", "reporter_seq.txt")
    return sequences_file(data or config["data"])


def expression_inputs(wildcards):
    data = data_of(wildcards)
    if SOURCE == "table":
        return {"expression": data["expression"], "sequences": data["sequences"]}
    return {"counts": raw_counts(data), "sequences": raw_sequences(data)}


def model_spec(wildcards):
    """A model's config entry; in a library, with its aux_libraries resolved to the other libraries."""
    return spec_in_library(config["models"][base_model(wildcards.model)], library_of(wildcards))


def aux_library_splits(wildcards):
    """The split.tsv of each library whose target the model predicts as an auxiliary output."""
    return [R(library, "data", "split.tsv") for library in model_spec(wildcards).get("aux_libraries", [])]


def model_seed(wildcards):
    return repeat_seed(config, wildcards.model)


def tokenizer_of(wildcards):
    return R("tokenizers", on_fold_of(model_spec(wildcards)["tokenizer"], wildcards.model), "tokenizer.json")


def pretrained_of(wildcards):
    """The MLM checkpoint a BERT model starts from, if its spec names one (of the model's fold)."""
    source = model_spec(wildcards).get("init_from")
    return [R("pretrained", on_fold_of(source, wildcards.model), "config.json")] if source else []


def predictions_of(model, wildcards=None):
    """A model's predictions (of the job's library, when it has one)."""
    library = library_of(wildcards) if wildcards is not None else None
    return R(library, "models", model, "predictions.tsv") if library else R("models", model, "predictions.tsv")


def truth_file():
    return [R("data", "raw", "truth.tsv")] if SOURCE == "simulated" else []


def final_outputs():
    outputs = [L("comparison.tsv"), L("comparison.md"), L("figures", "pred_vs_measured.png"), R("provenance.json")]
    outputs += [L("noise_ceiling.json"), L("figures", "r2_intervals.png")]
    if LIBRARIES:  # each library's outputs, and the libraries side by side
        outputs = expand(outputs, library=LIBRARIES) + [R("libraries.tsv"), R("libraries.md")]
    if config["tokenizers"]:
        outputs += [R("tokenizers", "stats.tsv"), R("figures", "token_counts.png")]
    return outputs + predict_outputs() + interpret_outputs() + learning_curve_outputs()


from decaylm.download import UTRSEQ_SHA256, utrseq_url  # noqa: E402

# The learning curve (rules/learning_curve.smk, decaylm/learning_curve.py): rows retrained as NAME/frac{f}
# on nested subsets of the training reporters, by the training rule of their kind.
CURVE_FRACTIONS = curve_fractions(config)
CURVE_POINTS = curve_points(config)


def curve_split(fraction):
    """The split of one fraction of the learning curve: split.tsv with the training reporters left out unused."""
    return R("data", "learning_curve", f"split_{fraction}.tsv")


def curve_files(filename):
    """FILE of every point of the learning curve (its NAME/frac{f} jobs, then each row itself), in CURVE_POINTS' order."""
    return [R("models", job, filename) for _, _, job in CURVE_POINTS]


def learning_curve_outputs():
    return [R("learning_curve.tsv"), R("figures", "learning_curve.png")] if CURVE_POINTS else []


# Loss weighting by the reads (`weighting: reads`, docs/training.md): a model that asks for it trains
# with its library's per-reporter target variance (rule target_variance), which needs read counts.
READS_WEIGHTED = sorted(name for name, spec in config["models"].items() if spec.get("weighting") == "reads")
if READS_WEIGHTED and SOURCE == "table":
    error = InputError(
        f"models.{READS_WEIGHTED[0]}.weighting",
        "reads needs read counts, and data.source 'table' has none",
        "use weighting: none, or give the counts (data.source utrseq)",
    )
    raise WorkflowError(f"config error: {error}")


def target_variance_of(wildcards):
    """The target's variance table, for a model with `weighting: reads` (of the job's library)."""
    return [L("data", "target_variance.tsv")] if model_spec(wildcards).get("weighting") == "reads" else []


def raw_reads(wildcards):
    """The job's raw reads; none for `table` data (the noise ceiling and R2 by depth are then "not computed")."""
    data = data_of(wildcards)
    return {} if SOURCE == "table" else {"counts": raw_counts(data), "sequences": raw_sequences(data)}
