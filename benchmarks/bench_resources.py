"""Each job's cluster request (decaylm/resources.py) against what it used, from a run's benchmark files.

For every benchmark file under RESULTS/benchmarks (Snakemake's `benchmark:` of each rule: max_rss, cpu_time), the
job's rule and wildcards are read off its path, its request is computed from the run's config (the
settings in RESULTS/provenance.json, with the specs of models run under other configs from their
run.json), and one table row printed: request and measured memory and time, and their ratios. Time is the
job's CPU time: its wall time with a core to itself (each job runs one thread), which the wall time on a
loaded machine overstates (it is printed too).

    .venv/bin/python benchmarks/bench_resources.py results              # the default run (`make run`)
    .venv/bin/python benchmarks/bench_resources.py results/library --check
    .venv/bin/python benchmarks/bench_resources.py RESULTS --by-rule    # one row per rule
    .venv/bin/python benchmarks/bench_resources.py RESULTS --measured   # the Measured(...) lines of PROFILES
    .venv/bin/python benchmarks/bench_resources.py --plan --configfile config/utrseq.yaml   # requests, no run

--plan prints what every rule of a run would ask for (a dry run with the Snakemake arguments that follow,
localrules included, done or not): the largest request of its jobs, and how many jobs.

--check exits 1 if a job used more than it asks for (memory or CPU time), or asks for more than MAX_FACTOR
times the memory it used (where its request is above the floor MIN_MEM_MB). --measured prints each job's use
and size as the lines of decaylm/resources.py's PROFILES take them (reporters: the rows of the run's
split.tsv).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
from pathlib import Path

import pandas as pd

# The measured runs had no hub weights: offline, the pretrained rows are sized as they ran ("not run").
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from decaylm.models.registry import KINDS  # noqa: E402
from decaylm.resources import MIN_MEM_MB, job_request, job_size, planned_jobs  # noqa: E402

MAX_FACTOR = 4.0
# benchmark file (relative to benchmarks/, without .tsv) -> rule, for the rules with one job per run
SINGLE = ("simulate_data", "normalize_expression", "compute_target", "target_variance", "joint_targets", "split_data",
          "library_split", "split_folds", "noise_ceiling", "compare_models", "compare_libraries", "provenance",
          "tokenizer_stats", "learning_curve")
COMBINING = {"ensemble": "ensemble_models", "repeat_ensemble": "repeat_ensemble"}


def run_config(results: Path) -> dict:
    record = json.loads((results / "provenance.json").read_text())
    settings = record["settings"]
    return ast.literal_eval(settings) if isinstance(settings, str) else settings


def model_rule(config: dict, results: Path, model: str) -> str:
    """The rule that made models/MODEL: its kind's training rule, or a combining rule."""
    name = model.split("/")[0]
    if name not in config["models"]:  # a row of another config (a tuning round): its spec is in run.json
        record = next(path for path in (results / "models" / model / "run.json", results / "models" / name / "run.json")
                      if path.exists())
        config["models"][name] = json.loads(record.read_text())["settings"]["spec"]
    kind = config["models"][name]["kind"]
    if kind in COMBINING:
        return COMBINING[kind]
    if "/" not in model and (results / "models" / name / "repeats.tsv").exists():
        return "combine_repeats"
    if "/" not in model and (results / "models" / name / "folds.tsv").exists():
        return "pool_folds"
    return KINDS[kind].rule


def job_of(config: dict, results: Path, relative: Path) -> tuple[str, dict] | None:
    """(rule, wildcards) of a benchmark file, None for one this script does not know."""
    parts = relative.with_suffix("").parts
    if len(parts) == 1 and parts[0] in SINGLE:
        return parts[0], {}
    head, rest = parts[0], "/".join(parts[1:])
    if head == "train":
        return model_rule(config, results, rest), {"model": rest}
    if head == "evaluate":
        return "evaluate_model", {"model": rest}
    if head == "interpret":
        return ("interpret_elements", {}) if rest == "elements" else ("interpret_model", {"model": rest})
    if head == "train_tokenizer":
        return "train_tokenizer", {"tokenizer": rest}
    if head == "pretrain_mlm":
        return "pretrain_mlm", {"pretraining": rest}
    if head == "predict":
        model, name = parts[1], parts[2]
        if name.startswith("variants_"):
            return "predict_variants", {"model": model, "name": name[len("variants_"):]}
        return "predict_sequences", {"model": model, "name": name}
    if head == "plot_profiles":
        return "plot_profiles", {"name": rest}
    if head == "learning_curve":
        return "learning_curve_split", {"fraction": rest.removeprefix("split_")}
    if head == "download_utrseq":
        return "download_utrseq", {"file": rest}
    return None


