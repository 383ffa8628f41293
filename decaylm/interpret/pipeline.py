"""The two interpretation jobs (rules/interpret.smk): one model's attributions, motifs, logos and
positional effects (`interpret_model`), and the model x element table with its heatmap
(`interpret_elements`). A model that did not run, or is not configured, gets a row that says why;
the rest completes.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from decaylm.errors import InputError
from decaylm.interpret import attribution, marginalize, motifs
from decaylm.interpret.meme import Motif, known_elements_path, read_meme, write_meme
from decaylm.io import atomic_path, read_tsv, write_tsv

log = logging.getLogger(__name__)

MOTIF_COLUMNS = ["model", "motif", "consensus", "sign", "mean_effect", "seqlets", "best_match", "match_q",
                 "nearest_known", "reverse_fraction", "status"]
ELEMENT_COLUMNS = ["model", "element", "source", "insert", "mean_effect", "sd", "sem", "n", "recovered", "status"]


def known_motifs(extra_files=()) -> list[Motif]:
    """The shipped known 3'UTR elements plus every MEME file the config names (checked, one line on error)."""
    found = read_meme(known_elements_path())
    names = {m.name for m in found}
    for path in extra_files:
        for motif in read_meme(path):
            if motif.name in names:
                motif.name = f"{motif.name}@{Path(path).stem}"
            names.add(motif.name)
            found.append(motif)
    return found


def run_status(run_json) -> str | None:
    """None when the model ran, else the reason it did not."""
    try:
        run = json.loads(Path(run_json).read_text())
    except (OSError, json.JSONDecodeError) as error:
        return f"unreadable run record {run_json} ({error})"
    if run.get("status", "ok") != "ok":
        return f"not run: {run.get('reason') or run.get('status')}"
    return None


def _settings(settings: dict) -> dict:
    defaults = {"n_sequences": 100, "seed": 0, "backgrounds": 50, "position_step": 10, "meme": [], "max_motifs": motifs.MAX_MOTIFS,
                "positional_motifs": 3, "gradients": True, "max_q": 0.05, "modisco": {}}
    return {**defaults, **(settings or {})}


def interpret_model(model_name: str, model_dir, run_json, split_path, out: dict, settings: dict,
                    reuse_attributions: bool = False) -> None:
    """out: attributions (npz), motifs (tsv), meme (discovered motifs), effects (tsv), logos, positional (png).
    reuse_attributions: when out["attributions"] already holds the ISM maps of the same test reporters
    (a benchmark re-running motifs and effects after a settings change), keep them instead of redoing ISM."""
    settings = _settings(settings)
    known = known_motifs(settings["meme"])
    reason = run_status(run_json)
    if reason is not None:
        log.info("%s: %s; writing its rows with the reason", model_name, reason)
        _write_not_run(model_name, reason, out)
        return
    from decaylm.models import load_model

    started = time.monotonic()
    model = load_model(model_dir)
    split = read_tsv(split_path)
    chosen = attribution.test_sequences(split, int(settings["n_sequences"]), int(settings["seed"]))
    sequences = chosen["sequence"].tolist()
    x = attribution.one_hot_batch(sequences)
    kept = _kept_attributions(out["attributions"], chosen) if reuse_attributions else None
    if kept is not None:
        log.info("%s: reusing the ISM maps of %s (%d sequences)", model_name, out["attributions"], len(sequences))
        _finish(model_name, model, chosen, x, kept["ism_hypothetical"], known, out, settings, started)
        return
    reference, delta = attribution.ism(model, sequences)
    hyp = attribution.hypothetical(delta)
    ism_seconds = time.monotonic() - started
    n_mutants = sum(len(attribution.mutants(s)[0]) for s in sequences)
    log.info("%s (%s): ISM of %d sequences, %d mutants in %.1f s (%.0f mutants/s)", model_name, model.kind,
             len(sequences), n_mutants, ism_seconds, n_mutants / max(ism_seconds, 1e-9))
    arrays = {"ids": np.asarray(chosen["id"].astype(str).tolist(), dtype=str), "one_hot": x, "prediction": reference, "ism_delta": delta,
              "ism_hypothetical": hyp, "kind": np.asarray(model.kind)}
    module = model.one_hot_module() if settings["gradients"] else None
    if module is not None:
        saliency = attribution.saliency_maps(module, x)
        agree = attribution.agreement(hyp, saliency, x)
        arrays["saliency_hypothetical"] = saliency
        arrays["saliency_vs_ism_median_r"] = np.asarray(agree["median_r"])
        arrays["saliency_vs_ism_pooled_r"] = np.asarray(agree["pooled_r"])
        log.info("%s: gradient x input vs ISM, per-sequence Pearson r median %.3f (mean %.3f), pooled %.3f",
                 model_name, agree["median_r"], agree["mean_r"], agree["pooled_r"])
    with atomic_path(out["attributions"]) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, **arrays)
    _finish(model_name, model, chosen, x, hyp, known, out, settings, started)


def _kept_attributions(path, chosen: pd.DataFrame) -> dict | None:
    """The arrays of an attributions.npz made from the same reporters, else None."""
    try:
        with np.load(path, allow_pickle=True) as saved:  # our own output; ids of older runs are object arrays
            arrays = {key: saved[key] for key in ("ids", "ism_hypothetical") if key in saved}
    except (OSError, ValueError, EOFError):
        return None
    if "ism_hypothetical" not in arrays or list(arrays["ids"]) != list(chosen["id"].astype(str)):
        return None
    return arrays


