"""The data stages at screen sizes: seconds and peak memory of each, at 10^4, 10^5 and 10^6 simulated reporters.

Each stage runs as the pipeline's job does (the package function its Snakemake script calls, reading its
input files and writing its outputs into a work folder) in a fresh subprocess, so that its peak resident
memory (ru_maxrss: imports and input tables included) is its own. Stages, in pipeline order:

    simulate        decaylm.simulate.simulate + write_outputs (the long 3'UTRs are left out: their number is fixed)
    normalize       decaylm.expression.build_expression (reads the counts) -> expression.tsv
    target          decaylm.target.compute_target (the configured target) -> target.tsv
    split           decaylm.split.split_table (overlap_groups, assign_groups) -> split.tsv
    leaks           decaylm.split.count_test_leaks (shares_overlap of test against train)
    tok:NAME        decaylm.tokenizers.train_tokenizer_from_split, one per configured tokenizer
    kmer_ridge      decaylm.models.jobs.run_model_job of KMER_RIDGE (train, save, load, predict every reporter)
    noise_ceiling   decaylm.noise.noise_ceiling (dispersion fit on all reporters, resamples of the test ones)
    comparison      per row model_metrics, then comparison_table, add_intervals (grouped bootstrap), add_ceiling,
                    depth_table, write_comparison and the figures: the compare_models job

The settings are the project's defaults (config.yaml: data, target, split, tokenizers, KMER_RIDGE, evaluate);
only the simulator's n_reporters changes. The comparison scores one row per configured model with stand-in
predictions (the simulator's noise-free target plus seeded noise), so it needs no trained model: its cost
(the bootstrap, the depth bins, the figures) depends on the numbers of rows and test reporters, not on what
the rows predict.

Each stage's process gets the thread settings Snakemake gives a job of one thread (JOB_THREADS: OMP_NUM_THREADS=1,
OPENBLAS_NUM_THREADS=1, ...), as every data stage's rule has.

The table: stage, n, seconds (wall, the stage's own work), CPU seconds (of its process, every thread: on a busy
machine the steadier figure), peak MB (the subprocess), and the growth exponent against the previous size
(log CPU-time ratio / log n ratio: 1 is linear; n log n shows as ~1.1 at these sizes).

    .venv/bin/python benchmarks/bench_scale.py                          # 1e4 1e5 1e6, every stage
    .venv/bin/python benchmarks/bench_scale.py --sizes 1e4 1e5 --stages split leaks
    .venv/bin/python benchmarks/bench_scale.py --work /tmp/scale         # keep the files and the measurements

With --work, the stages' files and the measurements stay there (measurements.jsonl): a later run with the same
--work re-times the stages it is given and prints them with the earlier ones of the sizes it is given;
--table prints the measurements of --work (of the sizes and stages given) without running anything.

Stages not asked for but needed by those asked for run first, untimed, unless their outputs are already in
the work folder. docs/scale.md has the table and what it means for a 10^6-reporter comparison.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing the package

BASE_STAGES = ("simulate", "normalize", "target", "split", "leaks")
AFTER_TOKENIZERS = ("kmer_ridge", "noise_ceiling", "comparison")
# stage -> the stages whose outputs it reads
NEEDS = {"normalize": ("simulate",), "target": ("normalize",), "split": ("target",), "leaks": ("split",),
         "kmer_ridge": ("split",), "noise_ceiling": ("split",), "comparison": ("noise_ceiling",)}


def project_config() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


def all_stages(config: dict) -> list[str]:
    return [*BASE_STAGES, *(f"tok:{name}" for name in config["tokenizers"]), *AFTER_TOKENIZERS]


def needs(stage: str) -> tuple[str, ...]:
    return ("split",) if stage.startswith("tok:") else NEEDS.get(stage, ())


# ---------------------------------------------------------------------------------------------
# one stage, in its own process (--run-stage)

def data_settings(config: dict, work: Path) -> dict:
    return {**config["data"], "source": "simulated", "path": str(work / "raw")}


def run_stage(stage: str, n: int, work: Path) -> None:
    """Run `stage` on the files of `work`; print its seconds and this process's peak memory as JSON."""
    import logging

    from decaylm.io import read_tsv, write_json, write_tsv

    logging.basicConfig(level=logging.WARNING)
    config = project_config()
    data, target, evaluate = data_settings(config, work), config["target"], config["evaluate"]
    raw_dir = work / "raw"
    started, cpu_started = time.perf_counter(), time.process_time()
    if stage == "simulate":
        from decaylm.simulate import config_from_params, simulate, write_outputs

        raw_dir.mkdir(parents=True, exist_ok=True)
        params = {**data.get("simulate", {}), "hours": data["hours"], "from_hour": target["from_hour"],
                  "to_hour": target["to_hour"], "n_reporters": n}
        write_outputs(simulate(config_from_params(params)), raw_dir / "reporter_counts.txt",
                      raw_dir / "reporter_seq.txt", raw_dir / "truth.tsv")
    elif stage == "normalize":
        from decaylm.expression import build_expression

        write_tsv(build_expression(data, raw_dir), work / "expression.tsv")
    elif stage == "target":
        from decaylm.target import compute_target

        write_tsv(compute_target(read_tsv(work / "expression.tsv"), target["kind"], target["from_hour"],
                                 target["to_hour"], target.get("divisor", 1), kinetic=target), work / "target.tsv")
    elif stage == "split":
        from decaylm.split import split_table

        spec = config["split"]
        write_tsv(split_table(read_tsv(work / "target.tsv"), spec["method"], spec["fractions"], spec["seed"],
                              spec["group_overlap_nt"]), work / "split.tsv")
    elif stage == "leaks":
        from decaylm.split import count_test_leaks

        leaks = count_test_leaks(read_tsv(work / "split.tsv"), config["split"]["group_overlap_nt"])
        if config["split"]["method"] == "overlap" and leaks:
            raise SystemExit(f"the overlap split leaked {leaks} test reporters")
    elif stage.startswith("tok:"):
        from decaylm.tokenizers import train_tokenizer_from_split

        name = stage[4:]
        train_tokenizer_from_split(read_tsv(work / "split.tsv"), dict(config["tokenizers"][name]),
                                   work / "tokenizers" / name, seed=config["seed"], name=name)
    elif stage == "kmer_ridge":
        from decaylm.models.jobs import run_model_job

        folder = work / "models" / "KMER_RIDGE"
        run_model_job("KMER_RIDGE", config["models"]["KMER_RIDGE"], work / "split.tsv", folder / "predictions.tsv",
                      folder / "run.json", config["seed"])
    elif stage == "noise_ceiling":
        from decaylm.noise import noise_ceiling
        from decaylm.sources import read_raw

        split = read_tsv(work / "split.tsv")
        write_json(noise_ceiling(read_raw(data, raw_dir), split.loc[split["split"] == "test", "id"], data, target,
                                 evaluate["noise_resamples"], evaluate["seed"], evaluate["noise_windows"],
                                 evaluate["noise_degree"]), work / "noise_ceiling.json")
    elif stage == "comparison":
        compare(config, data, target, evaluate, work)
    else:
        raise SystemExit(f"unknown stage {stage!r}")
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"stage": stage, "n": n, "seconds": seconds, "cpu_seconds": cpu_seconds, "peak_mb": peak_mb}))


