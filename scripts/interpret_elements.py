"""Snakemake script (rule interpret_elements): the model x element table of insertion effects and its
heatmap (decaylm.interpret.pipeline.interpret_elements)."""

from pathlib import Path

from decaylm.errors import one_line_errors
from decaylm.logs import setup_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    import torch

    torch.set_num_threads(snakemake.threads)
    from decaylm.interpret.pipeline import interpret_elements

    names = snakemake.params.models
    models = {name: {"dir": str(Path(run).parent), "run": run, "motifs": motifs}
              for name, run, motifs in zip(names, snakemake.input.runs, snakemake.input.motifs)}
    interpret_elements(models, snakemake.params.unavailable, snakemake.input.split, snakemake.output.table,
                       snakemake.output.heatmap, snakemake.params.settings)
