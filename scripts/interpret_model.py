"""Snakemake script (rule interpret_model): one model's attributions, motifs, logos and positional
effects (decaylm.interpret.pipeline.interpret_model)."""

from pathlib import Path

from decaylm.errors import one_line_errors
from decaylm.logs import setup_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    import torch

    torch.set_num_threads(snakemake.threads)
    from decaylm.interpret.pipeline import interpret_model

    outputs = {key: snakemake.output[key] for key in ("attributions", "motifs", "meme", "effects", "logos", "positional")}
    interpret_model(snakemake.wildcards.model, str(Path(snakemake.input.runs[0]).parent), snakemake.input.runs[0],
                    snakemake.input.split, outputs, snakemake.params.settings)
