"""A noise ceiling from the reads: how much of the target's variance is counting noise.

1. Overdispersion (`estimate_dispersion`). Reads are modelled as negative binomial,
   var = mu + alpha * mu**2. Within a window of hours where every reporter's log expression is
   close to a straight line (by default 0-4 h and 6-12 h: the simulator's decay onset lies in
   4-6 h, as the late-onset program of the embryo does), a log-linear model per reporter
   (intercept and slope) plus one shared offset per hour (spike-in scaling, depth, the common
   trend) is fitted by Poisson maximum likelihood, which gives consistent means whatever alpha
   is. alpha is then the Pearson moment estimator: the value at which the Pearson statistic
   sum (y - mu)^2 / (mu (1 + alpha mu)) equals the residual degrees of freedom
   (cells - parameters). The same is done for the spike-ins (one level per spike-in, one
   offset per hour). See docs/noise_ceiling.md for why this estimator.
2. Ceiling (`noise_ceiling`). Every reporter's reads and the spike-ins' are redrawn, around
   the observed counts, from the negative binomial with the estimated alphas; the target is
   recomputed from each resample exactly as the pipeline computes it (normalize_counts,
   compute_target); the noise variance is the mean over resamples of the variance across test
   reporters of (resampled - observed) target. r2_ceiling = 1 - noise variance / target
   variance: the test R2 of a perfect predictor of the noise-free target.
3. Per-reporter variance (`target_variance`). The same resamples, kept per reporter: the variance
   of each reporter's resampled target, the sampling noise of its own target (large for shallow
   reporters), which `weighting: reads` weights a model's training loss by (docs/training.md).
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from decaylm.errors import InputError
from decaylm.expression import normalize_counts
from decaylm.sources import RawCounts
from decaylm.target import compute_target

log = logging.getLogger(__name__)

DEFAULT_WINDOWS = ((0, 4), (6, 12))
DEFAULT_DEGREE = 2
METHOD = ("negative-binomial parametric resampling of reporter and spike-in reads around the observed counts, "
          "the target recomputed by normalize_counts and compute_target; alpha (var = mu + alpha mu^2) per window "
          "of hours by the Pearson moment estimator on per-reporter polynomial fits of log mu (degree fit_degree) "
          "plus one offset per hour")


def _log_linear_fit(counts: np.ndarray, hours: np.ndarray, degree: int, alpha: float = 0.0,
                    iterations: int = 30) -> np.ndarray:
    """ML fit of log mu[i, t] = poly_i(t) + c[t] (a polynomial of `degree` per row, 0: a level only, plus one
    shared offset per hour) under a negative binomial of dispersion alpha (0: Poisson); returns mu.
    Fisher scoring for all rows at once (a small linear system per row), then one step for the offsets."""
    counts = np.asarray(counts, dtype=float)
    t = (hours - hours.mean()) / max(np.ptp(hours), 1.0)
    design = np.vander(t, degree + 1, increasing=True)  # hours x (degree + 1)
    coef = np.zeros((len(counts), degree + 1))
    coef[:, 0] = np.log(counts.mean(axis=1) + 0.5)
    c = np.zeros(len(t))
    for _ in range(iterations):
        for _ in range(3):  # rows, offsets fixed
            mu = np.exp(np.clip(coef @ design.T + c, -30, 30))
            r, w = (counts - mu) / (1 + alpha * mu), mu / (1 + alpha * mu)
            information = np.einsum("it,tj,tk->ijk", w, design, design)
            coef = coef + np.linalg.solve(information, (r @ design)[..., None])[..., 0]
        mu = np.exp(np.clip(coef @ design.T + c, -30, 30))
        c = c + ((counts - mu) / (1 + alpha * mu)).sum(axis=0) / (mu / (1 + alpha * mu)).sum(axis=0)
        c -= c.mean()
    return np.exp(np.clip(coef @ design.T + c, -30, 30))


def pearson_dispersion(counts: np.ndarray, mu: np.ndarray, n_parameters: int) -> dict:
    """alpha where the Pearson statistic equals the residual df, and the quasi-Poisson phi."""
    counts, mu = np.asarray(counts, dtype=float).ravel(), np.asarray(mu, dtype=float).ravel()
    df = counts.size - n_parameters
    if df <= 0:
        raise InputError("evaluate.noise_windows", f"{counts.size} cells leave no residual degrees of freedom",
                         "use windows of at least 3 hours")
    squared = (counts - mu) ** 2

    def excess(alpha):
        return float(np.sum(squared / (mu * (1 + alpha * mu)))) / df - 1.0

    phi = excess(0.0) + 1.0
    if phi <= 1.0:
        alpha = 0.0  # no more variance than Poisson
    else:
        high = 1.0
        while excess(high) > 0:
            high *= 10
        alpha = brentq(excess, 0.0, high, xtol=1e-10)
    return {"alpha": float(alpha), "phi_quasi_poisson": float(phi), "cells": int(counts.size), "df": int(df)}


def _fit_dispersion(counts: np.ndarray, hours: np.ndarray, degree: int, rounds: int = 3) -> dict:
    """Alternate the fit (with the current alpha's weights) and the Pearson moment estimate of alpha."""
    alpha = 0.0
    for _ in range(rounds):
        mu = _log_linear_fit(counts, hours, degree, alpha)
        estimate = pearson_dispersion(counts, mu, (degree + 1) * len(counts) + len(hours) - 1)
        alpha = estimate["alpha"]
    phi = pearson_dispersion(counts, _log_linear_fit(counts, hours, degree), (degree + 1) * len(counts) + len(hours) - 1)
    return {**estimate, "phi_quasi_poisson": phi["phi_quasi_poisson"], "mu": mu}


def estimate_dispersion(raw: RawCounts, windows=DEFAULT_WINDOWS, degree: int = DEFAULT_DEGREE) -> dict:
    """Overdispersion of reporter reads: per window, pooled over the windows, and per hour (the window's
    estimate; hours in no window get the pooled one); and of the spike-ins (a level per spike-in)."""
    hours = np.array(raw.reporters.columns, dtype=float)
    counts_all = raw.reporters.to_numpy(dtype=float)
    fits, per_window = [], []
    by_hour = {}
    for low, high in windows:
        in_window = (hours >= low) & (hours <= high)
        if in_window.sum() < degree + 2:
            raise InputError("evaluate.noise_windows", f"window [{low:g}, {high:g}] h holds {int(in_window.sum())} of the "
                             f"data's hours {[f'{h:g}' for h in hours]}",
                             f"give each window at least noise_degree + 2 = {degree + 2} hours")
        counts = counts_all[:, in_window]
        counts = counts[counts.sum(axis=1) > 0]
        fit = _fit_dispersion(counts, hours[in_window], degree)
        fits.append((counts, fit["mu"], (degree + 1) * len(counts) + int(in_window.sum()) - 1))
        per_window.append({"hours": [float(low), float(high)], "reporters": int(len(counts)),
                           **{k: v for k, v in fit.items() if k != "mu"}})
        by_hour.update({float(h): fit["alpha"] for h in hours[in_window]})
    pooled = pearson_dispersion(np.concatenate([c.ravel() for c, _, _ in fits]),
                                np.concatenate([m.ravel() for _, m, _ in fits]), sum(p for _, _, p in fits))
    spikes = raw.spikes.to_numpy(dtype=float)
    spike = _fit_dispersion(spikes, hours, degree=0)
    return {"alpha": pooled["alpha"], "phi_quasi_poisson": float(np.mean([w["phi_quasi_poisson"] for w in per_window])),
            "windows": per_window, "degree": int(degree),
            "alpha_by_hour": {f"{h:g}": by_hour.get(float(h), pooled["alpha"]) for h in hours},
            "spike_alpha": spike["alpha"], "spike_phi_quasi_poisson": spike["phi_quasi_poisson"]}


def _draw(rng: np.random.Generator, mean: np.ndarray, alpha) -> np.ndarray:
    """Negative-binomial counts around `mean` (var = mean + alpha mean^2; alpha per column or one number)."""
    alpha = np.broadcast_to(np.asarray(alpha, dtype=float), mean.shape)
    out = rng.poisson(mean).astype(float)
    over = alpha > 0
    if over.any():
        size = 1.0 / alpha[over]
        out[over] = rng.negative_binomial(size, size / (size + mean[over]))
    return out


def resampled_targets(raw: RawCounts, ids, alpha, spike_alpha: float, data: dict, target: dict,
                      n_resamples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(observed target, resampled targets: resamples x reporters) of reporters `ids`; alpha: one number or
    one per hour."""
    reporters = raw.reporters.loc[list(ids)]
    subset = RawCounts(reporters=reporters, spikes=raw.spikes, sequences=raw.sequences.loc[reporters.index])
    # `ids` are reporters the real fit kept; under a kinetic target's `undetermined: drop` each resample's fit
    # would drop a different set of them, so every resample keeps them all (their targets are what is scored)
    target = {**target, "undetermined": "keep"}

    def target_of(counts: RawCounts) -> np.ndarray:
        # the pipeline's normalization and target; the read filter was applied once, on the observed reads
        expression = normalize_counts(counts, data["pseudocount"], 0, [])
        return compute_target(expression, target["kind"], target["from_hour"], target["to_hour"],
                              target.get("divisor", 1.0), kinetic=target)["y"].to_numpy()

    quiet = logging.getLogger("decaylm.expression")
    level, quiet.level = quiet.level, logging.WARNING
    try:
        observed = target_of(subset)
        rng = np.random.default_rng(seed)
        draws = np.empty((n_resamples, len(reporters)))
        for b in range(n_resamples):
            counts = RawCounts(
                reporters=pd.DataFrame(_draw(rng, reporters.to_numpy(dtype=float), alpha), index=reporters.index,
                                       columns=reporters.columns),
                spikes=pd.DataFrame(_draw(rng, raw.spikes.to_numpy(dtype=float), spike_alpha), index=raw.spikes.index,
                                    columns=raw.spikes.columns),
                sequences=subset.sequences)
            draws[b] = target_of(counts)
    finally:
        quiet.level = level
    return observed, draws


def ceiling_from_resamples(observed: np.ndarray, draws: np.ndarray) -> dict:
    """1 - noise variance / target variance; the noise variance is taken across reporters within each
    resample (a shift shared by every reporter, from the spike-ins, is no error of any model)."""
    noise = float(np.mean(np.var(draws - observed, axis=1, ddof=1)))
    total = float(np.var(observed, ddof=1))
    return {"r2_ceiling": 1.0 - noise / total, "noise_variance": noise, "target_variance": total}


def logged_dispersion(raw: RawCounts, windows=DEFAULT_WINDOWS, degree: int = DEFAULT_DEGREE) -> dict:
    """estimate_dispersion, with its estimates logged."""
    dispersion = estimate_dispersion(raw, windows, degree)
    log.info("reporter reads: alpha %.4f pooled, by window %s (quasi-Poisson phi %.2f); spike-ins: alpha %.5f",
             dispersion["alpha"], [round(w["alpha"], 4) for w in dispersion["windows"]],
             dispersion["phi_quasi_poisson"], dispersion["spike_alpha"])
    return dispersion


def alpha_by_hour(raw: RawCounts, dispersion: dict) -> np.ndarray:
    """The reporters' alpha per column of raw.reporters (the estimate of the hour's window)."""
    return np.array([dispersion["alpha_by_hour"][f"{h:g}"] for h in raw.reporters.columns])


def noise_ceiling(raw: RawCounts, test_ids, data: dict, target: dict, n_resamples: int, seed: int,
                  windows=DEFAULT_WINDOWS, degree: int = DEFAULT_DEGREE) -> dict:
    """The ceiling's record: method, dispersion estimates, resamples, and the ceiling on the test reporters,
    with the Poisson-only and the pooled-alpha ceilings beside it."""
    dispersion = logged_dispersion(raw, windows, degree)
    observed, draws = resampled_targets(raw, test_ids, alpha_by_hour(raw, dispersion), dispersion["spike_alpha"], data,
                                        target, n_resamples, seed)
    result = ceiling_from_resamples(observed, draws)
    alternatives = {}
    for name, alpha, spike_alpha in (("poisson", 0.0, 0.0), ("pooled_alpha", dispersion["alpha"], dispersion["spike_alpha"])):
        _, other = resampled_targets(raw, test_ids, alpha, spike_alpha, data, target, n_resamples, seed + 1)
        alternatives[f"r2_ceiling_{name}"] = ceiling_from_resamples(observed, other)["r2_ceiling"]
    log.info("r2_ceiling %.3f on %d test reporters (Poisson only: %.3f; pooled alpha: %.3f)", result["r2_ceiling"],
             len(observed), alternatives["r2_ceiling_poisson"], alternatives["r2_ceiling_pooled_alpha"])
    return {"status": "ok", "method": METHOD, **result, **alternatives,
            "dispersion": dispersion["alpha"], "dispersion_by_hour": dispersion["alpha_by_hour"],
            "dispersion_windows": dispersion["windows"], "fit_degree": dispersion["degree"],
            "phi_quasi_poisson": dispersion["phi_quasi_poisson"], "spike_dispersion": dispersion["spike_alpha"],
            "n_resamples": int(n_resamples), "seed": int(seed), "n_test": int(len(observed)),
            "target": {k: target[k] for k in ("kind", "from_hour", "to_hour", "divisor") if k in target}}


# Resamples of the per-reporter variance: its relative standard error is sqrt(2 / (R - 1)), 14% at 100,
# small beside the spread of the variance across reporters (their depths differ a hundredfold).
VARIANCE_RESAMPLES = 100


def target_variance(raw: RawCounts, ids, data: dict, target: dict, n_resamples: int = VARIANCE_RESAMPLES,
                    seed: int = 0, windows=DEFAULT_WINDOWS, degree: int = DEFAULT_DEGREE) -> pd.DataFrame:
    """id, y_var: per reporter of `ids`, the variance over `n_resamples` resamples of the reads of its
    target, from the ceiling's dispersion fit and resampling (so it follows target.kind). Each resample
    is centred on its mean over the reporters first: a shift every reporter shares (the spike-ins'
    draw) is, as in the ceiling, no reporter's error."""
    started = time.perf_counter()
    dispersion = logged_dispersion(raw, windows, degree)
    fitted = time.perf_counter()
    ids = pd.Index(ids, dtype=str)
    _, draws = resampled_targets(raw, ids, alpha_by_hour(raw, dispersion), dispersion["spike_alpha"], data, target,
                                 n_resamples, seed)
    draws = draws - draws.mean(axis=1, keepdims=True)
    y_var = np.var(draws, axis=0, ddof=1)
    log.info("target variance of %d reporters from %d resamples: dispersion fit %.1f s, resamples %.1f s; "
             "y_var median %.4f, quartiles %.4f-%.4f, max %.4f", len(ids), n_resamples, fitted - started,
             time.perf_counter() - fitted, np.median(y_var), *np.percentile(y_var, [25, 75]), y_var.max())
    return pd.DataFrame({"id": ids, "y_var": y_var})


def not_computed(source: str) -> dict:
    return {"status": "not computed", "r2_ceiling": None,
            "reason": f"data.source is '{source}': the expression table is already on log scale, without read counts, "
                      "so there are no reads to resample and no count model to estimate"}
