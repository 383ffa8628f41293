"""Runs workflows on a real one-node SLURM cluster (tests/helpers/slurm_cluster.py) through
snakemake-executor-plugin-slurm and profiles/slurm (+ profiles/slurm-gpu), and checks that
every job ran as a SLURM job; and, without a cluster, what the two profiles make of the
training rules' resources (sbatch flags, by the plugin's own functions).

Needs root and Debian's slurmctld, slurmd, slurm-client and munge (`make system-deps`);
skipped with the reason otherwise, except on CI (CI set) as root, where Slurm missing is
a failure: there `make test` has installed it.

The test cluster differs from a real one only where it has to: one node with this machine's
CPUs and 80% of its memory. The profiles and the rules' requests (decaylm/resources.py) are used
as they are, through `decaylm slurm-check` / `slurm-run` as `make slurm` runs them; one more
profile on top only makes the plugin look at its jobs sooner. It runs in two forms, one after
the other: "no-gres", a CPU-only cluster without GRES as Debian's Slurm is out of the box
(profiles/slurm must work there, and a GPU request is refused), with a second partition too
small for the pipeline ("small": 500 MB per node, 5 minutes); and "gpu", with one fake GPU
whose device is /dev/null (profiles/slurm-gpu's jobs are scheduled as GPU jobs and train on
the CPU).
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
from types import SimpleNamespace

import pytest
import yaml

from tests.helpers import snakemake
from tests.helpers.paths import REPO, TINY_CONFIG
from tests.helpers.slurm_cluster import TMP_MARK, SlurmCluster, die_with_parent, missing_binaries, usable

PROFILE = REPO / "profiles" / "slurm"
GPU_PROFILE = REPO / "profiles" / "slurm-gpu"
CPU_PROFILES = (PROFILE,)  # `make slurm`
GPU_PROFILES = (PROFILE, GPU_PROFILE)  # `make slurm-gpu`: the GPU profile goes on top
TRAINING_RULES = {"train_cnn", "train_bert", "pretrain_mlm", "finetune_pretrained"}
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+)")
SMALL = "small MaxMemPerNode=500 MaxTime=5"  # a partition of the no-gres cluster that no pipeline job fits


@pytest.fixture(scope="module")
def cluster(request):
    """The one-node cluster; `request.param` (indirect parametrization) is "no-gres" (the
    default) or "gpu". pytest groups the tests by it and stops one before starting the
    other."""
    kind = getattr(request, "param", "no-gres")
    assert kind in ("no-gres", "gpu"), kind
    ok, why = usable()
    if not ok:
        if os.environ.get("CI") and os.geteuid() == 0 and missing_binaries():
            pytest.fail(f"on CI `make system-deps` should have installed Slurm: {why}")
        pytest.skip(why)
    # Not pytest's tmp_path: munged wants o+x on every folder above its socket, and
    # /tmp/pytest-of-root is 0700.
    root = Path(tempfile.mkdtemp(prefix=TMP_MARK))
    c = SlurmCluster(root, fake_gpu=kind == "gpu", extra_partitions=(SMALL,) if kind == "no-gres" else ())
    c.kind = kind
    try:
        started = time.monotonic()
        c.start()  # stops what it started if it fails
        c.startup_seconds = time.monotonic() - started
        yield c
    finally:
        c.stop()
        shutil.rmtree(root, ignore_errors=True)


def overlay_profile(dest: Path) -> Path:
    """A profile to give after the profiles under test: the plugin's first status check 2 s after a
    submission (40 s by default). Nothing else: the jobs ask for what the rules and profiles ask for."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "config.yaml").write_text(yaml.safe_dump({"slurm-init-seconds-before-status-checks": 2}))
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


class Snakemake(snakemake.Background):
    """A snakemake run on the cluster (a Background run from `cwd`, output to `log`), killed if the
    test process dies; past its timeout it is interrupted first, so that it cancels its SLURM jobs."""

    def __init__(self, args: list[str], cwd: Path, env: dict, log: Path):
        # the cluster dies with the test too: nothing to wait for
        super().__init__(args, log, cwd=cwd, env=env, preexec_fn=die_with_parent(signal.SIGKILL))
        self.seconds = 0.0

    def finish(self, timeout: float) -> tuple[int, str]:
        """(exit code, output) within `timeout` seconds of its start; -1 when it ran past them."""
        try:
            rc = self.wait(timeout=max(1.0, self.started + timeout - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.stop(grace=30)
            rc = -1
        self.seconds = time.monotonic() - self.started
        return rc, self.output()


class Decaylm(Snakemake):
    """`python -m decaylm ARGS` (slurm-check, slurm-run) in the background, as Snakemake above."""

    def __init__(self, args: list[str], cwd: Path, env: dict, log: Path):
        self.log = Path(log)
        with open(self.log, "w") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "decaylm", *args], cwd=cwd, env=env, stdout=out,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True, preexec_fn=die_with_parent(signal.SIGKILL))
        self.started = time.monotonic()
        self.seconds = 0.0


