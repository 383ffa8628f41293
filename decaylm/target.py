"""The degradation target: how log2 expression changes between two hours, or a kinetic fit."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from scipy.stats import f as f_distribution

from decaylm.errors import InputError
from decaylm.expression import hour_column

log = logging.getLogger(__name__)


def available_hours(expression: pd.DataFrame) -> list[float]:
    return [float(c[:-1]) for c in expression.columns if c.endswith("h")]


def compute_target(expression: pd.DataFrame, kind: str, from_hour: float, to_hour: float, divisor: float = 1.0,
                   kinetic: dict | None = None) -> pd.DataFrame:
    """Return id, sequence, y.

    `difference`: (E[to] - E[from]) / divisor; the original project's target is from 1 to 6 h
    with divisor 2. `slope`: least-squares slope of E over the hours from..to (per hour).
    `kinetic`: the two-phase fit over the hours from..to (`kinetic_target`; `kinetic` holds the
    target keys); y is its `parameter`, and the fit's columns follow.
    """
    hours = available_hours(expression)
    for key, hour in (("target.from_hour", from_hour), ("target.to_hour", to_hour)):
        if hour not in hours:
            raise InputError(key, f"hour {hour:g} is not in the data's hours {[f'{h:g}' for h in hours]}",
                             "choose one of those hours")
    if to_hour <= from_hour:
        raise InputError("target.to_hour", f"to_hour {to_hour:g} is not after from_hour {from_hour:g}", "swap them")
    if kind == "difference":
        y = (expression[hour_column(to_hour)] - expression[hour_column(from_hour)]) / divisor
    elif kind == "kinetic":
        return kinetic_target(expression, from_hour, to_hour, KineticSettings.from_spec(kinetic))
    elif kind == "slope":
        between = [h for h in hours if from_hour <= h <= to_hour]
        y = _least_squares_slope(expression[[hour_column(h) for h in between]].to_numpy(), np.array(between))
    else:
        raise InputError("target.kind", f"unknown kind '{kind}'", "use difference, slope or kinetic")
    return pd.DataFrame({"id": expression["id"], "sequence": expression["sequence"], "y": np.asarray(y, dtype=float)})


def _least_squares_slope(values: np.ndarray, hours: np.ndarray) -> np.ndarray:
    centered = hours - hours.mean()
    return (values - values.mean(axis=1, keepdims=True)) @ centered / (centered @ centered)


# ----------------------------------------------------------------------------------------
# kinetic targets: the two-phase model of UTR-seq (Rabani et al. 2017)

KINETIC_PARAMETERS = ("rate", "onset", "x0")
KINETIC_COLUMNS = ["x0", "rate", "onset", "onset_lo", "onset_hi", "onset_determined", "one_phase", "residual"]
ONSET_LEVEL = 0.95  # the onset interval's confidence level


def onset_cut(n_hours: int, level: float = ONSET_LEVEL) -> float:
    """How many sigma^2 above the best RSS the onset interval reaches: the F(1, hours - 3) quantile, since
    sigma^2 = RSS / (hours - 3) is itself estimated from hours - 3 degrees of freedom (4 over 2-8 h: 7.71;
    the chi-square(1) 3.84 of a known sigma^2 covered the true onset 85-88% of the time in
    tests/test_kinetics.py's simulation, this cut 94-95%). Infinite, so that no onset is determined,
    when there is no residual degree of freedom."""
    df = n_hours - 3
    return float(f_distribution.ppf(level, 1, df)) if df >= 1 else float("inf")


@dataclass(frozen=True)
class KineticSettings:
    """`target` keys of `kind: kinetic` (schemas/config.schema.yaml documents them)."""

    parameter: str = "rate"
    onset_range: tuple[float, float] = (2.0, 6.0)
    onset_step: float = 0.05
    rate_range: tuple[float, float] = (0.0, 10.0)
    weights: str = "level"
    onset_tolerance: float = 1.0
    undetermined: str = "keep"
    refine: bool = False

    @classmethod
    def from_spec(cls, spec: dict | None) -> "KineticSettings":
        spec = spec or {}
        names = {f.name for f in fields(cls)}
        values = {key: spec[key] for key in names if spec.get(key) is not None}
        for key in ("onset_range", "rate_range"):
            if key in values:
                values[key] = tuple(float(v) for v in values[key])
        return cls(**values)


def _profile(y, w, t, onsets, rate_lo, rate_hi):
    """For each reporter and each onset: the weighted least-squares x0 and rate of
    E(t) = x0 - rate * max(0, t - onset), with rate bounded, in closed form; and its weighted RSS.

    Given the onset the model is linear in (x0, rate) and the bounded problem is a convex quadratic
    with a box on one coordinate: clipping the rate and refitting x0 is its exact solution.
    """
    u = np.maximum(0.0, t[None, :] - onsets[:, None])  # onsets x hours
    wsum = w.sum(axis=1, keepdims=True)
    wy = (w * y).sum(axis=1, keepdims=True)
    wyy = (w * y * y).sum(axis=1, keepdims=True)
    wu, wuu, wuy = w @ u.T, w @ (u * u).T, (w * y) @ u.T  # reporters x onsets
    det = wsum * wuu - wu ** 2
    ok = det > 1e-12 * wsum * np.maximum(wuu, 1e-300)
    slope = np.where(ok, (wsum * wuy - wu * wy) / np.where(ok, det, 1.0), 0.0)
    rate = np.clip(-slope, rate_lo, rate_hi)
    x0 = (wy + rate * wu) / wsum
    rss = wyy + x0 ** 2 * wsum + rate ** 2 * wuu - 2 * x0 * wy + 2 * rate * wuy - 2 * x0 * rate * wu
    return x0, rate, np.maximum(rss, 0.0)


def two_phase(t, x0, rate, onset) -> np.ndarray:
    """The model's log2 level at hours t: reporters x hours."""
    t = np.asarray(t, dtype=float)[None, :]
    return np.asarray(x0, float)[:, None] - np.asarray(rate, float)[:, None] * np.maximum(
        0.0, t - np.asarray(onset, float)[:, None])


def _level_weights(level: np.ndarray) -> np.ndarray:
    """Inverse variance of a log2 level, relative within a reporter: a count's variance on log scale is
    about 1/count, and the count is proportional to 2^level (up to the hour's spike-in total)."""
    return np.exp2(level - level.max(axis=1, keepdims=True))


def fit_kinetics(values, hours, settings: KineticSettings = KineticSettings()) -> pd.DataFrame:
    """Fit every reporter's log2 time course (reporters x hours) with the two-phase model.

    A grid over onsets (the first hour: the one-phase fit, plus settings.onset_range every
    settings.onset_step h) with the closed-form bounded fit at each onset, for all reporters at once;
    the best onset is then refined by scipy's bounded least squares. Weights ("level") follow the
    counts' expected variance, taken from the fitted level after a first pass on the observed one.
    The onset is determined when its 95% profile-likelihood interval (onsets whose RSS is within
    onset_cut(hours) sigma^2 of the best, sigma^2 = RSS / (hours - 3)) spans at most settings.onset_tolerance h.
    """
    y = np.asarray(values, dtype=float)
    t = np.asarray(hours, dtype=float)
    n, n_hours = y.shape
    lo, hi = settings.onset_range
    onsets = np.unique(np.concatenate([[t[0]], np.arange(lo, hi + settings.onset_step / 2, settings.onset_step)]))
    onsets = onsets[(onsets >= t[0]) & (onsets <= hi)]
    rate_lo, rate_hi = settings.rate_range
    w = _level_weights(y) if settings.weights == "level" else np.ones_like(y)
    for iteration in range(2 if settings.weights == "level" else 1):
        x0, rate, rss = _profile(y, w, t, onsets, rate_lo, rate_hi)
        best = rss.argmin(axis=1)
        rows = np.arange(n)
        fit = (x0[rows, best], rate[rows, best], onsets[best])
        if iteration == 0 and settings.weights == "level":
            w = _level_weights(two_phase(t, *fit))
    x0_best, rate_best, onset_best = (np.array(v, dtype=float) for v in fit)
    rss_best = rss[rows, best]
    if settings.refine:
        x0_best, rate_best, onset_best, rss_best = _refine(y, w, t, x0_best, rate_best, onset_best, rss_best,
                                                           settings)
    cut = onset_cut(n_hours)
    reach = cut * rss_best / (n_hours - 3) if np.isfinite(cut) else np.full(n, np.inf)  # cut * sigma^2
    inside = rss <= (rss_best + reach + 1e-9 * (1.0 + rss_best))[:, None]
    onset_lo = np.where(inside, onsets[None, :], np.inf).min(axis=1)
    onset_hi = np.where(inside, onsets[None, :], -np.inf).max(axis=1)
    onset_lo, onset_hi = np.minimum(onset_lo, onset_best), np.maximum(onset_hi, onset_best)
    return pd.DataFrame({
        "x0": x0_best, "rate": rate_best, "onset": onset_best, "onset_lo": onset_lo, "onset_hi": onset_hi,
        "onset_determined": (onset_hi - onset_lo) <= settings.onset_tolerance + 1e-9,
        "one_phase": onset_best <= t[0] + 1e-9,
        "residual": np.sqrt(rss_best / w.sum(axis=1)),  # weighted RMS, log2 units
    })


def _refine(y, w, t, x0, rate, onset, rss, settings: KineticSettings):
    """Bounded least squares (scipy, trust region reflective) on x0, rate and onset of the two-phase fits,
    all reporters in one sparse problem, started at the grid's best; kept where the RSS falls."""
    from scipy.optimize import least_squares
    from scipy.sparse import csr_matrix

    lo, hi = settings.onset_range
    rate_lo, rate_hi = settings.rate_range
    chosen = np.flatnonzero((onset > t[0] + 1e-9) & (rate > rate_lo + 1e-9) & (rate < rate_hi - 1e-9))
    if not len(chosen):
        return x0, rate, onset, rss
    m, n_hours = len(chosen), len(t)
    ys, sw = y[chosen], np.sqrt(w[chosen])
    row_of = np.repeat(np.arange(m * n_hours), 3)
    col_of = (np.repeat(np.arange(m), n_hours)[:, None] * 3 + np.arange(3)[None, :]).ravel()

    def residuals(p):
        p = p.reshape(m, 3)
        return (sw * (two_phase(t, p[:, 0], p[:, 1], p[:, 2]) - ys)).ravel()

    def jacobian(p):
        p = p.reshape(m, 3)
        after = t[None, :] > p[:, 2:3]
        u = np.maximum(0.0, t[None, :] - p[:, 2:3])
        values = np.stack([sw, -sw * u, sw * p[:, 1:2] * after], axis=-1).ravel()
        return csr_matrix((values, (row_of, col_of)), shape=(m * n_hours, 3 * m))

    start = np.stack([x0[chosen], rate[chosen], np.clip(onset[chosen], lo, hi)], axis=1)
    lower = np.tile([-np.inf, rate_lo, lo], m)
    upper = np.tile([np.inf, rate_hi, hi], m)
    start = np.clip(start.ravel(), lower + 1e-12, upper - 1e-12)
    result = least_squares(residuals, start, jac=jacobian, bounds=(lower, upper), method="trf",
                           tr_solver="lsmr", x_scale="jac", max_nfev=30)
    p = result.x.reshape(m, 3)
    new_rss = ((sw * (two_phase(t, p[:, 0], p[:, 1], p[:, 2]) - ys)) ** 2).sum(axis=1)
    better = new_rss < rss[chosen]
    x0, rate, onset, rss = x0.copy(), rate.copy(), onset.copy(), rss.copy()
    idx = chosen[better]
    x0[idx], rate[idx], onset[idx], rss[idx] = p[better, 0], p[better, 1], p[better, 2], new_rss[better]
    return x0, rate, onset, rss


def kinetic_target(expression: pd.DataFrame, from_hour: float, to_hour: float,
                   settings: KineticSettings = KineticSettings()) -> pd.DataFrame:
    """id, sequence, y (settings.parameter of the fit) and the fit's columns (KINETIC_COLUMNS)."""
    hours = [h for h in available_hours(expression) if from_hour <= h <= to_hour]
    if len(hours) < 3:
        raise InputError("target.kind", f"kinetic needs three or more hours from target.from_hour to target.to_hour; "
                         f"the data has {len(hours)} ({', '.join(f'{h:g}h' for h in hours)})",
                         "measure more hours, widen target.from_hour..to_hour, or use kind difference")
    if settings.parameter not in KINETIC_PARAMETERS:
        raise InputError("target.parameter", f"unknown parameter '{settings.parameter}'", f"use one of {list(KINETIC_PARAMETERS)}")
    started = time.perf_counter()
    values = expression[[hour_column(h) for h in hours]].to_numpy(dtype=float)
    fit = fit_kinetics(values, hours, settings)
    seconds = time.perf_counter() - started
    table = pd.concat([expression[["id", "sequence"]].reset_index(drop=True), fit], axis=1)
    table.insert(2, "y", table[settings.parameter].to_numpy())
    undetermined = int((~table["onset_determined"]).sum())
    log.info("kinetic fit of %d reporters over %s h in %.2f s: onset determined for %d, undetermined for %d "
             "(one-phase %d, rate at its lower bound %d)", len(table), ",".join(f"{h:g}" for h in hours), seconds,
             len(table) - undetermined, undetermined, int(table["one_phase"].sum()),
             int((table["rate"] <= settings.rate_range[0] + 1e-9).sum()))
    if settings.undetermined == "drop":
        table = table[table["onset_determined"]].reset_index(drop=True)
        log.info("target.undetermined: drop: dropped %d reporters whose onset is undetermined, %d left",
                 undetermined, len(table))
        if table.empty:
            raise InputError("target.undetermined", "no reporter has a determined onset",
                             "use target.undetermined: keep, or widen target.onset_tolerance")
    else:
        log.info("target.undetermined: keep: %d reporters with an undetermined onset kept (flagged in onset_determined)",
                 undetermined)
    return table