def rows(results: Path) -> list[dict]:
    config = run_config(results)
    split = results / "data" / "split.tsv"
    reporters = sum(1 for _ in split.open()) - 1 if split.exists() else None
    out = []
    for path in sorted((results / "benchmarks").rglob("*.tsv")):
        relative = path.relative_to(results / "benchmarks")
        job = job_of(config, results, relative)
        if job is None:
            print(f"skipped (not a known rule's benchmark): {relative}", file=sys.stderr)
            continue
        rule, wildcards = job
        measured = pd.read_csv(path, sep="\t").iloc[-1]
        profile, size = job_size(config, rule, wildcards)
        try:
            req = job_request(config, rule, wildcards)
        except KeyError:  # a profile not measured yet: --measured prints its line
            req = None
        if "reporters" in size and reporters:
            size["reporters"] = reporters  # what the job had, after the read filter
        out.append({"job": str(relative.with_suffix("")), "rule": rule, "profile": profile, "size": size,
                    "request_mb": req.mem_mb if req else 0, "max_rss_mb": float(measured["max_rss"]),
                    "request_min": req.runtime if req else 0, "cpu_s": float(measured["cpu_time"]),
                    "wall_s": float(measured["s"])})
    return out


def by_rule(table: list[dict]) -> None:
    print("| rule | jobs | request MB | max_rss MB | request / max_rss | request min | CPU s | wall s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for rule in sorted({row["rule"] for row in table}):
        mine = [row for row in table if row["rule"] == rule]
        ratios = [row["request_mb"] / max(row["max_rss_mb"], 1.0) for row in mine]

        def span(values, fmt="{:.0f}"):
            low, high = min(values), max(values)
            return fmt.format(low) if fmt.format(low) == fmt.format(high) else f"{fmt.format(low)}-{fmt.format(high)}"

        print(f"| {rule} | {len(mine)} | {span([r['request_mb'] for r in mine])} | "
              f"{span([r['max_rss_mb'] for r in mine])} | {span(ratios, '{:.1f}')} | "
              f"{span([r['request_min'] for r in mine])} | {span([r['cpu_s'] for r in mine])} | "
              f"{span([r['wall_s'] for r in mine])} |")


def plan(snakemake_args: list[str]) -> None:
    jobs = planned_jobs(["--forceall", *snakemake_args], local=True)  # every job, done or not
    print("| rule | jobs | mem_mb | runtime (min) | CPUs |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for rule in sorted({job.rule for job in jobs}):
        mine = [job for job in jobs if job.rule == rule]
        print(f"| {rule} | {len(mine)} | {max(j.mem_mb for j in mine)} | {max(j.runtime or 0 for j in mine)} | "
              f"{max(j.cpus for j in mine)} |")


def main() -> None:
    if sys.argv[1:2] == ["--plan"]:
        return plan(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, help="a results folder with benchmarks/ and provenance.json")
    parser.add_argument("--check", action="store_true", help=f"exit 1 unless measured <= request <= {MAX_FACTOR}x")
    parser.add_argument("--measured", action="store_true", help="print the Measured lines for PROFILES")
    parser.add_argument("--by-rule", action="store_true", help="one row per rule (its jobs' ranges)")
    args = parser.parse_args()
    table = rows(args.results)
    if args.by_rule:
        return by_rule(table)
    if args.measured:
        for row in table:
            size = ", ".join(f"{k}={v!r}" for k, v in row["size"].items())
            print(f'    # {row["job"]}\n    _m("{args.results.name}", {row["max_rss_mb"]:.0f}, {row["cpu_s"]:.1f}, '
                  f'{size}),  # {row["profile"]}')
        return
    print("| job | rule | request MB | max_rss MB | x | request min | CPU s | x | wall s |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    bad = []
    for row in table:
        mem_x = row["request_mb"] / max(row["max_rss_mb"], 1.0)
        time_x = row["request_min"] * 60 / max(row["cpu_s"], 1.0)
        print(f'| {row["job"]} | {row["rule"]} | {row["request_mb"]} | {row["max_rss_mb"]:.0f} | {mem_x:.1f} | '
              f'{row["request_min"]} | {row["cpu_s"]:.0f} | {time_x:.0f} | {row["wall_s"]:.0f} |')
        if mem_x < 1 or time_x < 1 or (mem_x > MAX_FACTOR and row["request_mb"] > MIN_MEM_MB):
            bad.append(row["job"])
    if args.check and bad:
        sys.exit(f"outside 1x..{MAX_FACTOR}x of the measured memory, or under the measured time: {', '.join(bad)}")


if __name__ == "__main__":
    main()
