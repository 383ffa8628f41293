"""Runs workflows on a real one-node SLURM cluster (tests/slurm_cluster.py) through
snakemake-executor-plugin-slurm and profiles/slurm, and checks that every job ran as a
SLURM job.

Needs root and Debian's slurmctld, slurmd, slurm-client and munge (`make system-deps`);
skipped with the reason otherwise, except on CI (CI set) as root, where Slurm missing is
a failure: there `make test` has installed it.

The test cluster differs from a real one only where it has to: one node with this machine's
CPUs and 80% of its memory, so the profile's cpus_per_task and mem_mb are capped to fit (by a second profile layered on top of
profiles/slurm, which is otherwise used as it is: executor, status command, job name
prefix, retries, GPU requests...). Its one "GPU" is /dev/null: `gpu: 1` jobs are scheduled
as GPU jobs and train on the CPU.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from tests.slurm_cluster import TMP_MARK, SlurmCluster, die_with_parent, missing_binaries, usable

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "profiles" / "slurm"
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+)")
MEM_CAP_MB = 3000  # per job on the test node


@pytest.fixture(scope="module")
def cluster():
    ok, why = usable()
    if not ok:
        if os.environ.get("CI") and os.geteuid() == 0 and missing_binaries():
            pytest.fail(f"on CI `make system-deps` should have installed Slurm: {why}")
        pytest.skip(why)
    # Not pytest's tmp_path: munged wants o+x on every folder above its socket, and
    # /tmp/pytest-of-root is 0700.
    root = Path(tempfile.mkdtemp(prefix=TMP_MARK))
    c = SlurmCluster(root)
    try:
        started = time.monotonic()
        c.start()  # stops what it started if it fails
        c.startup_seconds = time.monotonic() - started
        yield c
    finally:
        c.stop()
        shutil.rmtree(root, ignore_errors=True)


def overlay_profile(dest: Path, cluster: SlurmCluster) -> Path:
    """A profile to give after profiles/slurm: the same resources, capped to the test node."""
    prof = yaml.safe_load((PROFILE / "config.yaml").read_text())
    cpus = cluster.cpus

    def fit(res: dict) -> dict:
        res = dict(res)
        if "cpus_per_task" in res:
            res["cpus_per_task"] = min(int(res["cpus_per_task"]), cpus)
        # Also over the rules' own mem_mb (rules/models.smk asks up to 32 GB).
        res["mem_mb"] = min(int(res.get("mem_mb", MEM_CAP_MB)), MEM_CAP_MB)
        return res

    overlay = {
        "default-resources": fit(prof["default-resources"]),
        "set-resources": {rule: fit(res) for rule, res in prof["set-resources"].items()},
        # The same torch thread count as the local run (one per job): floating-point sums, and so the
        # predictions compared byte for byte, depend on how many threads share the work.
        "set-threads": {rule: 1 for rule in prof.get("set-threads", {})},
        # The plugin's first status check comes 40 s after a submission by default.
        "slurm-init-seconds-before-status-checks": 2,
    }
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "config.yaml").write_text(yaml.safe_dump(overlay, sort_keys=False))
    return dest


def workflow_copy(dest: Path) -> Path:
    """The repository's files as a clone of the working tree would have them (tracked and
    untracked-but-not-ignored files: no .venv, results or .snakemake)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=REPO, capture_output=True)
    if listed.returncode == 0:
        for name in filter(None, listed.stdout.decode().split("\0")):
            src = REPO / name
            if src.is_file():  # not a tracked file deleted in the work tree
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest / name)
    else:  # not a git checkout
        shutil.copytree(REPO, dest, symlinks=True, ignore=shutil.ignore_patterns(
            ".git", ".venv", "results", ".snakemake", "__pycache__", ".pytest_cache"))
    return dest


