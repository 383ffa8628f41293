"""Attribution maps for any trained model: in-silico saturation mutagenesis (ISM) through `predict`,
and, for models that are differentiable in a one-hot input, gradient x input saliency (tangermeme).

ISM works for every kind, tokenizer models included, because it never looks inside the model: the
3 x L single-base mutants of a sequence are spelled out as strings and scored by the model's own
`predict` (each tokenizer re-tokenizes its mutant, so a base change that moves a BPE or Morfessor
boundary is scored as the model really sees it). All mutants of a sequence go into one batch (and
the mutants of several sequences share a batch when it fits), under torch.no_grad, on a GPU when
there is one (`predict` picks the device). tangermeme's `saturation_mutagenesis` does the same for
a torch model over one-hot input; it is not used here because tokenizer models take strings, and a
string-level loop is what lets one code path serve every kind.

The maps follow tangermeme's conventions: `ism` returns, per sequence, the change in prediction of
each substitution (4 x L; 0 at the reference base); `hypothetical(delta)` centres each position over
the four bases (the hypothetical contribution of every base, as tangermeme's ISM reports it), and
contributions are hypothetical x one-hot (the reference base's effect relative to the mean base).

Gradients: a model that is differentiable in one-hot input says so by returning a module from
`model.one_hot_module()` (the CNN; a BERT over the nucleotide tokenizer, BERT_NT and HYBRID, whose
embedded sequence is one-hot @ E[ACGT]: decaylm.models.bert.OneHotBert, number for number the
model's forward pass on a hard one-hot input, which a test checks against `predict`; not with
`nt_features`). Gradients
are taken with respect to that one-hot input. Other models return None (other tokenizers' tokens
change with a base) and get ISM only.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
import torch

from decaylm.errors import InputError
from decaylm.sequences import BASES, one_hot_batch  # noqa: F401 (one_hot_batch: re-exported for interpret)

log = logging.getLogger(__name__)


def decode(x: np.ndarray) -> list[str]:
    """(N, 4, L) one-hot back to strings (an all-zero column reads N)."""
    letters = np.array(list(BASES + "N"))
    index = np.where(x.sum(axis=1) > 0, x.argmax(axis=1), 4)
    return ["".join(row) for row in letters[index]]


def test_sequences(split: pd.DataFrame, n: int, seed: int, where: str = "interpret.n_sequences") -> pd.DataFrame:
    """`n` test reporters drawn with `seed` (all of them when there are fewer, logged); only those of the
    most common length, so that every attribution map has one width."""
    test = split[split["split"] == "test"].reset_index(drop=True)
    if test.empty:
        raise InputError("split.tsv", "has no test reporters", "check split.fractions")
    lengths = test["sequence"].str.len()
    length = int(lengths.mode().iloc[0])
    same = test[lengths == length]
    if len(same) < len(test):
        log.info("%d of %d test reporters have the common length %d nt; the others are not interpreted",
                 len(same), len(test), length)
    if n > len(same):
        log.info("%s = %d is more than the %d test reporters: interpreting all %d", where, n, len(same), len(same))
        n = len(same)
    chosen = same.sample(n=n, random_state=seed).reset_index(drop=True)
    log.info("interpreting %d test reporters of %d nt (seed %d)", len(chosen), length, seed)
    return chosen


def mutants(sequence: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Every single-base substitution of `sequence` (3 per position; 4 where the reference is N):
    (mutant strings, their positions, their base indices in ACGT)."""
    strings, positions, bases = [], [], []
    for pos, ref in enumerate(sequence):
        for b, base in enumerate(BASES):
            if base != ref:
                strings.append(sequence[:pos] + base + sequence[pos + 1:])
                positions.append(pos)
                bases.append(b)
    return strings, np.asarray(positions), np.asarray(bases)


def ism(model, sequences, batch_size: int = 2048, progress_every: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """(predictions of the sequences, delta (N, 4, L)): delta[i, b, p] = predict(sequence i with base b
    at p) - predict(sequence i); 0 at the reference base. Mutants of whole sequences are batched
    together, at least one sequence's 3 x L mutants per predict call."""
    sequences = list(sequences)
    length = len(sequences[0])
    if any(len(s) != length for s in sequences):
        raise ValueError("ism needs sequences of one length")
    reference = np.asarray(model.predict(sequences), dtype=np.float64)
    delta = np.zeros((len(sequences), 4, length), dtype=np.float32)
    per_sequence = 3 * length
    chunk = max(1, batch_size // per_sequence)
    started = last = time.monotonic()
    for start in range(0, len(sequences), chunk):
        batch, where = [], []
        for i in range(start, min(start + chunk, len(sequences))):
            strings, positions, bases = mutants(sequences[i])
            batch += strings
            where.append((i, positions, bases, len(strings)))
        scores = np.asarray(model.predict(batch, batch_size=max(len(batch), 1)), dtype=np.float64)
        offset = 0
        for i, positions, bases, count in where:
            delta[i, bases, positions] = scores[offset:offset + count] - reference[i]
            offset += count
        if time.monotonic() - last > progress_every:
            last = time.monotonic()
            log.info("ISM: %d of %d sequences (%.0f mutants/s)", min(start + chunk, len(sequences)), len(sequences),
                     (min(start + chunk, len(sequences))) * per_sequence / (last - started))
    return reference.astype(np.float32), delta


def hypothetical(delta: np.ndarray) -> np.ndarray:
    """Per position, each base's effect minus the mean over the four bases (tangermeme's ISM centring)."""
    return (delta - delta.mean(axis=1, keepdims=True)).astype(np.float32)


def contributions(hyp: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(N, L): the contribution of the base present at each position."""
    return (hyp * x).sum(axis=1)


# ----------------------------------------------------------------------------------------
# gradients


def saliency_maps(module, x: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Hypothetical gradient x input maps (N, 4, L) by tangermeme's `saliency` (gradients with the
    per-position mean removed, the correction of Majdandzic et al.)."""
    from tangermeme.saliency import saliency

    device = "cuda" if torch.cuda.is_available() else "cpu"
    maps = saliency(module, torch.from_numpy(x), hypothetical=True, gradient_correction=True,
                    batch_size=batch_size, device=device)
    return maps.detach().float().cpu().numpy()


def agreement(first: np.ndarray, second: np.ndarray, x: np.ndarray) -> dict:
    """How well two attribution maps agree: per sequence, the Pearson r of the reference bases'
    contributions along the sequence; the median and mean over sequences, and r over all positions."""
    a, b = contributions(first, x), contributions(second, x)
    per_sequence = []
    for row_a, row_b in zip(a, b):
        if row_a.std() > 0 and row_b.std() > 0:
            per_sequence.append(float(np.corrcoef(row_a, row_b)[0, 1]))
    pooled = float(np.corrcoef(a.ravel(), b.ravel())[0, 1]) if a.std() > 0 and b.std() > 0 else float("nan")
    return {"median_r": float(np.median(per_sequence)) if per_sequence else float("nan"),
            "mean_r": float(np.mean(per_sequence)) if per_sequence else float("nan"),
            "pooled_r": pooled, "n_sequences": len(per_sequence)}
