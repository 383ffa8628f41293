"""Snakemake script: train one tokenizer on the training split (rule train_tokenizer).

Writes the directory of `output.tokenizer` ({results}/tokenizers/{name}/); tokenizer.json comes last.
"""

from pathlib import Path

from decaylm.errors import InputError, one_line_errors
from decaylm.io import read_tsv
from decaylm.logs import setup_logging
from decaylm.tokenizers import TOKENIZER_FILE, train_tokenizer_from_split

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with one_line_errors(snakemake.log[0]):
    setup_logging(snakemake.log[0])
    out = Path(snakemake.output.tokenizer)
    if out.name != TOKENIZER_FILE:
        raise InputError("rule train_tokenizer", f"output {out} is not a {TOKENIZER_FILE}",
                         f"name the output {{dir}}/{TOKENIZER_FILE}")
    split = read_tsv(snakemake.input.split)
    train_tokenizer_from_split(
        split,
        dict(snakemake.params.spec),
        out.parent,
        seed=int(snakemake.params.seed),
        name=snakemake.wildcards.tokenizer,  # NAME or NAME/fold{k}: the log names the tokenizer
        where=str(snakemake.input.split),
    )