def compare(config: dict, data: dict, target: dict, evaluate: dict, work: Path) -> None:
    """The evaluate_model and compare_models jobs, one row per configured model: stand-in predictions
    (the simulator's noise-free target plus seeded noise, more for each row), so that no model need train."""
    import numpy as np
    import pandas as pd

    from decaylm.depth import depth_table, write_depth
    from decaylm.evaluate import (add_ceiling, add_intervals, comparison_table, model_metrics, ordered_columns,
                                  plot_intervals, plot_panel, write_comparison)
    from decaylm.io import read_tsv
    from decaylm.sources import read_raw

    split = read_tsv(work / "split.tsv")
    truth = read_tsv(work / "raw" / "truth.tsv")
    noise_free = split[["id"]].merge(truth[["id", "y_true"]], on="id")["y_true"].to_numpy()
    rng = np.random.default_rng(0)
    spread = float(np.std(split["y"]))
    predictions = {name: pd.DataFrame({"id": split["id"], "split": split["split"], "y_true": split["y"],
                                       "y_pred": noise_free + rng.normal(0, spread * 0.1 * (i + 1), len(split))})
                   for i, name in enumerate(config["models"])}
    metrics = [model_metrics(name, frame, {"status": "ok"}, truth, target) for name, frame in predictions.items()]
    ceiling = json.loads((work / "noise_ceiling.json").read_text())
    table = add_intervals(comparison_table(metrics), predictions, split, evaluate["bootstrap"], evaluate["seed"])
    table = ordered_columns(add_ceiling(table, ceiling))
    raw = read_raw(data, work / "raw")
    depth = depth_table(table, predictions, split, raw, ceiling, data, target, evaluate["bootstrap"], evaluate["seed"])
    out = work / "comparison"
    out.mkdir(exist_ok=True)
    write_comparison(table, out / "comparison.tsv", out / "comparison.md", ceiling, evaluate["bootstrap"])
    plot_panel(predictions, list(table["model"]), out / "panel.png")
    plot_intervals(table, ceiling, out / "intervals.png")
    write_depth(depth, out / "depth.tsv", out / "depth.png")


# ---------------------------------------------------------------------------------------------
# the driver