def run_snakemake(args: list[str], cwd: Path, env: dict, log: Path,
                  timeout: float) -> tuple[int, str]:
    return Snakemake(args, cwd, env, log).finish(timeout)


def slurm_args(overlay: Path, profiles=CPU_PROFILES) -> list[str]:
    args = []
    for prof in (*profiles, overlay):
        args += ["--profile", str(prof)]
    return [*args, "--workflow-profile", "none"]


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
    shell: "echo a $SLURM_JOB_ID ${{CUDA_VISIBLE_DEVICES:-nogpu}} > {output}"

# Named like a training rule, so the profiles give it more CPUs (and profiles/slurm-gpu a GPU).
rule train_cnn:
    output: "out/train_cnn.txt"
    shell: "echo train_cnn $SLURM_JOB_ID ${{CUDA_VISIBLE_DEVICES:-nogpu}} > {output}"

rule c:
    input: "out/a.txt"
    output: "out/c.txt"
    shell: "echo c $SLURM_JOB_ID ${{CUDA_VISIBLE_DEVICES:-nogpu}} > {output}"
'''


def toy_workflow(dest: Path) -> Path:
    dest.mkdir()
    (dest / "Snakefile").write_text(TOY_SNAKEFILE)
    return dest


def no_gres(info: dict) -> bool:
    return info.get("JOB_GRES", "(null)") == "(null)"


def run_toy_workflow(cluster: SlurmCluster, profiles, names: list[str], tmp_path: Path) -> None:
    """The toy workflow's jobs `names` with these profiles: each a SLURM job, and only
    train_cnn with a GPU, when profiles/slurm-gpu is among them."""
    work = toy_workflow(tmp_path / "toy")
    overlay = overlay_profile(tmp_path / "overlay")
    targets = [f"out/{name}.txt" for name in names]
    started = time.monotonic()
    rc, text = run_snakemake([*slurm_args(overlay, profiles), *targets], work, cluster.env(),
                             tmp_path / "toy.log", timeout=600)
    seconds = time.monotonic() - started
    assert rc == 0, text[-6000:] + "\n" + cluster.diagnostics()
    submitted = check_all_jobs_ran_on_slurm(cluster, text, len(names))

    ran = {}
    for name in names:
        rule, *ids = (work / "out" / f"{name}.txt").read_text().split()
        ran[rule] = ids
    # Each rule's shell ran inside its own SLURM job, and those are the submitted ones.
    assert {ids[0] for ids in ran.values()} == set(submitted.values())
    for rule, (jobid, gpu) in ran.items():
        info = cluster.job_info(jobid)
        if rule == "train_cnn" and GPU_PROFILE in profiles:
            assert gpu == "0", ran  # the GPU that SLURM gave the training rule
            assert info.get("JOB_GRES") == "gpu:1", info
        else:
            assert gpu == "nogpu", ran
            assert no_gres(info), info
    print(f"\ncluster ({cluster.kind}) start {cluster.startup_seconds:.1f} s, toy workflow "
          f"with {' + '.join(p.name for p in profiles)} {seconds:.1f} s")


# The tests that use the cluster, in the order they run: first those on the cluster without
# GRES, then the one on the GPU cluster (pytest keeps file order here; one cluster each).
@pytest.mark.parametrize("cluster", ["no-gres"], indirect=True)
def test_toy_workflow_runs_every_job_on_slurm(cluster, tmp_path):
    """`make slurm` on a CPU-only cluster: the whole toy workflow, no GPU anywhere."""
    run_toy_workflow(cluster, CPU_PROFILES, ["a", "train_cnn", "c"], tmp_path)


@pytest.mark.parametrize("cluster", ["no-gres"], indirect=True)
def test_gpu_request_is_refused_by_a_cluster_without_gres(cluster, tmp_path):
    """What users of a CPU-only cluster saw when the profile asked for GPUs, and why
    profiles/slurm asks for none: the GPU profile's training job is refused at submission
    and the workflow stops (the same cluster runs profiles/slurm's jobs, above and below)."""
    work = toy_workflow(tmp_path / "toy")
    overlay = overlay_profile(tmp_path / "overlay")
    rc, text = run_snakemake([*slurm_args(overlay, GPU_PROFILES), "out/train_cnn.txt"], work,
                             cluster.env(), tmp_path / "toy.log", timeout=300)
    assert rc != 0, text[-4000:]
    assert "SLURM sbatch failed" in text, text[-4000:]
    assert "Invalid generic resource (gres) specification" in text, text[-4000:]
    assert " --gpus=1" in text, text[-4000:]  # the plugin's sbatch call, in the error
    assert not SUBMITTED.findall(text)
    assert not (work / "out" / "train_cnn.txt").exists()


@pytest.mark.parametrize("cluster", ["no-gres"], indirect=True)
def test_preflight_stops_a_run_on_a_partition_too_small(cluster, tmp_path):
    """`make slurm` on the partition "small" (500 MB per node, 5 minutes): `decaylm slurm-run` stops before
    Snakemake starts, with one line per rule that names what it asks, what the partition has and the
    override; nothing is submitted."""
    overlay = overlay_profile(tmp_path / "overlay")
    args = ["slurm-run", *slurm_args(overlay), "--configfile", "config/tiny.yaml", "--config",
            f"results={tmp_path / 'results'}", "--default-resources", "slurm_partition=small"]
    rc, text = Decaylm(args, REPO, cluster.env(), tmp_path / "check.log").finish(timeout=300)
    assert rc == 1, text[-4000:]
    lines = text.strip().splitlines()
    assert lines and all(" asks for " in line and "; partition small has at most 500 MB and " in line
                         and " per node, 5 min per job: --set-resources " in line for line in lines), text[-4000:]
    rules = [line.split(" ")[0] for line in lines]
    assert len(rules) == len(set(rules)) and TRAINING_RULES <= set(rules), rules
    assert not SUBMITTED.findall(text) and "Building DAG" not in text
    assert not cluster._run("squeue", "--noheader").stdout.strip()


def watched_toy_run(cluster: SlurmCluster, tmp_path: Path, watch_seconds: float) -> Decaylm:
    """`decaylm slurm-run` (no pre-flight) of the toy workflow's train_cnn with 64 threads: the plugin asks
    64 CPUs of a node that has fewer, and the job pends for ever (Reason=PartitionConfig)."""
    work = toy_workflow(tmp_path / "toy")
    overlay = overlay_profile(tmp_path / "overlay")
    args = ["slurm-run", "--no-check", "--watch-seconds", str(watch_seconds), *slurm_args(overlay),
            "--set-threads", "train_cnn=64", "--", "out/train_cnn.txt"]
    return Decaylm(args, work, cluster.env(), tmp_path / "toy.log")


def slurm_job_of(run: Decaylm, timeout: float = 120) -> str:
    """The SLURM job id of the run's one job, once submitted."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = SUBMITTED.findall(run.output())
        if found:
            return found[0][1]
        assert run.poll() is None, run.output()[-4000:]
        time.sleep(0.5)
    raise AssertionError(run.output()[-4000:])


@pytest.mark.parametrize("cluster", ["no-gres"], indirect=True)
def test_a_job_that_can_never_start_stops_the_run_in_one_line(cluster, tmp_path):
    run = watched_toy_run(cluster, tmp_path, watch_seconds=3)
    try:
        jobid = slurm_job_of(run)
        rc, text = run.finish(timeout=180)
    finally:
        run.stop(grace=30)
    said = [line for line in text.splitlines() if "can never start" in line]
    assert rc != 0 and len(said) == 1, text[-4000:]
    assert said[0].startswith(f"decaylm: SLURM job {jobid} (rule train_cnn) can never start: Reason=PartitionConfig")
    assert run.seconds < 120, run.seconds
    assert cluster.job_info(jobid).get("JobState") == "CANCELLED", cluster.job_info(jobid)
    print(f"\nnever-starting job stopped the run in {run.seconds:.1f} s")


@pytest.mark.parametrize("cluster", ["no-gres"], indirect=True)
def test_ctrl_c_cancels_the_runs_jobs(cluster, tmp_path):
    """SIGINT to `decaylm slurm-run` (Ctrl-C in its terminal) while its job pends: the job is cancelled and
    the run ends (the watcher is slowed down here so that it does not act first)."""
    run = watched_toy_run(cluster, tmp_path, watch_seconds=600)
    try:
        jobid = slurm_job_of(run)
        os.kill(run.pid, signal.SIGINT)
        rc, text = run.finish(timeout=120)
    finally:
        run.stop(grace=30)
    assert rc != 0, text[-4000:]
    assert "can never start" not in text
    assert cluster.job_info(jobid).get("JobState") == "CANCELLED", (cluster.job_info(jobid), text[-4000:])


# "rule NAME:" (a SLURM job) or "localrule NAME:" (run by Snakemake itself), then its jobid.
JOB_HEADER = re.compile(r"^(local)?rule (\w+):\n(?:    .*\n)*?    jobid: (\d+)$", re.M)
# A job in a dry run's listing: "rule NAME:" and its indented lines (resources:, threads:...).
DRY_RUN_JOB = re.compile(r"^(?:local)?rule (\w+):\n((?:    .*\n)*)", re.M)
needs_pipeline = pytest.mark.skipif(
    not (REPO / "Snakefile").exists() or not TINY_CONFIG.exists(),
    reason="the pipeline (Snakefile, config/tiny.yaml) is not in the repository")


# One row per training rule of config/tiny.yaml (train_kmer_ridge, train_cnn, train_tokenizer, pretrain_mlm,
# train_bert, finetune_pretrained): what `make slurm` must get through on any cluster. Fewer rows than
# the whole tiny run: each SLURM job waits for the plugin's status checks, and these cover every rule.
SLURM_ROWS = ("KMER_RIDGE", "CNN", "BERT_BPE_MLM", "DNABERT2")
SLURM_TINY: dict = {}  # the SLURM run's results, compared with the session's local tiny run at its end


@pytest.mark.slow
@needs_pipeline
@pytest.mark.parametrize("cluster", ["no-gres"], indirect=True)
def test_tiny_pipeline_on_slurm(cluster, tmp_path):
    """config/tiny.yaml's rows of every training rule with profiles/slurm as `make slurm` uses it
    (`decaylm slurm-run`), on a cluster without GRES (CPU-only), with the requests as the rules make them
    (no override): every job of a non-local rule a SLURM job (the Snakefile's localrules, seconds of
    data preparation and scoring, run beside Snakemake), none with a GPU. Its predictions are compared
    with the local run's by test_slurm_predictions_match_the_local_run."""
    results = "results_tiny"  # inside the copy
    targets = [f"{results}/models/{row}/metrics.json" for row in SLURM_ROWS]
    tiny = ["--configfile", "config/tiny.yaml", "--config", f"results={results}", "--", *targets]
    slurm_dir = workflow_copy(tmp_path / "slurm")
    overlay = overlay_profile(tmp_path / "overlay")
    # as `make slurm` runs it: the pre-flight, then Snakemake watched for jobs that can never start
    slurm_run = Decaylm(["slurm-run", *slurm_args(overlay), *tiny], slurm_dir, cluster.env(), tmp_path / "slurm.log")
    try:
        rc, text = slurm_run.finish(timeout=1800)
    finally:
        slurm_run.stop()  # after an error above; the cluster's teardown cancels its jobs
    assert rc == 0, text[-8000:] + "\n" + cluster.diagnostics()
    assert "decaylm slurm-check: every job fits its partition" in text, text[:4000]

    jobs = JOB_HEADER.findall(text)
    remote = {jobid: rule for local, rule, jobid in jobs if not local}
    assert remote, text[-4000:]
    assert {rule for local, rule, _ in jobs if local} == {"simulate_data", "normalize_expression", "compute_target",
                                                         "split_data", "evaluate_model"}
    submitted = check_all_jobs_ran_on_slurm(cluster, text, len(remote))
    assert set(submitted) == set(remote)
    trained = TRAINING_RULES & set(remote.values())
    assert trained == TRAINING_RULES, f"training rules that ran: {sorted(trained)}"
    for jobid, rule in remote.items():
        info = cluster.job_info(submitted[jobid])
        assert no_gres(info), (rule, info)
    SLURM_TINY["results"] = slurm_dir / results
    print(f"\ncluster ({cluster.kind}) start {cluster.startup_seconds:.1f} s; tiny rows: "
          f"SLURM {slurm_run.seconds:.1f} s ({len(remote)} SLURM jobs: "
          f"{', '.join(sorted(set(remote.values())))}; local rules: "
          f"{', '.join(sorted({r for loc, r, _ in jobs if loc})) or 'none'})")


def test_slurm_predictions_match_the_local_run(tiny_run):
    """The rows trained on SLURM predict byte for byte what the session's local tiny run predicts (same
    seeds): the cluster changes where a job runs, not what it computes."""
    if "results" not in SLURM_TINY:
        pytest.skip("test_tiny_pipeline_on_slurm did not finish (skipped or failed: see it)")
    slurm = SLURM_TINY["results"]
    for row in SLURM_ROWS:
        rel = Path("models") / row / "predictions.tsv"
        assert (slurm / rel).read_bytes() == (tiny_run / rel).read_bytes(), rel


@pytest.mark.parametrize("cluster", ["gpu"], indirect=True)
def test_gpu_profile_gets_a_gpu_on_a_gpu_cluster(cluster, tmp_path):
    """`make slurm-gpu` on a cluster with a GPU: the training rule is allocated it, `a`
    is not (two independent jobs: one round of status checks, not three)."""
    run_toy_workflow(cluster, GPU_PROFILES, ["a", "train_cnn"], tmp_path)


# ------------------------------------------------------------------ no cluster needed
def dry_run_jobs(profiles, tmp_path: Path) -> list[tuple[str, dict, int]]:
    """(rule, resources, threads) of every job of config/tiny.yaml in a dry run with these
    profiles (none: the rules' own resources), as Snakemake resolves them."""
    args = ["-n", "--workflow-profile", "none", "--configfile", "config/tiny.yaml",
            "--config", f"results={tmp_path / 'results'}"]
    for prof in profiles:
        args += ["--profile", str(prof)]
    if not profiles:
        args += ["--cores", "1"]
    done = snakemake.run(args, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    jobs = []
    for rule, body in DRY_RUN_JOB.findall(done.stdout):
        fields = dict(re.findall(r"^    (\w+): (.*)$", body, re.M))
        resources = {}
        for item in fields.get("resources", "").split(", "):
            key, _, value = item.partition("=")
            resources[key] = int(value) if value.isdigit() else value
        jobs.append((rule, resources, int(fields.get("threads", 1))))
    assert TRAINING_RULES <= {rule for rule, _, _ in jobs}, done.stdout[-4000:]
    return jobs


class _Resources(dict):
    """A job's resources as the plugin reads them: `.get(name)` and `.name`."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def sbatch_flags(rule: str, resources: dict, threads: int) -> str:
    """The sbatch options that snakemake-executor-plugin-slurm builds for such a job (its
    get_submit_command and set_gres_string, as in its run_job), minus the fixed ones."""
    from snakemake_executor_plugin_slurm.submit_string import get_submit_command
    from snakemake_executor_plugin_slurm.utils import set_gres_string

    job = SimpleNamespace(name=rule, threads=threads, resources=_Resources(resources))
    params = {"run_uuid": "run", "slurm_logfile": "log", "comment_str": f"rule_{rule}",
              "account": "", "partition": "", "workdir": "."}
    return get_submit_command(job, params) + set_gres_string(job)


GPU_FLAG = re.compile(r"--(gpus|gres|gpus-per-\w+)[= ]")


@needs_pipeline
@pytest.mark.parametrize("profiles", [CPU_PROFILES, GPU_PROFILES], ids=["slurm", "slurm-gpu"])
def test_profiles_gpu_requests(profiles, tmp_path):
    """profiles/slurm asks for no GPU at all; profiles/slurm-gpu (on top of it) asks for one
    GPU for each of the four training rules (`--gpus=1`) and none for the other rules."""
    gpu_profile = GPU_PROFILE in profiles
    for rule, resources, threads in dry_run_jobs(profiles, tmp_path):
        flags = sbatch_flags(rule, resources, threads)
        assert "--cpus-per-task=1" in flags.split(), (rule, flags)  # the rule's threads, as measured
        if gpu_profile and rule in TRAINING_RULES:
            assert GPU_FLAG.findall(flags) == ["gpus"], (rule, flags)
            assert "--gpus=1" in flags.split(), (rule, flags)
        else:
            assert not GPU_FLAG.search(flags), (rule, flags)
            assert "--ntasks=1" in flags.split(), (rule, flags)  # the plugin's CPU job


@needs_pipeline
def test_rules_declare_no_gpu(tmp_path):
    """The GPU request belongs to profiles/slurm-gpu, not to the rules: a rule's gpu resource
    would reach every profile (and sbatch on a CPU-only cluster)."""
    gpu_keys = {"gpu", "gres", "gpu_model", "gpus"}
    for rule, resources, _ in dry_run_jobs((), tmp_path):
        assert not gpu_keys & set(resources), (rule, resources)
    # Rules outside the tiny DAG too: no such resource in any rule file.
    declared = re.compile(r"^\s+(gpu|gres|gpu_model|gpus)\s*=", re.M)
    for smk in [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]:
        assert not declared.findall(smk.read_text()), smk