def _finish(model_name, model, chosen, x, hyp, known, out, settings, started) -> None:
    """Motifs, TOMTOM matches, logos and positional effects from the hypothetical ISM maps."""
    sequences = chosen["sequence"].tolist()
    found = motifs.discover(x, hyp, settings["modisco"], max_motifs=int(settings["max_motifs"]))
    motifs.match(found, known, float(settings["max_q"]))
    rows = motifs.motif_rows(model_name, found)
    note = "" if rows else f"modisco-lite found no pattern in {len(sequences)} sequences"
    if not rows:
        rows = [{"model": model_name, "motif": "", "status": note}]
    write_tsv(pd.DataFrame(rows, columns=MOTIF_COLUMNS), out["motifs"])
    for m in found:
        label = m.matches[0][0] if m.matches else "new"
        log.info("%s motif %s %s %s: %d seqlets, effect %.3f, %s", model_name, m.name, m.sign, m.consensus, m.seqlets,
                 m.mean_effect, label)
    write_meme([m.as_motif() for m in found], out["meme"]) if found else _write_empty_meme(out["meme"])
    motifs.draw_logos(model_name, found, out["logos"], note)
    backs = marginalize.backgrounds(chosen["sequence"].tolist()[: int(settings["backgrounds"])], int(settings["seed"]))
    elements = {m.name: m.pwm for m in known}
    elements.update({f"{m.name} {m.consensus}": m.consensus for m in found[: int(settings["positional_motifs"])]})
    length = len(sequences[0])
    positions = list(range(0, length, int(settings["position_step"])))
    effects = marginalize.element_effects(model, backs, elements, int(settings["seed"]), positions)
    effects.insert(0, "model", model_name)
    write_tsv(effects, out["effects"])
    marginalize.plot_positional(model_name, effects, out["positional"])
    log.info("%s: interpreted in %.1f s", model_name, time.monotonic() - started)


def _write_empty_meme(path) -> None:
    from decaylm.io import write_text

    write_text("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n", path)


def _write_not_run(model_name: str, reason: str, out: dict) -> None:
    with atomic_path(out["attributions"]) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, status=np.asarray(reason))
    write_tsv(pd.DataFrame([{"model": model_name, "motif": "", "status": reason}], columns=MOTIF_COLUMNS), out["motifs"])
    _write_empty_meme(out["meme"])
    write_tsv(pd.DataFrame(columns=["model", "element", "start", "centre", "width", "mean", "sd", "sem", "n"]),
              out["effects"])
    motifs.draw_logos(model_name, [], out["logos"], reason)
    marginalize.plot_positional(model_name, pd.DataFrame(), out["positional"], reason)


def interpret_elements(models: dict, unavailable: dict, split_path, table_path, heatmap_path, settings: dict) -> None:
    """models: name -> {"dir", "run", "motifs", "meme"}; unavailable: name -> reason (not configured).
    Every model that ran scores the known elements and the union of all models' discovered motifs
    (their consensus) inserted at the centre of the same shuffled backgrounds."""
    settings = _settings(settings)
    known = known_motifs(settings["meme"])
    elements: dict[str, object] = {m.name: m.pwm for m in known}
    sources = {m.name: "known" if m.source == str(known_elements_path()) else f"file {Path(m.source).name}"
               for m in known}
    inserts = {m.name: f"PWM draws (consensus {m.consensus})" for m in known}
    recovered: dict[str, set] = {}
    for name, files in models.items():
        table = read_tsv(files["motifs"])
        table = table[table["status"] == "ok"]
        recovered[name] = set(table["best_match"].astype(str)) - {"new"}
        for _, row in table.head(int(settings["positional_motifs"])).iterrows():
            if row["best_match"] != "new":
                continue  # a known element already has its column
            label = f"new {row['consensus']} ({row['sign']})"
            if row["consensus"] not in {v for v in inserts.values()}:
                elements[label], sources[label], inserts[label] = row["consensus"], f"discovered by {name}", row["consensus"]
    split = read_tsv(split_path)
    chosen = attribution.test_sequences(split, int(settings["backgrounds"]), int(settings["seed"]))
    backs = marginalize.backgrounds(chosen["sequence"].tolist(), int(settings["seed"]))
    rows = []
    from decaylm.models import load_model

    for name, files in models.items():
        reason = run_status(files["run"])
        if reason is not None:
            rows.append({"model": name, "status": reason})
            continue
        model = load_model(files["dir"])
        effects = marginalize.element_effects(model, backs, elements, int(settings["seed"]))
        for _, e in effects.iterrows():
            rows.append({"model": name, "element": e["element"], "source": sources[e["element"]],
                         "insert": inserts[e["element"]], "mean_effect": e["mean"], "sd": e["sd"], "sem": e["sem"],
                         "n": e["n"], "recovered": "yes" if e["element"] in recovered[name] else
                         ("-" if sources[e["element"]].startswith("discovered") else "no"), "status": "ok"})
        log.info("%s: %d elements scored on %d backgrounds", name, len(effects), len(backs))
    for name, reason in unavailable.items():
        rows.append({"model": name, "status": reason})
    table = pd.DataFrame(rows, columns=ELEMENT_COLUMNS)
    write_tsv(table, table_path)
    marginalize.plot_heatmap(table, heatmap_path)


def check_settings(settings: dict, where: str = "interpret") -> None:
    """Start-up checks the schema cannot make: the MEME files exist and parse (one line on error)."""
    for path in settings.get("meme") or []:
        if not Path(path).is_file():
            raise InputError(f"{where}.meme", f"file '{path}' not found", "check the path of the MEME file")
        read_meme(path)
