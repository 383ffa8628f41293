"""Raw reads -> log2 spike-in-normalized expression per hour, with a logged read filter."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from decaylm.errors import InputError
from decaylm.sources import RawCounts, read_raw, read_table

log = logging.getLogger(__name__)


def hour_column(hour: float) -> str:
    return f"{hour:g}h"


def normalize_counts(raw: RawCounts, pseudocount: float, min_reads: int, filter_hours: list[float]) -> pd.DataFrame:
    """log2((reads + pseudocount) / spike-in reads) per hour, for reporters passing the read filter.

    Total RNA changes over development, so reads are scaled by the spike-ins (constant
    molecules), not by library size. The filter applies only at `filter_hours`: filtering at
    a late hour drops exactly the fastest decayers and biases the target.
    """
    spike_totals = raw.spikes.sum(axis=0)
    empty = spike_totals[spike_totals <= 0]
    if len(empty):
        raise InputError("spike-in rows", f"no spike-in reads at hour {empty.index[0]:g}", "check the SPIKE_* rows")
    missing = [h for h in filter_hours if h not in raw.reporters.columns]
    if missing:
        raise InputError("data.filter_hours", f"hour(s) {missing} not in the data's hours {list(raw.reporters.columns)}",
                         "choose hours listed in data.hours")
    keep = np.ones(len(raw.reporters), dtype=bool)
    for hour in filter_hours:
        passing = raw.reporters[hour].to_numpy() >= min_reads
        log.info("read filter at %gh: %d of %d reporters have < %d reads and are dropped",
                 hour, int((keep & ~passing).sum()), len(keep), min_reads)
        keep &= passing
    log.info("kept %d of %d reporters", int(keep.sum()), len(keep))
    if not keep.any():
        raise InputError("data.min_reads", f"no reporter has >= {min_reads} reads at {filter_hours}", "lower data.min_reads")
    reads = raw.reporters[keep]
    log2_expression = np.log2(reads + pseudocount) - np.log2(spike_totals)
    return _expression_frame(log2_expression, raw.sequences.loc[reads.index])


def _expression_frame(values: pd.DataFrame, sequences: pd.Series) -> pd.DataFrame:
    frame = values.rename(columns=hour_column)
    frame.insert(0, "sequence", sequences.to_numpy())
    frame.index.name = "id"
    return frame.reset_index()


def build_expression(data: dict, raw_dir: str | None = None) -> pd.DataFrame:
    """Dispatch on `data.source` and return the expression table (id, sequence, one column per hour)."""
    source = data["source"]
    if source in ("simulated", "utrseq"):
        raw = read_raw(data, raw_dir)
        filter_hours = data.get("filter_hours") or []
        return normalize_counts(raw, data["pseudocount"], data["min_reads"], filter_hours)
    if source == "table":
        expression, sequences = read_table(data["expression"], data["sequences"], data.get("id_column", "id"),
                                           data.get("sequence_column", "sequence"), data.get("require_sequences", True))
        log.info("read %d reporters on log scale from %s", len(expression), data["expression"])
        return _expression_frame(expression, sequences)
    raise InputError("data.source", f"unknown source '{source}'", "use simulated, utrseq or table")