class Snakemake:
    """A snakemake run in its own session, output to `log`; on timeout that session (ours)
    is ended."""

    def __init__(self, args: list[str], cwd: Path, env: dict, log: Path):
        self.log = log
        with open(log, "w") as out:
            self.proc = subprocess.Popen(
                [str(SNAKEMAKE), *args], cwd=cwd, env=env, stdout=out,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                # the cluster dies with the test too: nothing to wait for
                preexec_fn=die_with_parent(signal.SIGKILL))
        self.started = time.monotonic()
        self.seconds = 0.0

    def wait(self, timeout: float) -> tuple[int, str]:
        try:
            rc = self.proc.wait(timeout=max(1.0, self.started + timeout - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGINT)  # snakemake then scancels its jobs
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            rc = -1
        self.seconds = time.monotonic() - self.started
        return rc, self.log.read_text()

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def run_snakemake(args: list[str], cwd: Path, env: dict, log: Path,
                  timeout: float) -> tuple[int, str]:
    return Snakemake(args, cwd, env, log).wait(timeout)


def slurm_args(overlay: Path) -> list[str]:
    return ["--profile", str(PROFILE), "--profile", str(overlay),
            "--workflow-profile", "none"]


def check_all_jobs_ran_on_slurm(cluster: SlurmCluster, text: str, n_jobs: int) -> dict:
    """Every job was submitted once (no retry), allocated by slurmctld and completed;
    returns {snakemake job id: slurm job id}."""
    pairs = SUBMITTED.findall(text)
    assert len(pairs) == n_jobs, text[-4000:]
    submitted = dict(pairs)
    assert len(submitted) == n_jobs, text[-4000:]
    slurm_ids = set(submitted.values())
    assert len(slurm_ids) == n_jobs
    assert slurm_ids <= set(cluster.allocated_job_ids()), cluster.diagnostics()
    for jid in slurm_ids:
        info = cluster.job_info(jid)
        assert info.get("JobState") == "COMPLETED", info
        assert info.get("JobName", "").startswith("decaylm_"), info  # profile's prefix
    return submitted


TOY_SNAKEFILE = r'''
localrules: all

rule all:
    input: "out/a.txt", "out/train_cnn.txt", "out/c.txt"

rule a:
    output: "out/a.txt"
    shell: "echo a $SLURM_JOB_ID > {output}"

# Named like a training rule, so profiles/slurm gives it a GPU and more CPUs.
rule train_cnn:
    output: "out/train_cnn.txt"
    shell: "echo train_cnn $SLURM_JOB_ID ${{CUDA_VISIBLE_DEVICES:-nogpu}} > {output}"

rule c:
    input: "out/a.txt"
    output: "out/c.txt"
    shell: "echo c $SLURM_JOB_ID > {output}"
'''


def test_toy_workflow_runs_every_job_on_slurm(cluster, tmp_path):
    work = tmp_path / "toy"
    work.mkdir()
    (work / "Snakefile").write_text(TOY_SNAKEFILE)
    overlay = overlay_profile(tmp_path / "overlay", cluster)
    started = time.monotonic()
    rc, text = run_snakemake(slurm_args(overlay), work, cluster.env(), tmp_path / "toy.log",
                             timeout=600)
    seconds = time.monotonic() - started
    assert rc == 0, text[-6000:] + "\n" + cluster.diagnostics()
    submitted = check_all_jobs_ran_on_slurm(cluster, text, 3)

    ran = {}
    for name in ("a", "train_cnn", "c"):
        rule, *ids = (work / "out" / f"{name}.txt").read_text().split()
        ran[rule] = ids
    # Each rule's shell ran inside its own SLURM job, and those are the submitted ones.
    assert {ids[0] for ids in ran.values()} == set(submitted.values())
    assert ran["train_cnn"][1] == "0"  # the GPU that SLURM gave the training rule
    assert cluster.job_info(ran["train_cnn"][0]).get("JOB_GRES") == "gpu:1"
    assert cluster.job_info(ran["a"][0]).get("JOB_GRES", "(null)") == "(null)"
    print(f"\ncluster start {cluster.startup_seconds:.1f} s, toy workflow {seconds:.1f} s")


TINY = REPO / "config" / "tiny.yaml"
# "rule NAME:" (a SLURM job) or "localrule NAME:" (run by Snakemake itself), then its jobid.
JOB_HEADER = re.compile(r"^(local)?rule (\w+):\n(?:    .*\n)*?    jobid: (\d+)$", re.M)


@pytest.mark.slow
@pytest.mark.skipif(not (REPO / "Snakefile").exists() or not TINY.exists(),
                    reason="the pipeline (Snakefile, config/tiny.yaml) is not in the repository")
def test_tiny_pipeline_on_slurm_matches_local_run(cluster, tmp_path):
    """config/tiny.yaml end to end: every job a SLURM job, the training rules on the GPU
    the profile asks for, and comparison.tsv and every predictions.tsv byte-identical to a
    local run (both on the CPU, same seeds)."""
    results = "results_tiny"  # inside each copy
    tiny = ["--configfile", "config/tiny.yaml", "--config", f"results={results}"]
    # Two copies of the repository, run at the same time: the SLURM run mostly waits for
    # its status checks.
    local_dir = workflow_copy(tmp_path / "local")
    slurm_dir = workflow_copy(tmp_path / "slurm")
    overlay = overlay_profile(tmp_path / "overlay", cluster)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    runs = []
    try:
        local_run = Snakemake(["--cores", "2", *tiny], local_dir, env, tmp_path / "local.log")
        runs.append(local_run)
        slurm_run = Snakemake([*slurm_args(overlay), *tiny], slurm_dir, cluster.env(),
                              tmp_path / "slurm.log")
        runs.append(slurm_run)
        local_rc, local_log = local_run.wait(timeout=1800)  # usually done first
        rc, text = slurm_run.wait(timeout=1800)
    finally:
        for run in runs:  # after an error above; the cluster's teardown cancels its jobs
            run.kill()
    assert rc == 0, text[-8000:] + "\n" + cluster.diagnostics()
    assert local_rc == 0, local_log[-6000:]

    jobs = JOB_HEADER.findall(text)
    remote = {jobid: rule for local, rule, jobid in jobs if not local}
    assert remote, text[-4000:]
    submitted = check_all_jobs_ran_on_slurm(cluster, text, len(remote))
    assert set(submitted) == set(remote)
    gpu_rules = set(yaml.safe_load((PROFILE / "config.yaml").read_text())["set-resources"])
    trained = [jobid for jobid, rule in remote.items() if rule in gpu_rules]
    assert trained, f"no training rule ran: {sorted(set(remote.values()))}"
    for jobid in trained:
        info = cluster.job_info(submitted[jobid])
        assert info.get("JOB_GRES") == "gpu:1", (remote[jobid], info)

    local, slurm = local_dir / results, slurm_dir / results
    compared = [Path("comparison.tsv")] + sorted(
        p.relative_to(local) for p in (local / "models").rglob("predictions.tsv"))
    assert len(compared) > 1
    for rel in compared:
        assert (slurm / rel).read_bytes() == (local / rel).read_bytes(), rel
    print(f"\ncluster start {cluster.startup_seconds:.1f} s; tiny pipeline: local "
          f"{local_run.seconds:.1f} s, SLURM {slurm_run.seconds:.1f} s, at the same time "
          f"({len(remote)} SLURM jobs: "
          f"{', '.join(sorted(set(remote.values())))}; local rules: "
          f"{', '.join(sorted({r for loc, r, _ in jobs if loc})) or 'none'})")
