"""Fixtures of the whole suite, and the hooks that order it. What they are built from lives in
tests/helpers/ (see its __init__)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import data
from tests.helpers.configs import default_config
from tests.helpers.paths import REAL_DATA, REPO, have_real_data
from tests.helpers.pipeline_runs import BACKGROUND_RUNS
from tests.helpers.snakemake import BackgroundRun
from tests.helpers.simulate import STRUCTURED

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a model hub


@pytest.fixture
def config() -> dict:
    """config.yaml as loaded (a fresh copy per test, free to change)."""
    loaded = default_config()
    loaded.setdefault("pretraining", {})
    return loaded


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not have_real_data():
        pytest.skip(f"real UTR-seq data not found at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture
def tiny_utrseq(tmp_path) -> Path:
    """Six reporters over three hours, two spike-ins; reporter R1 has too few reads at hour 1."""
    return data.tiny_utrseq(tmp_path / "utrseq")


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models gain nothing from a second thread, and on a busy 2-core machine two OpenMP threads
    spin-wait on each other (measured: 20x slower steps)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ---------------------------------------------------------------------------------------------
# whole pipeline runs (tests/helpers/pipeline_runs.py), started in the background when the session
# begins; the tests that read them run last, so the in-process tests run meanwhile

# Modules whose tests mostly wait (a Slurm cluster's scheduling and the plugin's status checks, not
# computation): they go first, so that their waits overlap the background runs' work.
WAITING_MODULES = ("test_slurm.py",)


def pytest_collection_modifyitems(session, config, items):
    """Tests of WAITING_MODULES first, tests that read a background run last, each group in its own order."""
    reads = [bool(BACKGROUND_RUNS.keys() & set(getattr(item, "fixturenames", ()))) for item in items]
    waits = [item.path.name in WAITING_MODULES and not r for item, r in zip(items, reads)]
    items[:] = ([item for item, w in zip(items, waits) if w]
                + [item for item, r, w in zip(items, reads, waits) if not r and not w]
                + [item for item, r in zip(items, reads) if r])


@pytest.fixture(scope="session", autouse=True)
def _background_runs(request, tmp_path_factory):
    """Starts the runs that the selected tests read; ends whatever still runs when the session ends."""
    wanted = {name for item in request.session.items for name in getattr(item, "fixturenames", ())}
    runs = {name: BackgroundRun(name, steps, tmp_path_factory.mktemp(name))
            for name, steps in BACKGROUND_RUNS.items() if name in wanted}
    for run in runs.values():
        run.start()
    yield runs
    for run in runs.values():
        run.stop()


@pytest.fixture(scope="session")
def tiny_run(_background_runs) -> Path:
    """The tiny pipeline, run once per test session; tests must not modify its results."""
    return _background_runs["tiny_run"].result()


@pytest.fixture(scope="session")
def libraries_run(_background_runs) -> dict:
    """Two libraries A and B through the pipeline (pipeline_runs.libraries_run): results, files, config."""
    return _background_runs["libraries_run"].result()


@pytest.fixture(scope="session")
def repeats_run(_background_runs) -> Path:
    """Results of the tiny data with CNN trained as 2 repeats (seeds 42, 43) and CNN_SEEDS (pipeline_runs.repeats_run)."""
    return _background_runs["repeats_run"].result()


@pytest.fixture(scope="session")
def learning_curve_run(_background_runs) -> Path:
    """Results of simulated data up to learning_curve.tsv: KMER_RIDGE and CNN at 0.25, 0.5 and 1."""
    return _background_runs["learning_curve_run"].result()


@pytest.fixture(scope="session")
def folds_run(_background_runs) -> Path:
    """Results of the tiny data under split.folds: 3 with RIDGE, CNN and BPE (pipeline_runs.folds_run)."""
    return _background_runs["folds_run"].result()


@pytest.fixture(scope="session")
def simulated_run(_background_runs) -> Path:
    """Results of the default simulated data through the pipeline with one k-mer ridge model (RIDGE)."""
    return _background_runs["simulated_run"].result()


@pytest.fixture(scope="session")
def real_data_run(_background_runs) -> Path:
    """Results of the real UTR-seq data through the pipeline with one k-mer ridge model (RIDGE)."""
    results = _background_runs["real_data_run"].result()
    if results is None:
        pytest.skip(f"real UTR-seq data not found at {REAL_DATA}")
    return results


@pytest.fixture(scope="session")
def resumed_run(_background_runs) -> dict:
    """A second run of the tiny pipeline from scratch whose CNN job was killed and resumed
    (pipeline_runs.resumed_run): its results folder, the CNN checkpoint's path, what the kill left,
    and the CNN's configured epochs."""
    return _background_runs["resumed_run"].result()


@pytest.fixture(scope="module")
def default_sim():
    """The simulator's default data set (4000 reporters), simulated once per test module."""
    from decaylm.simulate import SimulationConfig, simulate

    return simulate(SimulationConfig())


@pytest.fixture(scope="module")
def structured_sim():
    from decaylm.simulate import SimulationConfig, simulate

    return simulate(SimulationConfig(**STRUCTURED))


@pytest.fixture(scope="module")
def corpus():
    """The tokenizer tests' training sequences and targets (tests/helpers/tokenizers.py)."""
    from tests.helpers.tokenizers import make_corpus

    return make_corpus()


@pytest.fixture(scope="module")
def held_out():
    from tests.helpers.tokenizers import random_sequences

    return random_sequences(20, seed=99)


@pytest.fixture(scope="module")
def trained_tokenizers(tmp_path_factory, corpus):
    """One trained tokenizer per spec of tests/helpers/tokenizers.py, per test module."""
    from tests.helpers.tokenizers import train_every_spec

    return train_every_spec(tmp_path_factory.mktemp("tokenizers"), corpus)
