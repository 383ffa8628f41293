"""Cluster requests sized from measurement (decaylm/resources.py) and the SLURM pre-flight without a
cluster: sinfo and scontrol text as SLURM prints it, the check of a dry run's jobs against it, and the
pending reasons that stop a run. The cluster itself: tests/test_slurm.py."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from decaylm.resources import (MIN_MEM_MB, MIN_RUNTIME, PROFILES, PlannedJob, add_partition_limits, check_jobs,
                               job_request, never_starts, parse_gres, parse_minutes, parse_sinfo, request_for)
from tests.helpers.configs import workflow_config
from tests.helpers.paths import REPO, TINY_CONFIG

MAX_FACTOR = 4.0  # docs/slurm.md: no request above 4x the measured memory, unless it is the floor

# `sinfo --Node --noheader --format="%P|%l|%N|%c|%m|%G"`: a default CPU partition of two kinds of node, a GPU
# partition with a time limit, and a node in both.
SINFO = """\
cpu*|infinite|c1|2|16000|(null)
cpu*|infinite|c2|8|64000|(null)
gpu|1-00:00:00|g1|16|128000|gpu:a100:4(S:0-1)
gpu|1-00:00:00|c2|8|64000|(null)
"""
SCONTROL = ("PartitionName=cpu AllowGroups=ALL Default=YES MaxTime=UNLIMITED MaxCPUsPerNode=4 "
            "MaxMemPerNode=UNLIMITED State=UP TotalCPUs=10\n"
            "PartitionName=gpu AllowGroups=ALL Default=NO MaxTime=1-00:00:00 MaxCPUsPerNode=UNLIMITED "
            "MaxMemPerNode=100000 State=UP\n")


def partitions():
    parts = parse_sinfo(SINFO)
    add_partition_limits(parts, SCONTROL)
    return parts


# ------------------------------------------------------------------ sizing


def test_every_measured_job_gets_at_least_its_use_and_at_most_a_few_times_its_memory():
    """The request of each measured job (the benchmark files in PROFILES) at the size it ran at: never
    under its peak memory or its CPU time, and not over MAX_FACTOR times the memory that the jobs of its
    profile used at that size, unless the request is the floor."""
    checked = 0
    for name, profile in PROFILES.items():
        most: dict = {}
        for m in profile.measured:
            key = tuple(sorted(m.size.items()))
            most[key] = max(m.mem_mb, most.get(key, 0))
        for m in profile.measured:
            req = request_for(name, m.size)
            assert req.mem_mb >= m.mem_mb, (name, m)
            assert req.mem_mb <= max(MIN_MEM_MB, MAX_FACTOR * most[tuple(sorted(m.size.items()))]), (name, m, req)
            if m.seconds is not None:
                assert req.runtime * 60 >= m.seconds, (name, m, req.runtime)
            checked += 1
    assert checked >= 60


def test_requests_scale_with_reporters_epochs_and_model_size():
    """The estimated use (what the request is MEM_MARGIN and TIME_MARGIN times, above the floors) grows with
    the job's data and work."""
    small = workflow_config({"data": {"simulate": {"n_reporters": 4000}}})
    big = workflow_config({"data": {"simulate": {"n_reporters": 40000}}})
    longer = workflow_config({"models": {"CNN": {"epochs": 60}, "BERT_BPE": {"layers": 8, "hidden": 256,
                                                                            "intermediate": 1024}}})
    cnn, bert, kmer6 = {"model": "CNN"}, {"model": "BERT_BPE"}, {"model": "BERT_KMER6"}

    def use(config, wildcards):
        req = job_request(config, "train_model", wildcards)
        return req.use_mb, req.use_seconds

    assert use(big, kmer6)[0] > use(small, kmer6)[0]  # measured: 758 MB on 3,999 reporters, 993 MB on 12,322
    assert use(big, cnn)[0] >= use(small, cnn)[0]  # measured: no growth from 3,999 to 21,714
    assert use(big, cnn)[1] >= 5 * use(small, cnn)[1]
    assert use(longer, cnn)[1] >= 3 * use(small, cnn)[1]
    assert use(longer, bert)[1] >= 10 * use(small, bert)[1]  # 4x the epochs and ~40x the cost per token
    assert job_request(big, "train_model", cnn).runtime > job_request(small, "train_model", cnn).runtime
    # a repeat, a fold or a learning-curve job of a model is sized as the model
    for job in ("CNN/repeat2", "CNN/fold1", "CNN/frac0.5"):
        assert job_request(small, "train_model", {"model": job}) == job_request(small, "train_model", cnn)


