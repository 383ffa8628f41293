"""Shared fixtures: paths of the repository and the real UTR-seq data, small synthetic tables, and whole
pipeline runs (tiny_run, resumed_run, simulated_run, real_data_run), started in the background when
the session begins."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "utrseq"
HOURS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12]

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a model hub


@pytest.fixture
def config() -> dict:
    """config.yaml as loaded (a fresh copy per test, free to change)."""
    loaded = yaml.safe_load((REPO / "config.yaml").read_text())
    loaded.setdefault("pretraining", {})
    return loaded


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not (REAL_DATA / "reporter_counts.txt").exists():
        pytest.skip(f"real UTR-seq data not found at {REAL_DATA}")
    return REAL_DATA


def random_sequences(n: int, length: int = 60, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGT"), size=length)) for _ in range(n)]


def write_utrseq(folder: Path, sequences: list[str], counts: np.ndarray, spikes: np.ndarray) -> Path:
    """Write a tiny UTR-seq folder: counts (reporters, hours) and spike-ins (n_spikes, hours)."""
    folder.mkdir(parents=True, exist_ok=True)
    columns = [f"AR{i + 1:02d}" for i in range(counts.shape[1])]
    ids = [f"R{i}" for i in range(len(sequences))]
    table = pd.DataFrame(counts.astype(int), columns=columns)
    table.insert(0, "id", ids)
    spike_table = pd.DataFrame(spikes.astype(int), columns=columns)
    spike_table.insert(0, "id", [f"SPIKE_{i}" for i in range(len(spikes))])
    pd.concat([table, spike_table]).to_csv(folder / "reporter_counts.txt", sep="\t", index=False)
    (folder / "reporter_seq.txt").write_text("".join(f"{i}\t{s}\n" for i, s in zip(ids, sequences)))
    return folder


@pytest.fixture
def tiny_utrseq(tmp_path) -> Path:
    """Six reporters over three hours, two spike-ins; reporter R1 has too few reads at hour 1."""
    counts = np.array([[100, 80, 40], [50, 10, 5], [200, 200, 200], [30, 60, 90], [80, 40, 20], [60, 30, 30]])
    spikes = np.array([[10, 20, 40], [10, 20, 40]])
    return write_utrseq(tmp_path / "utrseq", random_sequences(6), counts, spikes)


def snakemake_command(*args: str, results: Path, configfiles=("config/tiny.yaml",), cores: int = 2) -> list[str]:
    # --nolock: test runs write disjoint results folders, and concurrent runs race on .snakemake/locks
    return [sys.executable, "-m", "snakemake", *args, "--nolock", "--cores", str(cores), "--configfile", *configfiles,
            "--config", f"results={results}"]


def run_snakemake(*args: str, results: Path, configfiles=("config/tiny.yaml",), check: bool = True,
                  timeout: int = 900) -> subprocess.CompletedProcess:
    """Run the workflow from the repository with results under `results`."""
    command = snakemake_command(*args, results=results, configfiles=configfiles)
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"snakemake failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    return done


# ---------------------------------------------------------------------------------------------
# Whole pipeline runs, started in the background when the session begins (those that a selected test
# reads) and waited for by their fixtures. The tests that read them run last, so the in-process tests
# run meanwhile: they use one core, and a pipeline has stretches of one job.

def stop_process_group(job: subprocess.Popen) -> None:
    """End a Snakemake started here, with the jobs it started (its process group), if still running."""
    if job.poll() is None:
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()


class BackgroundRun(threading.Thread):
    """`steps(run)` in a thread; `result()` waits for its value or raises its error."""

    def __init__(self, name: str, steps, folder: Path):
        super().__init__(name=name, daemon=True)
        self.steps, self.folder = steps, folder
        self.jobs: list[subprocess.Popen] = []
        self.stopped = threading.Event()
        self.value = self.error = None

    def snakemake(self, *args: str, results: Path, log: str, cores: int = 2,
                  configfiles=("config/tiny.yaml",)) -> subprocess.Popen:
        if self.stopped.is_set():
            raise RuntimeError("the test session has ended")
        command = snakemake_command(*args, results=results, configfiles=configfiles, cores=cores)
        with open(self.folder / log, "w") as out:  # the child keeps its own copy of the file
            job = subprocess.Popen(command, cwd=REPO, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # its own process group
        self.jobs.append(job)
        return job

    def wait(self, job: subprocess.Popen, log: str, timeout: float = 1800) -> None:
        if job.wait(timeout=timeout) != 0:
            raise AssertionError(f"snakemake failed ({job.returncode}):\n{(self.folder / log).read_text()[-8000:]}")

    def run(self) -> None:
        try:
            self.value = self.steps(self)
        except BaseException as error:  # raised again by result(), in the test that waits for it
            self.error = error

    def result(self, timeout: float = 3600):
        self.join(timeout)
        if self.is_alive():
            self.stop()
            raise AssertionError(f"{self.name} did not finish within {timeout:.0f} s")
        if self.error is not None:
            raise self.error
        return self.value

    def stop(self) -> None:
        self.stopped.set()
        for job in self.jobs:
            stop_process_group(job)


def _tiny_run(run: BackgroundRun) -> Path:
    results = run.folder / "results"
    run.wait(run.snakemake(results=results, log="snakemake.log"), "snakemake.log")
    return results


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _training_process(snakemake_pid: int) -> int | None:
    """The python process, under our snakemake, that runs scripts/train_model.py."""
    for pid in _descendants(snakemake_pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(part.endswith(b"train_model.py") for part in command) and b"python" in command[0]:
            return pid
    return None


def _resumed_run(run: BackgroundRun) -> dict:
    """The tiny pipeline from scratch in a second folder: its CNN job killed with SIGKILL mid-epoch (the
    first epoch's checkpoint just written), then snakemake again, up to the comparison and the
    tokenizer table (not the predict stage, figures or provenance, which no test reads here)."""
    import torch

    from decaylm.training import CHECKPOINT

    epochs = yaml.safe_load((REPO / "config" / "tiny.yaml").read_text())["models"]["CNN"].get("epochs", 20)
    assert epochs >= 2, "the tiny CNN needs two epochs or more to be killed mid-run"
    results = run.folder / "results"
    cnn = results / "models" / "CNN"
    checkpoint = cnn / CHECKPOINT
    job = run.snakemake(str(cnn / "metrics.json"), results=results, log="killed.log", cores=1)
    deadline = time.monotonic() + 900
    while not checkpoint.exists():
        assert job.poll() is None, (run.folder / "killed.log").read_text()
        assert time.monotonic() < deadline, "no checkpoint after 15 minutes"
        assert not run.stopped.is_set()
        time.sleep(0.02)
    trainer = _training_process(job.pid)
    assert trainer is not None, "the training process was not found"
    os.kill(trainer, signal.SIGKILL)  # mid-epoch: the first epoch's checkpoint has just been written
    killed = {"code": job.wait(timeout=300), "epoch": torch.load(checkpoint, weights_only=False)["state"]["epoch"],
              "predictions_left": (cnn / "predictions.tsv").exists()}
    # then what test_two_runs_from_scratch_are_byte_identical compares: every model, every tokenizer
    compared = [str(results / "comparison.tsv"), str(results / "tokenizers" / "stats.tsv")]
    run.wait(run.snakemake(*compared, results=results, log="resumed.log"), "resumed.log")
    return {"results": results, "checkpoint": checkpoint, "killed": killed, "epochs": epochs}


def _one_model_config(run: BackgroundRun, extra: dict, model: dict) -> str:
    """A config file: config.yaml's tokenizers, pretraining and models all off but `model`, plus `extra`."""
    defaults = yaml.safe_load((REPO / "config.yaml").read_text())
    off = lambda section: {name: None for name in defaults.get(section) or {}}
    path = run.folder / "config.yaml"
    path.write_text(yaml.safe_dump({"interpret": {"models": []}, **extra,
                                    "tokenizers": off("tokenizers") | extra.get("tokenizers", {}),
                                    "pretraining": off("pretraining"), "models": off("models") | model}))
    return str(path)


def _one_model_run(run: BackgroundRun, extra: dict, models: dict) -> Path:
    """The pipeline on _one_model_config(run, extra, models); its results folder."""
    config = _one_model_config(run, extra, models)
    results = run.folder / "results"
    run.wait(run.snakemake(results=results, log="snakemake.log", configfiles=(config,)), "snakemake.log")
    return results


def _simulated_run(run: BackgroundRun) -> Path:
    """The default simulated data (4,000 reporters) through the pipeline with one k-mer ridge model."""
    return _one_model_run(run, {}, {"RIDGE": {"kind": "kmer_ridge", "k_max": 6, "cv_folds": 3}})


def _real_data_run(run: BackgroundRun) -> Path | None:
    """The real UTR-seq data through the pipeline with one k-mer ridge model; None without the data."""
    if not (REAL_DATA / "reporter_counts.txt").exists():
        return None
    return _one_model_run(run, {"data": {"source": "utrseq", "path": str(REAL_DATA)}},
                          {"RIDGE": {"kind": "kmer_ridge", "k_max": 5, "cv_folds": 3}})


def _repeats_run(run: BackgroundRun) -> Path:
    """The tiny data with one small CNN trained as two repeats, and their repeat_ensemble row."""
    return _one_model_run(run, {"data": {"simulate": {"n_reporters": 600, "seed": 3}}, "predict": {"models": []}},
                          {"CNN": {"kind": "cnn", "epochs": 2, "channels": 8, "batch_size": 32, "repeats": 2},
                           "CNN_SEEDS": {"kind": "repeat_ensemble", "of": "CNN"}})


def _folds_run(run: BackgroundRun) -> Path:
    """The tiny data under 3-fold grouped cross-validation: k-mer ridge, a small CNN and a BPE BERT."""
    return _one_model_run(run, {"data": {"simulate": {"n_reporters": 600, "seed": 3}}, "split": {"folds": 3},
                                "tokenizers": {"bpe": {"kind": "bpe", "vocab_size": 64}},
                                "predict": {"models": []}},
                          {"RIDGE": {"kind": "kmer_ridge", "k_max": 4, "cv_folds": 3},
                           "CNN": {"kind": "cnn", "epochs": 2, "channels": 8, "batch_size": 32},
                           "BPE": {"kind": "bert", "tokenizer": "bpe", "layers": 1, "hidden": 16, "heads": 2,
                                   "intermediate": 32, "epochs": 1}})


LIBRARY_HOURS = [0, 2, 4, 8]


def write_libraries(folder: Path, n: int = 400, seed: int = 0, shared_ids: bool = True) -> dict:
    """Two count tables of the same 60-nt reporters (prefixed time columns, an EMPTY row, a few count
    ids without a sequence) whose decay rates follow their TTT and GGG counts, B's correlated with A's;
    and one sequence file. Returns the files by name (A, B, sequences) and the rates."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    sequences = random_sequences(n, seed=seed)
    motif = np.array([s.count("TTT") - s.count("GGG") for s in sequences], dtype=float)
    rates = {"A": 0.15 + 0.08 * motif, "B": 0.2 + 0.05 * motif + 0.05 * rng.standard_normal(n)}
    ids = [f"R{i}" for i in range(n)]
    (folder / "seq.txt").write_text("".join(f"{i}\t{s}\n" for i, s in zip(ids, sequences)))
    files = {"sequences": str(folder / "seq.txt"), "rates": rates}
    if not shared_ids:  # B's reporters under other ids, with their own sequence file
        (folder / "seq_B.txt").write_text("".join(f"B{i}\t{s}\n" for i, s in zip(ids, sequences)))
        files["sequences_B"] = str(folder / "seq_B.txt")
    t = np.array(LIBRARY_HOURS, dtype=float)
    for name, prefix in (("A", "LIB_0xA"), ("B", "LIB_40xA")):
        level = -np.clip(rates[name], 0.0, None)[:, None] * np.maximum(0.0, t[None, :] - 2.0)
        counts = rng.poisson(300 * np.exp2(level))
        rows = [[rid if shared_ids or name == "A" else f"{name}{rid}", *c] for rid, c in zip(ids, counts)]
        rows += [[f"X{i}", 50, 40, 30, 20] for i in range(3)]  # count ids without a sequence
        rows += [["EMPTY", 999, 999, 999, 999]] + [[f"SPIKE_{i}", 100, 100, 100, 100] for i in range(2)]
        table = pd.DataFrame(rows, columns=["id", *[f"{prefix}_AR{i + 1:02d}" for i in range(len(t))]])
        table.to_csv(folder / f"counts_{name}.txt", sep="\t", index=False)
        files[name] = str(folder / f"counts_{name}.txt")
    return files


def libraries_config(folder: Path, files: dict, extra: dict | None = None) -> str:
    """A config of two libraries A and B (write_libraries) with RIDGE, a small CNN and HYBRID trained on
    both libraries (aux_libraries), and their ensemble (of each library's members)."""
    defaults = yaml.safe_load((REPO / "config.yaml").read_text())
    off = lambda section: {name: None for name in defaults.get(section) or {}}
    small = {"epochs": 2, "batch_size": 32}
    hybrid = {"kind": "bert", "tokenizer": "nt", "layers": 1, "hidden": 16, "heads": 2, "intermediate": 32,
              "conv_stem": [5], "stem_pool": 2, "max_length": 64, **small}
    config = {"data": {"source": "utrseq", "hours": LIBRARY_HOURS, "require_sequences": False, "filter_hours": [0],
                       "libraries": {lib: {"counts": files[lib], "sequences": files.get(f"sequences_{lib}", files["sequences"])}
                                     for lib in ("A", "B")}},
              "target": {"from_hour": 2, "to_hour": 8},
              "split": {"group_overlap_nt": 40}, "evaluate": {"noise_resamples": 20, "noise_windows": [[0, 8]]},
              "predict": {"models": []}, "interpret": {"models": []},
              "tokenizers": off("tokenizers") | {"nt": {"kind": "nucleotide"}}, "pretraining": off("pretraining"),
              "models": off("models") | {
                  "RIDGE": {"kind": "kmer_ridge", "k_max": 3, "cv_folds": 3},
                  "CNN_BOTH": {"kind": "cnn", "channels": 16, "aux_libraries": ["A", "B"], **small},
                  "HYBRID_BOTH": {**hybrid, "aux_libraries": ["A", "B"]},
                  "ENS": {"kind": "ensemble", "members": ["CNN_BOTH", "HYBRID_BOTH"]}}}
    for key, value in (extra or {}).items():
        config[key] = {**config[key], **value} if isinstance(value, dict) else value
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def _libraries_run(run: BackgroundRun) -> dict:
    """Two libraries (write_libraries) through the pipeline: see libraries_config."""
    files = write_libraries(run.folder / "data")
    config = libraries_config(run.folder, files)
    results = run.folder / "results"
    run.wait(run.snakemake(results=results, log="snakemake.log", configfiles=(config,)), "snakemake.log")
    return {"results": results, "files": files, "config": config}


BACKGROUND_RUNS = {"libraries_run": _libraries_run, "tiny_run": _tiny_run, "repeats_run": _repeats_run, "folds_run": _folds_run, "resumed_run": _resumed_run, "simulated_run": _simulated_run,
                   "real_data_run": _real_data_run}


def pytest_collection_modifyitems(session, config, items):
    """Tests that read a background run go last, in their own order."""
    reads = [bool(BACKGROUND_RUNS.keys() & set(getattr(item, "fixturenames", ()))) for item in items]
    items[:] = [item for item, r in zip(items, reads) if not r] + [item for item, r in zip(items, reads) if r]


@pytest.fixture(scope="session", autouse=True)
def _background_runs(request, tmp_path_factory):
    wanted = {name for item in request.session.items for name in getattr(item, "fixturenames", ())}
    runs = {name: BackgroundRun(name, steps, tmp_path_factory.mktemp(name))
            for name, steps in BACKGROUND_RUNS.items() if name in wanted}
    for run in runs.values():
        run.start()
    yield runs
    for run in runs.values():  # the session has ended: end whatever still runs
        run.stop()


@pytest.fixture(scope="session")
def tiny_run(_background_runs) -> Path:
    """The tiny pipeline, run once per test session; tests must not modify its results."""
    return _background_runs["tiny_run"].result()


@pytest.fixture(scope="session")
def libraries_run(_background_runs) -> dict:
    """Two libraries A and B through the pipeline (see _libraries_run): results, files, config."""
    return _background_runs["libraries_run"].result()


@pytest.fixture(scope="session")
def repeats_run(_background_runs) -> Path:
    """Results of the tiny data with CNN trained as 2 repeats (seeds 42, 43) and CNN_SEEDS (see _repeats_run)."""
    return _background_runs["repeats_run"].result()


@pytest.fixture(scope="session")
def folds_run(_background_runs) -> Path:
    """Results of the tiny data under split.folds: 3 with RIDGE, CNN and BPE (see _folds_run)."""
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
    """A second run of the tiny pipeline from scratch whose CNN job was killed and resumed (see _resumed_run):
    its results folder, the CNN checkpoint's path, what the kill left, and the CNN's configured epochs."""
    return _background_runs["resumed_run"].result()


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models gain nothing from a second thread, and on a busy 2-core machine two OpenMP threads
    spin-wait on each other (measured: 20x slower steps)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
