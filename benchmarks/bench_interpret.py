"""Interpretation speed and the real-data element table (docs/interpretation.md).

    .venv/bin/python benchmarks/bench_interpret.py /tmp/seeds/s1 --threads 1 --out /tmp/interp_real

For a results folder with trained models and data/split.tsv: (1) ISM mutants scored per second for
each model (20 test reporters each), printed per kind; (2) the wall time of interpreting
`--n-timed` (1,000) test reporters with the CNN and one BERT model (the whole interpret_model job:
ISM, gradients, modisco-lite, TOMTOM, logos, positional effects); (3) interpret_model for every
model on `--n` test reporters and interpret_elements over them: the model x element table is printed
and written to OUT/interpret/elements.tsv (per-model folders beside it).

`--folder ROW=FOLDER` interprets results/models/FOLDER under the row's name (the tuning folders that
hold a row's chosen settings, docs/training.md section 5). `--ensemble ROW=A,B,C` adds the mean of
rows A, B and C as ROW (a folder under OUT/models naming the members' folders); its ISM maps are the
mean of its members' maps on the same reporters, which is exact because an ensemble predicts the mean
of its members (so A, B and C must come first in `--models`).
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
    parser.add_argument("--folder", nargs="*", default=[], metavar="ROW=FOLDER",
                        help="interpret results/models/FOLDER as the row ROW")
    parser.add_argument("--ensemble", nargs="*", default=[], metavar="ROW=A,B,...",
                        help="the mean of rows A, B, ... as ROW, its ISM the mean of theirs")
    parser.add_argument("--comparison", type=Path, default=None,
                        help="the table whose r2 column orders the rows (default: RESULTS/comparison.tsv)")
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
    folder_of = {name: args.results / "models" / name for name in names}
    folder_of.update({row: args.results / "models" / folder for row, folder in (a.split("=", 1) for a in args.folder)})
    ensembles = {row: members.split(",") for row, members in (a.split("=", 1) for a in args.ensemble)}
    for row, members in ensembles.items():
        folder_of[row] = ensemble_folder(args.out / "models" / row, row, {m: folder_of[m] for m in members})
    parts = set(args.parts) - ({"timed"} if args.skip_timed else set())
    sample = attribution.test_sequences(split, 20, 1)["sequence"].tolist()
    if "speed" in parts:
        speed(args, names, sample, folder_of)

    def run(name: str, n: int, root: Path, reuse: bool = False) -> float:
        settings = {"n_sequences": n, "seed": 0}
        folder = folder_of[name]
        out = {key: str(root / "interpret" / name / file) for key, file in
               (("attributions", "attributions.npz"), ("motifs", "motifs.tsv"), ("meme", "motifs.meme"),
                ("effects", "effects.tsv"), ("logos", "logos.png"), ("positional", "positional.png"))}
        if name in ensembles:
            mean_attributions([root / "interpret" / m / "attributions.npz" for m in ensembles[name]], out["attributions"])
            reuse = True
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
    models = {name: {"dir": str(folder_of[name]), "run": str(folder_of[name] / "run.json"),
                     "motifs": str(args.out / "interpret" / name / "motifs.tsv")} for name in names}
    interpret_elements(models, {}, split_path, args.out / "interpret" / "elements.tsv",
                       args.out / "interpret" / "elements.png", {"seed": 0})
    table = pd.read_csv(args.out / "interpret" / "elements.tsv", sep="\t")
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(table.pivot_table(index="model", columns="element", values="mean_effect", sort=False).round(3))
        motif_tables = [pd.read_csv(args.out / "interpret" / n / "motifs.tsv", sep="\t") for n in names]
        print(pd.concat(motif_tables)[["model", "consensus", "sign", "mean_effect", "seqlets", "best_match", "match_q"]])
    text = summary(args.comparison or args.results / "comparison.tsv", args.out / "interpret", names)
    (args.out / "interpret" / "summary.md").write_text(text)
    print(text)
    print(json.dumps({"out": str(args.out)}))


ELEMENTS = ["miR-430", "ARE", "Pumilio", "poly-U", "GC-rich"]


def summary(comparison: Path, root: Path, names: list[str]) -> str:
    """The elements-by-model table of docs/interpretation.md: per model its test R2 (comparison.tsv), per
    known element the model's own motifs that TOMTOM matched to it (sign and seqlets; "no": none) and
    the inserted element's mean effect ± sem, and the motifs without a known match (with the nearest
    known element when its q-value is below 0.25)."""
    table = pd.read_csv(root / "elements.tsv", sep="\t")
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


def ensemble_folder(folder: Path, name: str, members: dict[str, Path]) -> Path:
    """An ensemble model folder of the member rows' folders, with a run.json that ran."""
    from decaylm.io import write_json
    from decaylm.models.registry import parse_model_spec
    from decaylm.models.ensemble import write_ensemble

    write_ensemble(folder, parse_model_spec(name, {"kind": "ensemble", "members": list(members)}, 0), members)
    write_json({"status": "ok", "members": {row: str(path) for row, path in members.items()}}, folder / "run.json")
    return folder


def mean_attributions(member_files: list[Path], path: str) -> None:
    """An ensemble's ISM maps from its members' maps of the same reporters (ISM is linear in the prediction)."""
    import numpy as np

    saved = [np.load(f) for f in member_files]
    ids = [list(s["ids"]) for s in saved]
    if any(i != ids[0] for i in ids):
        raise SystemExit(f"{member_files}: the members' maps cover different reporters; run them with the same --n")
    arrays = {"ids": saved[0]["ids"], "one_hot": saved[0]["one_hot"], "kind": np.asarray("ensemble")}
    for key in ("prediction", "ism_delta", "ism_hypothetical"):
        arrays[key] = np.mean([s[key] for s in saved], axis=0).astype(saved[0][key].dtype)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)


def speed(args, names, sample, folder_of) -> None:
    from decaylm.interpret import attribution
    from decaylm.interpret.pipeline import run_status
    from decaylm.models import load_model

    print("== ISM mutants scored per second (20 test reporters, 3 x L mutants each, one batch per "
          f"sequence group; {args.threads} thread(s))")
    for name in names:
        folder = folder_of[name]
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