def test_floors_and_the_pretrained_row_without_weights():
    config = workflow_config()
    req = job_request(config, "provenance")
    assert (req.mem_mb, req.runtime) == (MIN_MEM_MB, MIN_RUNTIME)
    # offline (tests set HF_HUB_OFFLINE) and no local weights: the job writes "not run" in seconds
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    dnabert = job_request(config, "train_model", {"model": "DNABERT2"})
    assert dnabert.profile == "train:pretrained_not_run" and dnabert.mem_mb <= 1000


def test_an_unmeasured_tokenizer_kind_takes_the_most_of_its_measured_siblings():
    config = workflow_config({"tokenizers": {"k4": {"kind": "kmer", "k": 4, "overlapping": False}},
                              "models": {"B4": {"kind": "bert", "tokenizer": "k4"}}})
    req = job_request(config, "train_model", {"model": "B4"})
    siblings = [request_for(name, req.size) for name in PROFILES if name.startswith("train:bert:")]
    assert req.mem_mb == max(r.mem_mb for r in siblings)


# ------------------------------------------------------------------ what the partitions offer


def test_sinfo_and_scontrol_text_become_partitions():
    parts = partitions()
    assert set(parts) == {"cpu", "gpu"}
    cpu, gpu = parts["cpu"], parts["gpu"]
    assert cpu.default and not gpu.default
    assert cpu.time_limit is None and gpu.time_limit == 24 * 60
    assert [(n.name, n.cpus, n.mem_mb) for n in cpu.nodes] == [("c1", 2, 16000), ("c2", 8, 64000)]
    assert cpu.most() == (4, 64000)  # MaxCPUsPerNode=4 caps the 8-CPU node
    assert gpu.most() == (16, 100000)  # MaxMemPerNode=100000 caps the 128 GB node
    assert gpu.nodes[0].gpus == {"a100": 4, "": 4} and gpu.gpu_types() == {"a100"}


@pytest.mark.parametrize("text, minutes", [("infinite", None), ("UNLIMITED", None), ("30", 30), ("30:00", 30),
                                           ("2:00:00", 120), ("1-12:00:00", 2160), ("0:00:30", 1)])
def test_slurm_times(text, minutes):
    assert parse_minutes(text) == minutes


@pytest.mark.parametrize("text, gpus", [("(null)", {}), ("gpu:2", {"": 2}), ("gpu:v100:2(S:0),gpu:a100:1", {
    "v100": 2, "a100": 1, "": 3}), ("shard:8,gpu:1(IDX:0)", {"": 1})])
def test_gres(text, gpus):
    assert parse_gres(text) == gpus


def job(rule, mem_mb, threads=1, runtime=60, **resources):
    return PlannedJob(rule, threads, {"mem_mb": mem_mb, "runtime": runtime, **resources})


def test_check_names_each_rule_that_no_node_can_run_and_its_override():
    jobs = [job("train_bert", 8000), job("train_bert", 70000), job("train_cnn", 8000, threads=6),
            job("interpret_model", 2000, runtime=2000, slurm_partition="gpu"),
            job("train_cnn2", 2000, gpu=1), job("ok_list", 70000, slurm_partition="cpu,gpu"),
            job("nowhere", 100, slurm_partition="big")]
    lines = check_jobs(jobs, partitions())
    by_rule = {line.split(" ")[0]: line for line in lines}
    assert set(by_rule) == {"train_bert", "train_cnn", "interpret_model", "train_cnn2", "nowhere"}
    assert by_rule["train_bert"] == ("train_bert (1 job) asks for 70000 MB, 1 CPU, 60 min; partition cpu has at "
                                     "most 64000 MB and 4 CPUs per node, no time limit: "
                                     "--set-resources train_bert:mem_mb=64000")
    assert "6 CPUs" in by_rule["train_cnn"] and by_rule["train_cnn"].endswith("--set-threads train_cnn=4")
    assert by_rule["interpret_model"].endswith("--set-resources interpret_model:runtime=1440")
    assert by_rule["train_cnn2"].endswith("--set-resources train_cnn2:slurm_partition=gpu")
    assert "partition big does not exist" in by_rule["nowhere"]
    assert all("\n" not in line for line in lines)
    assert check_jobs([job("train_bert", 8000)], partitions()) == []


