"""One model job: read the split, train, write predictions and a run record (or why it did not run)."""

from __future__ import annotations

import importlib
import logging
import time
from pathlib import Path

import numpy as np
import torch

from decaylm.io import read_tsv, write_json
from decaylm.models.common import ModelUnavailable, write_predictions
from decaylm.provenance import provenance

log = logging.getLogger(__name__)

# kind -> module with train_and_predict(split, spec, out_dir, seed, name, **inputs)
MODULES = {
    "kmer_ridge": "decaylm.models.kmer_ridge",
    "cnn": "decaylm.models.cnn",
    "bert": "decaylm.models.bert",
    "pretrained": "decaylm.models.pretrained",
}


def run_model_job(name: str, spec: dict, split_path, predictions_path, run_path, seed: int,
                  threads: int = 1, repo: str = ".", **inputs) -> None:
    """`inputs` are paths the job was given: tokenizer_dir, pretrained_dir."""
    torch.set_num_threads(max(1, threads))
    split = read_tsv(split_path)
    out_dir = Path(predictions_path).parent
    module = importlib.import_module(MODULES[spec["kind"]])
    record = provenance({"model": name, "spec": spec, **{k: str(v) for k, v in inputs.items()}}, seed, repo)
    started = time.perf_counter()
    try:
        y_pred = module.train_and_predict(split, spec, str(out_dir), seed, name, **inputs)
        record.update(status="ok", train_seconds=round(time.perf_counter() - started, 1))
    except ModelUnavailable as reason:
        log.warning("%s not run: %s", name, reason)
        y_pred = np.full(len(split), np.nan)
        record.update(status="not_run", reason=str(reason))
    write_predictions(split, y_pred, predictions_path)
    write_json(record, run_path)
