"""Snakemake script: masked-LM pretraining on training sequences for one tokenizer."""

from pathlib import Path

import torch

from decaylm.errors import one_line_errors
from decaylm.io import read_tsv
from decaylm.logs import setup_logging
from decaylm.models.registry import parse_pretraining_spec
from decaylm.models.mlm import pretrain

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    torch.set_num_threads(snakemake.threads)
    spec = parse_pretraining_spec(snakemake.wildcards.pretraining, snakemake.params.spec, snakemake.params.seed)
    pretrain(read_tsv(snakemake.input.split), spec, str(Path(snakemake.input.tokenizer).parent),
             str(Path(snakemake.output[0]).parent))
