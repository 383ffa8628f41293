# Helpers shared by the workflow: config validation, paths, and which rule trains which model.

import os
import sys

from jsonschema import ValidationError
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

# Scripts and jobs (also on cluster nodes, and in conda envs) import the decaylm package from here.
REPO = workflow.basedir
sys.path.insert(0, REPO)
os.environ.update(PYTHONPATH=os.pathsep.join(p for p in (REPO, os.environ.get("PYTHONPATH")) if p))

from decaylm.config import check_config, schema_error  # noqa: E402
from decaylm.errors import InputError  # noqa: E402


def drop_disabled(entries):
    """A config file that overrides config.yaml removes a default model or tokenizer with `NAME: null`."""
    for name in [name for name, spec in entries.items() if spec is None]:
        del entries[name]


for section in ("tokenizers", "models", "pretraining"):
    if isinstance(config.get(section), dict):
        drop_disabled(config[section])
try:
    validate(config, "../schemas/config.schema.yaml")
except WorkflowError as error:
    # Snakemake prints a schema failure over a dozen lines; say it in one that names the key.
    if not isinstance(error.__context__, ValidationError):
        raise
    raise WorkflowError(f"config error: {schema_error(error.__context__)}") from None
try:
    check_config(config)
except InputError as error:
    raise WorkflowError(f"config error: {error}")

RESULTS = config["results"]
SOURCE = config["data"]["source"]


def R(*parts):
    """A path under the results root."""
    return os.path.join(RESULTS, *parts)


def models_of_kind(*kinds):
    return [name for name, spec in config["models"].items() if spec["kind"] in kinds]


def name_regex(names):
    """A wildcard constraint matching exactly these names ('(?!)' matches nothing)."""
    return "|".join(sorted(names)) if names else "(?!)"


def raw_counts():
    if SOURCE == "simulated":
        return R("data", "raw", "reporter_counts.txt")
    return os.path.join(config["data"]["path"], "reporter_counts.txt")


def raw_sequences():
    if SOURCE == "simulated":
        return R("data", "raw", "reporter_seq.txt")
    return os.path.join(config["data"]["path"], "reporter_seq.txt")


def expression_inputs(wildcards):
    if SOURCE == "table":
        return {"expression": config["data"]["expression"], "sequences": config["data"]["sequences"]}
    return {"counts": raw_counts(), "sequences": raw_sequences()}


def model_spec(wildcards):
    return config["models"][wildcards.model]


def model_seed(wildcards):
    return config["models"][wildcards.model].get("seed", config["seed"])


def tokenizer_of(wildcards):
    return R("tokenizers", config["models"][wildcards.model]["tokenizer"], "tokenizer.json")


def pretrained_of(wildcards):
    """The MLM checkpoint a BERT model starts from, if its spec names one."""
    source = config["models"][wildcards.model].get("init_from")
    return [R("pretrained", source, "config.json")] if source else []


def predictions_of(model):
    return R("models", model, "predictions.tsv")


def truth_file():
    return [R("data", "raw", "truth.tsv")] if SOURCE == "simulated" else []


def final_outputs():
    outputs = [R("comparison.tsv"), R("comparison.md"), R("figures", "pred_vs_measured.png"), R("provenance.json")]
    if config["tokenizers"]:
        outputs += [R("tokenizers", "stats.tsv"), R("figures", "token_counts.png")]
    return outputs


from decaylm.download import UTRSEQ_SHA256, utrseq_url  # noqa: E402