def outputs_present(stage: str, work: Path) -> bool:
    """Whether a stage's outputs are in the work folder (a prerequisite that need not run again)."""
    files = {"simulate": "raw/truth.tsv", "normalize": "expression.tsv", "target": "target.tsv", "split": "split.tsv",
             "kmer_ridge": "models/KMER_RIDGE/predictions.tsv", "noise_ceiling": "noise_ceiling.json"}
    return stage in files and (work / files[stage]).exists()


# What Snakemake's shell sets for a job's script (snakemake/shell.py): the job's threads, 1 for every data stage.
# Without them OpenBLAS starts a thread per core, and on a busy machine its waiting threads spin and count as CPU
# time the job would not spend (docs/scale.md, the noise ceiling).
JOB_THREADS = {name: "1" for name in ("OMP_NUM_THREADS", "GOTO_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                      "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")}


def measure(stage: str, n: int, work: Path) -> dict:
    command = [sys.executable, __file__, "--run-stage", stage, "--n", str(n), "--work", str(work)]
    done = subprocess.run(command, capture_output=True, text=True,
                          env={**os.environ, **JOB_THREADS, "HF_HUB_OFFLINE": "1"})
    if done.returncode:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise SystemExit(f"stage {stage} at n={n} failed: {tail}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def plan(selected: list[str], order: list[str], work: Path) -> list[tuple[str, bool]]:
    """(stage, timed) in pipeline order: the selected stages and the prerequisites whose outputs are missing."""
    wanted, shown = set(), set(selected)

    def add(stage):
        if stage in wanted:
            return
        wanted.add(stage)
        for before in needs(stage):
            if before not in shown and outputs_present(before, work):
                continue
            add(before)

    for stage in selected:
        add(stage)
    return [(stage, stage in shown) for stage in order if stage in wanted]


def table_lines(rows: list[dict]) -> list[str]:
    lines = ["| stage | n | seconds | CPU seconds | peak MB | growth exponent |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    previous = {}
    for row in rows:
        before = previous.get(row["stage"])
        exponent = ""
        if before and before["cpu_seconds"] > 0 and row["cpu_seconds"] > 0:
            growth = math.log(row["cpu_seconds"] / before["cpu_seconds"]) / math.log(row["n"] / before["n"])
            exponent = f"{growth:.2f}"
        lines.append(f"| {row['stage']} | {row['n']:.0e} | {row['seconds']:.1f} | {row['cpu_seconds']:.1f} | "
                     f"{row['peak_mb']:.0f} | {exponent} |")
        previous[row["stage"]] = row
    return lines


def main(argv=None) -> None:
    config = project_config()
    order = all_stages(config)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e4, 1e5, 1e6], help="numbers of reporters")
    parser.add_argument("--stages", nargs="+", choices=order, default=order, metavar="STAGE",
                        help=f"stages to time (default all: {' '.join(order)})")
    parser.add_argument("--work", type=Path, help="folder for the stages' files (default: a temporary one)")
    parser.add_argument("--table", action="store_true", help="print the table of --work's measurements, run nothing")
    parser.add_argument("--run-stage", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_stage:
        return run_stage(args.run_stage, args.n, args.work)
    with tempfile.TemporaryDirectory(prefix="bench_scale_") as scratch:
        root = args.work or Path(scratch)
        sizes = sorted(int(s) for s in args.sizes)
        by_stage = sorted(args.stages, key=order.index)
        for size in sizes if not args.table else []:
            work = root / f"n{size}"
            work.mkdir(parents=True, exist_ok=True)
            for stage, timed in plan(by_stage, order, work):
                result = measure(stage, size, work)
                if timed:
                    keep(root / MEASUREMENTS, result)
                print(f"  {stage} n={size}: {result['seconds']:.1f} s ({result['cpu_seconds']:.1f} s CPU), "
                      f"{result['peak_mb']:.0f} MB" + ("" if timed else " (prerequisite)"), file=sys.stderr, flush=True)
        rows = [row for row in read_measurements(root / MEASUREMENTS) if row["stage"] in by_stage and row["n"] in sizes]
        rows.sort(key=lambda row: (order.index(row["stage"]), row["n"]))
        print("\n".join(table_lines(rows)))
        for n in sizes:
            of_n = [row for row in rows if row["n"] == n]
            print(f"n={n:.0e}: {len(of_n)} stages, {sum(r['seconds'] for r in of_n):.0f} s "
                  f"({sum(r['cpu_seconds'] for r in of_n):.0f} s CPU) in all; the largest peak "
                  f"{max((r['peak_mb'] for r in of_n), default=0):.0f} MB")


MEASUREMENTS = "measurements.jsonl"  # in the work folder: a later run with the same --work adds to the table


def read_measurements(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def keep(path: Path, result: dict) -> None:
    """Add a measurement to the work folder's file, in place of an earlier one of the same stage and size."""
    rows = [row for row in read_measurements(path) if (row["stage"], row["n"]) != (result["stage"], result["n"])]
    path.write_text("".join(json.dumps(row) + "\n" for row in [*rows, result]))

if __name__ == "__main__":
    main()
