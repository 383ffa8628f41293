"""One model job: read the split, train, save the model folder, and write the predictions that
the saved model gives (so `load_model(folder).predict` reproduces them) and a run record (or
why the model did not run)."""

from __future__ import annotations

import importlib
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from decaylm.io import read_tsv, write_tsv
from decaylm.models.registry import KINDS, parse_model_spec
from decaylm.models.artifact import MODEL_FILE, load_model
from decaylm.models.common import ModelUnavailable
from decaylm.provenance import provenance, write_run

log = logging.getLogger(__name__)


def predictions_frame(split: pd.DataFrame, y_pred: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"id": split["id"], "split": split["split"], "y_true": split["y"],
                         "y_pred": np.asarray(y_pred, dtype=float)})


def run_model_job(name: str, spec: dict, split_path, predictions_path, run_path, seed: int,
                  threads: int = 1, repo: str = ".", **inputs) -> None:
    """`inputs` are paths the job was given, passed on to the kind's `train` under these names:
    tokenizer_dir, pretrained_dir, expression_path, aux_library_paths, variance_path."""
    torch.set_num_threads(max(1, threads))
    parsed = parse_model_spec(name, spec, seed)
    split = read_tsv(split_path)
    out_dir = Path(predictions_path).parent
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MODEL_FILE).unlink(missing_ok=True)  # until this job ends, the folder holds no finished model
    module = importlib.import_module(KINDS[parsed.kind].module)
    record = provenance({"model": name, "spec": spec, **{k: str(v) for k, v in inputs.items()}}, seed, repo)
    started = time.perf_counter()
    try:
        module.train(split, parsed, out_dir, **inputs)
        status = {"status": "ok", "train_seconds": round(time.perf_counter() - started, 1)}
        y_pred = load_model(out_dir).predict(split["sequence"].tolist())
    except ModelUnavailable as reason:
        log.warning("%s not run: %s", name, reason)
        y_pred = np.full(len(split), np.nan)
        status = {"status": "not_run", "reason": str(reason)}
    write_tsv(predictions_frame(split, y_pred), predictions_path, float_format="%.8g")
    write_run(run_path, record, **status)
