"""Snakemake script: train one model and write its predictions and run record."""

from pathlib import Path

from decaylm.errors import one_line_errors
from decaylm.logs import setup_logging
from decaylm.models.jobs import run_model_job

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    inputs = {}
    if snakemake.input.get("tokenizer"):
        inputs["tokenizer_dir"] = str(Path(snakemake.input.tokenizer).parent)
    if snakemake.input.get("expression"):
        inputs["expression_path"] = snakemake.input.expression
    if snakemake.input.get("aux_libraries"):
        inputs["aux_library_paths"] = list(snakemake.input.aux_libraries)
    if snakemake.input.get("variance"):
        inputs["variance_path"] = snakemake.input.variance[0]
    if snakemake.input.get("pretrained"):
        inputs["pretrained_dir"] = str(Path(snakemake.input.pretrained[0]).parent)
    run_model_job(snakemake.wildcards.model, snakemake.params.spec, snakemake.input.split,
                  snakemake.output.predictions, snakemake.output.run, snakemake.params.seed,
                  threads=snakemake.threads, repo=snakemake.scriptdir + "/..", **inputs)