def test_pending_reasons_that_never_resolve():
    assert never_starts("PartitionConfig")
    assert never_starts("MaxMemPerLimit")
    assert never_starts("QOSMaxWallDurationPerJobLimit")
    assert never_starts("InvalidAccount")
    assert not never_starts("Resources") and not never_starts("Priority") and not never_starts("None")
    assert not never_starts("QOSMaxJobsPerUserLimit")  # the user's other jobs end: it resolves
    assert not never_starts("ReqNodeNotAvail, UnavailableNodes:c1", known_nodes={"c1"})  # down, may come back


# ------------------------------------------------------------------ the pre-flight on the pipeline's dry run


@pytest.fixture(scope="module")
def tiny_slurm_jobs(tmp_path_factory):
    """The cluster jobs of config/tiny.yaml with profiles/slurm, as `make slurm` would submit them (the dry
    run in a process of its own: Snakemake sets up logging and the environment of its process)."""
    results = tmp_path_factory.mktemp("slurm_check") / "results"
    script = ("import json, sys; from dataclasses import asdict; from decaylm.resources import planned_jobs; "
              "print(json.dumps([asdict(j) for j in planned_jobs(sys.argv[1:])], default=str))")
    done = subprocess.run([sys.executable, "-c", script, "--profile", "profiles/slurm", "--workflow-profile", "none",
                           "--configfile", str(TINY_CONFIG), "--config", f"results={results}"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return [PlannedJob(**fields) for fields in json.loads(done.stdout)]


def test_the_pipeline_fits_a_node_of_2_cpus_and_16_gb(tiny_slurm_jobs):
    rules = {j.rule for j in tiny_slurm_jobs}
    assert {"train_cnn", "train_bert", "pretrain_mlm", "interpret_model"} <= rules
    assert not rules & {"split_data", "compare_models", "evaluate_model"}  # localrules run beside Snakemake
    small_node = parse_sinfo("debug*|infinite|n1|2|16000|(null)\n")
    assert check_jobs(tiny_slurm_jobs, small_node) == []
    assert all(j.cpus == 1 and j.mem_mb <= 8000 for j in tiny_slurm_jobs)


def test_slurm_check_stops_in_one_line_per_rule_on_a_small_partition(tmp_path):
    """`decaylm slurm-check` with a fake sinfo and scontrol (a partition of 1 GB and 15 minutes): one line
    per rule that does not fit, exit status 1. (With room for every job it exits 0: tests/test_slurm.py.)"""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()

    def fake(name, text):
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\ncat <<'EOF'\n{text}EOF\n")
        path.chmod(path.stat().st_mode | stat.S_IEXEC)

    args = [sys.executable, "-m", "decaylm", "slurm-check", "--profile", "profiles/slurm", "--workflow-profile",
            "none", "--configfile", str(TINY_CONFIG), "--config", f"results={tmp_path / 'results'}", "--", "all"]
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    fake("scontrol", "PartitionName=small MaxCPUsPerNode=UNLIMITED MaxMemPerNode=1000\n")
    fake("sinfo", "small*|15:00|n1|2|16000|(null)\n")
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    rules = [line.split(" ")[0] for line in lines]
    assert len(rules) == len(set(rules)) and "train_bert" in rules and "interpret_model" in rules, lines
    for line in lines:
        assert "asks for" in line
        assert "; partition small has at most 1000 MB and 2 CPUs per node, 15 min per job: " in line
        assert line.count("--set-resources") == 1 and f" {line.split()[0]}:mem_mb=1000" in line
