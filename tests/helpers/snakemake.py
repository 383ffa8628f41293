"""Running Snakemake from tests, one way: the command (`pipeline_args` for this repository's pipeline),
a run in the foreground (`run_snakemake`, `run`), a run in the background in its own process group
(`Background`, which `stop` ends with every job it started), and `BackgroundRun`, a thread of such
runs that the session starts early and a fixture waits for (tests/helpers/pipeline_runs.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.helpers.paths import REPO, TINY_CONFIG

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
TINY = str(TINY_CONFIG.relative_to(REPO))


def pipeline_args(*args: str, results, configfiles=(TINY,), cores: int = 2, config: dict | None = None) -> list[str]:
    """The arguments of a pipeline run on `configfiles` that writes under `results`; `config`: more
    --config settings (KEY=VALUE) after results."""
    # --nolock: test runs write disjoint results folders, and concurrent runs race on .snakemake/locks
    return [*args, "--nolock", "--cores", str(cores), "--configfile", *map(str, configfiles),
            "--config", f"results={results}", *(f"{key}={value}" for key, value in (config or {}).items())]


def run(args: list[str], cwd=REPO, env: dict | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    """Snakemake with `args`, in the foreground, from `cwd` (the repository: its default profile applies)."""
    return subprocess.run([*SNAKEMAKE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)


def run_snakemake(*args: str, results, configfiles=(TINY,), cores: int = 2, config: dict | None = None,
                  check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
    """The pipeline (see pipeline_args) in the foreground; with `check`, a failure is an AssertionError
    that shows the end of its output."""
    done = run(pipeline_args(*args, results=results, configfiles=configfiles, cores=cores, config=config),
               timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"snakemake failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    return done


class Background:
    """Snakemake with `args`, started now in a session (process group) of its own, its output to `log`."""

    def __init__(self, args: list[str], log: Path, cwd=REPO, env: dict | None = None, preexec_fn=None):
        self.log = Path(log)
        with open(self.log, "w") as out:  # the child keeps its own copy of the file
            self.process = subprocess.Popen([*SNAKEMAKE, *args], cwd=cwd, env=env, stdout=out,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True, preexec_fn=preexec_fn)
        self.started = time.monotonic()

    @property
    def pid(self) -> int:
        return self.process.pid

    def poll(self) -> int | None:
        return self.process.poll()

    def wait(self, timeout: float) -> int:
        """Its exit code; subprocess.TimeoutExpired if it runs on past `timeout` seconds from now."""
        return self.process.wait(timeout=timeout)

    def output(self) -> str:
        return self.log.read_text()

    def stop(self, grace: float = 0) -> None:
        """End it and every job it started, if still running: SIGINT first when given `grace` seconds
        (Snakemake then cancels its cluster jobs), SIGKILL after them or at once."""
        if self.process.poll() is not None:
            return
        if grace:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                pass
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


class BackgroundRun(threading.Thread):
    """`steps(run)` in a thread; `result()` waits for its value or raises its error. The steps start
    their Snakemakes with `run.snakemake(...)`, so that `stop()` ends them all."""

    def __init__(self, name: str, steps, folder: Path):
        super().__init__(name=name, daemon=True)
        self.steps, self.folder = steps, folder
        self.jobs: list[Background] = []
        self.stopped = threading.Event()
        self.value = self.error = None

    def snakemake(self, *args: str, results: Path, log: str, cores: int = 2, configfiles=(TINY,)) -> Background:
        """The pipeline started in the background, its output in `log` of the run's folder."""
        if self.stopped.is_set():
            raise RuntimeError("the test session has ended")
        job = Background(pipeline_args(*args, results=results, configfiles=configfiles, cores=cores), self.folder / log)
        self.jobs.append(job)
        return job

    def wait(self, job: Background, timeout: float = 1800) -> None:
        if job.wait(timeout) != 0:
            raise AssertionError(f"snakemake failed ({job.process.returncode}):\n{job.output()[-8000:]}")

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
            job.stop()
