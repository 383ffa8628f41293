"""Interpretation speed and the real-data element table (docs/interpretation.md).

    .venv/bin/python benchmarks/bench_interpret.py /tmp/seeds/s1 --threads 1 --out /tmp/interp_real

For a results folder with trained models and data/split.tsv: (1) ISM mutants scored per second for
each model (20 test reporters each), printed per kind; (2) the wall time of interpreting
`--n-timed` (1,000) test reporters with the CNN and one BERT model (the whole interpret_model job:
ISM, gradients, modisco-lite, TOMTOM, logos, positional effects); (3) interpret_model for every
model on `--n` test reporters and interpret_elements over them: the model x element table is printed
and written to OUT/interpret/elements.tsv (per-model folders beside it).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path)
    parser.add_argument("--out", type=Path, default=Path("/tmp/interp_real"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--n", type=int, default=300, help="test reporters per model for the element table")
    parser.add_argument("--n-timed", type=int, default=1000, help="test reporters of the timed runs")
    parser.add_argument("--timed", nargs="*", default=["CNN", "BERT_BPE"])
    parser.add_argument("--models", nargs="*", default=None, help="default: every model folder that ran")
    parser.add_argument("--skip-timed", action="store_true")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from decaylm.interpret import attribution
    from decaylm.interpret.pipeline import (
        interpret_elements,
        interpret_model,
        run_status,
    )
    from decaylm.logs import setup_logging
    from decaylm.models import load_model

    args.out.mkdir(parents=True, exist_ok=True)
    setup_logging(str(args.out / "bench.log"))
    split_path = args.results / "data" / "split.tsv"
    split = pd.read_csv(split_path, sep="\t")
    folders = sorted(p.parent for p in (args.results / "models").glob("*/run.json"))
    names = args.models or [f.name for f in folders]
    sample = attribution.test_sequences(split, 20, 1)["sequence"].tolist()
    print("== ISM mutants scored per second (20 test reporters, 3 x L mutants each, one batch per "
          f"sequence group; {args.threads} thread(s))")
    for name in names:
        folder = args.results / "models" / name
        if run_status(folder / "run.json") is not None:
            print(f"{name}: {run_status(folder / 'run.json')}")
            continue
        model = load_model(folder)
        model.predict(sample[:2])
        started = time.monotonic()
        attribution.ism(model, sample)
        seconds = time.monotonic() - started
        print(f"{name} ({model.kind}{', ' + model.tokenizer.kind if hasattr(model, 'tokenizer') else ''}): "
              f"{20 * 3 * len(sample[0]) / seconds:,.0f} mutants/s")

    def run(name: str, n: int, root: Path) -> float:
        settings = {"n_sequences": n, "seed": 0}
        folder = args.results / "models" / name
        out = {key: str(root / "interpret" / name / file) for key, file in
               (("attributions", "attributions.npz"), ("motifs", "motifs.tsv"), ("meme", "motifs.meme"),
                ("effects", "effects.tsv"), ("logos", "logos.png"), ("positional", "positional.png"))}
        started = time.monotonic()
        interpret_model(name, folder, folder / "run.json", split_path, out, settings)
        return time.monotonic() - started

    if not args.skip_timed:
        print(f"== wall time of interpret_model on {args.n_timed} test reporters")
        for name in args.timed:
            print(f"{name}: {run(name, args.n_timed, args.out / 'timed'):.1f} s")
    print(f"== element table: every model on {args.n} test reporters")
    for name in names:
        print(f"{name}: {run(name, args.n, args.out):.1f} s", flush=True)
    models = {name: {"dir": str(args.results / "models" / name), "run": str(args.results / "models" / name / "run.json"),
                     "motifs": str(args.out / "interpret" / name / "motifs.tsv")} for name in names}
    interpret_elements(models, {}, split_path, args.out / "interpret" / "elements.tsv",
                       args.out / "interpret" / "elements.png", {"seed": 0})
    table = pd.read_csv(args.out / "interpret" / "elements.tsv", sep="\t")
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(table.pivot_table(index="model", columns="element", values="mean_effect", sort=False).round(3))
        motif_tables = [pd.read_csv(args.out / "interpret" / n / "motifs.tsv", sep="\t") for n in names]
        print(pd.concat(motif_tables)[["model", "consensus", "sign", "mean_effect", "seqlets", "best_match", "match_q"]])
    print(json.dumps({"out": str(args.out)}))


if __name__ == "__main__":
    main()
