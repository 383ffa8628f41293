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
    parser.add_argument("--skip-timed", action="store_true", help="same as --parts speed table")
    parser.add_argument("--parts", nargs="*", default=["speed", "timed", "table"], choices=["speed", "timed", "table"],
                        help="which parts to run (two shells can run the parts side by side)")
    parser.add_argument("--reuse", action="store_true",
                        help="table: keep a model's interpret folder when its motifs.tsv exists (resume)")
    parser.add_argument("--reuse-attributions", action="store_true",
                        help="table: redo motifs and effects from each model's saved attributions.npz (no ISM)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from decaylm.interpret import attribution
    from decaylm.interpret.pipeline import interpret_elements, interpret_model
    from decaylm.logs import setup_logging

    args.out.mkdir(parents=True, exist_ok=True)
    setup_logging(str(args.out / "bench.log"))
    split_path = args.results / "data" / "split.tsv"
    split = pd.read_csv(split_path, sep="\t")
    folders = sorted(p.parent for p in (args.results / "models").glob("*/run.json"))
    names = args.models or [f.name for f in folders]
    parts = set(args.parts) - ({"timed"} if args.skip_timed else set())
    sample = attribution.test_sequences(split, 20, 1)["sequence"].tolist()
    if "speed" in parts:
        speed(args, names, sample)

    def run(name: str, n: int, root: Path, reuse: bool = False) -> float:
        settings = {"n_sequences": n, "seed": 0}
        folder = args.results / "models" / name
        out = {key: str(root / "interpret" / name / file) for key, file in
               (("attributions", "attributions.npz"), ("motifs", "motifs.tsv"), ("meme", "motifs.meme"),
                ("effects", "effects.tsv"), ("logos", "logos.png"), ("positional", "positional.png"))}
        started = time.monotonic()
        interpret_model(name, folder, folder / "run.json", split_path, out, settings, reuse_attributions=reuse)
        return time.monotonic() - started

    if "timed" in parts:
        print(f"== wall time of interpret_model on {args.n_timed} test reporters", flush=True)
        for name in args.timed:
            print(f"{name}: {run(name, args.n_timed, args.out / 'timed'):.1f} s", flush=True)
    if "table" not in parts:
        return
    print(f"== element table: every model on {args.n} test reporters", flush=True)
    for name in names:
        if args.reuse and (args.out / "interpret" / name / "motifs.tsv").is_file():
            print(f"{name}: reused {args.out / 'interpret' / name}", flush=True)
            continue
        print(f"{name}: {run(name, args.n, args.out, args.reuse_attributions):.1f} s", flush=True)
    models = {name: {"dir": str(args.results / "models" / name), "run": str(args.results / "models" / name / "run.json"),
                     "motifs": str(args.out / "interpret" / name / "motifs.tsv")} for name in names}
    interpret_elements(models, {}, split_path, args.out / "interpret" / "elements.tsv",
                       args.out / "interpret" / "elements.png", {"seed": 0})
    table = pd.read_csv(args.out / "interpret" / "elements.tsv", sep="\t")
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(table.pivot_table(index="model", columns="element", values="mean_effect", sort=False).round(3))
        motif_tables = [pd.read_csv(args.out / "interpret" / n / "motifs.tsv", sep="\t") for n in names]
        print(pd.concat(motif_tables)[["model", "consensus", "sign", "mean_effect", "seqlets", "best_match", "match_q"]])
    text = summary(args.results, args.out / "interpret", names)
    (args.out / "interpret" / "summary.md").write_text(text)
    print(text)
    print(json.dumps({"out": str(args.out)}))


ELEMENTS = ["miR-430", "ARE", "Pumilio", "poly-U", "GC-rich"]


def summary(results: Path, root: Path, names: list[str]) -> str:
    """The elements-by-model table of docs/interpretation.md: per model its test R2 (comparison.tsv), per
    known element the model's own motifs that TOMTOM matched to it (sign and seqlets; "no": none) and
    the inserted element's mean effect ± sem, and the motifs without a known match (with the nearest
    known element when its q-value is below 0.25)."""
    table = pd.read_csv(root / "elements.tsv", sep="\t")
    comparison = results / "comparison.tsv"
    r2 = pd.read_csv(comparison, sep="\t").set_index("model")["r2"] if comparison.is_file() else pd.Series(dtype=float)
    lines = ["| model | test R2 | " + " | ".join(ELEMENTS) + " | motifs without a known match |",
             "|---|---" + "|---" * len(ELEMENTS) + "|---|"]
    for name in sorted(names, key=lambda n: -float(r2.get(n, float("-inf")))):
        rows = table[(table["model"] == name) & (table["status"] == "ok")].set_index("element")
        if rows.empty:
            status = table.loc[table["model"] == name, "status"]
            lines.append(f"| {name} | | " + " | ".join([""] * len(ELEMENTS)) + f" | {status.iloc[0] if len(status) else ''} |")
            continue
        found = pd.read_csv(root / name / "motifs.tsv", sep="\t")
        found = found[found["status"] == "ok"]
        cells = []
        for element in ELEMENTS:
            own = found[found["best_match"] == element]
            mark = ", ".join(f"{m.sign}{int(m.seqlets)}" for m in own.itertuples()) if len(own) else "no"
            effect = rows.loc[element] if element in rows.index else None
            cells.append(f"{mark}; {effect['mean_effect']:+.2f} ± {effect['sem']:.2f}" if effect is not None else mark)
        new = [f"{m.sign}{m.consensus} ({int(m.seqlets)}" + (f"; nearest {m.nearest_known} q={m.match_q:.2f})"
                                                            if m.match_q < 0.25 else ")")
               for m in found[found["best_match"] == "new"].itertuples()]
        value = r2.get(name)
        lines.append(f"| {name} | {'' if value is None else f'{value:.3f}'} | " + " | ".join(cells)
                     + f" | {', '.join(new) or '-'} |")
    return "\n".join(lines) + "\n"


def speed(args, names, sample) -> None:
    from decaylm.interpret import attribution
    from decaylm.interpret.pipeline import run_status
    from decaylm.models import load_model

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
              f"{20 * 3 * len(sample[0]) / seconds:,.0f} mutants/s", flush=True)


if __name__ == "__main__":
    main()
