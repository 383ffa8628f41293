"""KMER_RIDGE (decaylm/models/kmer_ridge.py): its fit is the scikit-learn pipeline's model (k-mer columns,
scales, alpha, coefficients, intercept), it learns a planted k-mer, saves a model folder whose weight tables
give the fitted pipeline's predictions, and refuses more CV folds than overlap groups and penalties not > 0."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import FunctionTransformer
from threadpoolctl import threadpool_limits

from decaylm.errors import InputError
from decaylm.models import kmer_ridge, load_model
from decaylm.models.registry import parse_model_spec
from tests.helpers.models import motif_split, r2


def spec(**settings):
    return parse_model_spec("KMER_RIDGE", {"kind": "kmer_ridge", "k_max": 5, "cv_folds": 3, **settings}, 0)


ALPHAS = [float(10 ** (x / 2)) for x in range(-2, 9)]  # the default grid, 0.1 .. 1e4


def grouped_data(seed, signal, noise, n=300):
    """Random sequences of 3-40 letters over ACGTN (some shorter than k_max) in overlap groups of about 3;
    y: signal x (GC count - TA count) + noise."""
    rng = np.random.default_rng(seed)
    sequences = ["".join(rng.choice(list("ACGTN"), int(rng.integers(3, 41)), p=[0.24] * 4 + [0.04]))
                 for _ in range(n)]
    y = signal * np.array([s.count("GC") - s.count("TA") for s in sequences]) + rng.normal(0, noise, n) + 2.0
    return sequences, y, rng.integers(0, n // 3, n)


@pytest.mark.parametrize("signal, noise, alphas, chosen", [
    (0.5, 1.0, ALPHAS, "inside"),                # alpha inside the grid
    (0.0, 1.0, ALPHAS, 1e4),                     # y is noise: the largest penalty
    (1.0, 0.01, [100.0, 1000.0, 10000.0], 100.0),  # y is almost exact: the smallest
])
def test_fit_is_the_scikit_learn_pipelines_model(signal, noise, alphas, chosen, monkeypatch):
    monkeypatch.setattr(kmer_ridge, "MIN_GRAM_REPORTERS", 0)  # the Grams' path, as for a large screen
    sequences, y, groups = grouped_data(0, signal, noise)
    folds = list(GroupKFold(n_splits=3).split(sequences, groups=groups))
    fit = kmer_ridge.fit_ridge(sequences, y, 4, alphas, folds)
    if chosen == "inside":
        assert alphas[0] < fit.alpha < alphas[-1]
    else:
        assert fit.alpha == chosen
    pipeline = kmer_ridge.build(4, alphas, folds).fit(sequences, y)
    vectorizer, scaler, ridge = pipeline[0], pipeline[1], pipeline[-1]
    assert fit.kmers == sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
    assert fit.alpha == ridge.alpha_
    np.testing.assert_array_equal(fit.scale, scaler.scale_)
    # the pipeline's conjugate gradients stop at a relative residual of 1e-4 (sklearn's Ridge tol)
    np.testing.assert_allclose(fit.coef, ridge.coef_, rtol=0, atol=1e-3 * np.abs(fit.coef).max())
    assert fit.intercept == pytest.approx(ridge.intercept_, abs=1e-3)
    np.testing.assert_allclose(fit.pipeline().predict(sequences), pipeline.predict(sequences), atol=1e-3)
    # on dense counts RidgeCV solves exactly (Cholesky): the same numbers up to rounding (one BLAS thread, as
    # fit_ridge: more spin on a busy machine)
    dense = kmer_ridge.build(4, alphas, folds)
    dense.steps.insert(1, ("dense", FunctionTransformer(lambda counts: counts.toarray(), accept_sparse=True)))
    with threadpool_limits(limits=1, user_api="blas"):
        dense.fit(sequences, y)
    assert fit.alpha == dense[-1].alpha_
    np.testing.assert_allclose(fit.coef, dense[-1].coef_, rtol=1e-8, atol=1e-10 * np.abs(fit.coef).max())
    assert fit.intercept == pytest.approx(dense[-1].intercept_, rel=1e-9)


@pytest.mark.parametrize("limit", ["features", "reporters"])
def test_too_many_features_or_too_few_reporters_fit_the_pipeline_itself(monkeypatch, limit):
    sequences, y, groups = grouped_data(1, 0.5, 1.0, n=120)
    folds = list(GroupKFold(n_splits=3).split(sequences, groups=groups))
    if limit == "features":
        monkeypatch.setattr(kmer_ridge, "MIN_GRAM_REPORTERS", 0)
        monkeypatch.setattr(kmer_ridge, "MAX_GRAM_FEATURES", 10)
    else:
        monkeypatch.setattr(kmer_ridge, "MIN_GRAM_REPORTERS", 121)
    fit = kmer_ridge.fit_ridge(sequences, y, 3, ALPHAS, folds)
    pipeline = kmer_ridge.build(3, ALPHAS, folds).fit(sequences, y)
    assert fit.alpha == pipeline[-1].alpha_ and fit.intercept == pipeline[-1].intercept_
    np.testing.assert_array_equal(fit.coef, pipeline[-1].coef_)
    np.testing.assert_array_equal(fit.pipeline().predict(sequences), pipeline.predict(sequences))


def test_learns_a_planted_kmer_and_reloads_to_the_pipelines_predictions(tmp_path):
    split = motif_split(n=300)
    kmer_ridge.train(split, spec(), tmp_path)
    model = load_model(tmp_path)
    pred = model.predict(split["sequence"].tolist())
    assert r2(split, pred) > 0.8, r2(split, pred)
    record = json.loads((tmp_path / "model.json").read_text())
    assert record["kind"] == "kmer_ridge" and record["files"] == {"weights": kmer_ridge.WEIGHTS}
    assert record["input_length"] == 40 and record["alpha"] > 0
    # the weight tables are the pipeline: the same numbers for other lengths and unseen letters too
    others = ["GGGCC" * 3, "ACGTNNACGT", "A", "GGGCCRGGGCC"]
    np.testing.assert_allclose(model.predict(others), model.pipeline.predict(others), rtol=1e-5, atol=1e-5)
    assert model.predict(["AAGGGCCAA"])[0] > model.predict(["AAGGACCAA"])[0]  # the motif raises y


def test_more_folds_than_overlap_groups_is_one_line(tmp_path):
    split = motif_split(n=60).assign(group=lambda frame: frame.index % 2)
    with pytest.raises(InputError, match=r"^models\.KMER_RIDGE\.cv_folds: 3 folds but only 2 overlap groups"):
        kmer_ridge.train(split, spec(), tmp_path)
    assert not (tmp_path / "model.json").exists()


def test_penalties_not_above_zero_are_one_line(tmp_path):
    for alphas in ([0.0, 1.0], ["a"], []):
        with pytest.raises(InputError, match=r"^models\.KMER_RIDGE\.alphas: .* is not a list of penalties > 0"):
            kmer_ridge.train(motif_split(n=60), spec(alphas=alphas), tmp_path)
