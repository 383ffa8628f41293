"""Snakemake script: score one input with one trained model (rules/predict.smk).

Rule predict_sequences: output.windows and output.summary (decaylm.predict.predict_files);
rule predict_variants: output.variants, the input's variants scored before and after the change.
input.runs[0] is the model's run.json (its folder is the model folder); log[0].
"""

import json
from pathlib import Path

from decaylm.errors import InputError, one_line_errors
from decaylm.logs import setup_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    import torch

    torch.set_num_threads(snakemake.threads)  # one thread a job, as in training (see rules/models.smk)
    from decaylm import predict

    model_dir = str(Path(snakemake.input.runs[0]).parent)
    run = json.loads(Path(snakemake.input.runs[0]).read_text())
    if run.get("status", "ok") != "ok":
        raise InputError(f"predict.models: {snakemake.wildcards.model}", f"did not run here ({run.get('reason')})",
                         "remove it from predict.models")
    if "variants" in snakemake.output.keys():
        from decaylm.io import write_tsv
        from decaylm.models import load_model
        from decaylm.sequences import read_sequences

        sequences = read_sequences(snakemake.input.sequences)
        variants = predict.read_variants(snakemake.input.variants)
        predict.locate_variants(sequences, variants)  # a wrong ref stops before the model loads
        write_tsv(predict.score_variants([load_model(model_dir)], sequences, variants), snakemake.output.variants)
    else:
        predict.predict_files([model_dir], snakemake.input.sequences, snakemake.output.windows,
                              stride=snakemake.params.stride, summary_path=snakemake.output.summary)
