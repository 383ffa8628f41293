"""The interpret stage (decaylm/interpret/pipeline.py): a small model of every kind interpreted, and the
stage of the session's tiny run. Each module of decaylm/interpret/ has its own tests in
tests/test_interpret_<module>.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from decaylm.interpret import attribution
from decaylm.interpret.meme import known_elements_path, read_meme
from decaylm.interpret.pipeline import interpret_elements, interpret_model, run_status


OUTPUTS = {"attributions": "attributions.npz", "motifs": "motifs.tsv", "meme": "motifs.meme",
           "effects": "effects.tsv", "logos": "logos.png", "positional": "positional.png"}


def test_interprets_a_small_model_of_every_kind(tmp_path, one_thread):
    """Every kind of decaylm.models.registry, each a small model folder written as the pipeline writes
    it (tests/helpers/models.py; the pretrained kind fine-tunes a tiny local checkpoint), goes through
    the interpret job: ISM through the model's own predict, gradients where the model has a one-hot
    path, motifs, logos and the known elements' insertion effects."""
    import torch

    from decaylm.models import load_model
    from decaylm.models.registry import KINDS
    from tests.helpers.models import one_model_of_each_kind

    folders = one_model_of_each_kind(tmp_path / "results")
    split_path = tmp_path / "results" / "data" / "split.tsv"
    settings = {"n_sequences": 4, "backgrounds": 2, "position_step": 20, "positional_motifs": 1}
    known = {m.name for m in read_meme(known_elements_path())}
    for kind in KINDS:
        assert kind in folders, f"no small model of kind {kind}: add one to tests/helpers/models.py"
        folder, where = folders[kind], tmp_path / "interpret" / kind
        out = {key: str(where / name) for key, name in OUTPUTS.items()}
        interpret_model(folder.name, folder, folder / "run.json", split_path, out, settings)
        for name in OUTPUTS.values():
            assert (where / name).stat().st_size > 0, (kind, name)
        model = load_model(folder)
        arrays = np.load(where / "attributions.npz")
        sequences = attribution.decode(arrays["one_hot"])
        assert str(arrays["kind"]) == kind and arrays["ism_delta"].shape == (4, 4, 40), kind
        np.testing.assert_allclose(arrays["prediction"], model.predict(sequences), atol=1e-5, err_msg=kind)
        base, position = next((b, p) for p in (7, 8) for b in range(4) if arrays["one_hot"][0, b, p] == 0)
        mutant = sequences[0][:position] + "ACGT"[base] + sequences[0][position + 1:]
        change = model.predict([mutant])[0] - model.predict([sequences[0]])[0]
        assert arrays["ism_delta"][0, base, position] == pytest.approx(change, abs=1e-5), kind
        assert np.abs(arrays["ism_delta"]).max() > 0, kind
        one_hot = model.one_hot_module()
        assert ("saliency_hypothetical" in arrays) == (one_hot is not None), kind
        if one_hot is not None:  # the one-hot path is the model: it scores as predict does
            with torch.no_grad():
                scored = one_hot(torch.from_numpy(arrays["one_hot"]))[:, 0].numpy()
            np.testing.assert_allclose(scored, arrays["prediction"], atol=1e-5, err_msg=kind)
        motif_rows = pd.read_csv(where / "motifs.tsv", sep="\t")
        assert set(motif_rows["model"]) == {folder.name}, kind
        effects = pd.read_csv(where / "effects.tsv", sep="\t")
        assert set(effects["model"]) == {folder.name} and known <= set(effects["element"]), kind
        assert np.isfinite(effects["mean"]).all(), kind
    gradients = {kind for kind in KINDS
                 if "saliency_hypothetical" in np.load(tmp_path / "interpret" / kind / "attributions.npz")}
    assert {"cnn", "legnet", "bert"} <= gradients  # the one-hot networks and a BERT over nucleotides have a one-hot path


def test_ensemble_ism_is_the_mean_of_its_members_ism(tiny_run):
    """What benchmarks/bench_interpret.py --ensemble relies on: an ensemble predicts its members' mean,
    so its ISM maps are the mean of theirs (the tiny run's ENSEMBLE of HYBRID and CNN)."""
    from decaylm.models import load_model

    ensemble = load_model(tiny_run / "models" / "ENSEMBLE")
    sequences = attribution.test_sequences(pd.read_csv(tiny_run / "data" / "split.tsv", sep="\t"), 3, 0)["sequence"].tolist()
    reference, delta = attribution.ism(ensemble, sequences)
    members = [attribution.ism(member, sequences) for member in ensemble.members]
    assert len(members) == 2 and np.abs(delta).max() > 0
    assert np.allclose(delta, np.mean([d for _, d in members], axis=0), atol=1e-5)
    assert np.allclose(reference, np.mean([r for r, _ in members], axis=0), atol=1e-5)


def test_tiny_run_interprets_its_configured_models_and_reports_why_not(tiny_run, tmp_path):
    """The session's tiny run interprets CNN, HYBRID and BERT_BPE (config/tiny.yaml's interpret.models)."""
    import yaml

    from decaylm.models import load_model

    root = tiny_run / "interpret"
    table = pd.read_csv(root / "elements.tsv", sep="\t")
    configured = yaml.safe_load(Path("config/tiny.yaml").read_text())["interpret"]["models"]
    assert set(table["model"]) == set(configured)
    assert (table["status"] == "ok").all() and set(table["element"]) >= {"miR-430", "ARE", "Pumilio", "poly-U"}
    for name in configured:
        for file in ("logos.png", "positional.png", "motifs.tsv", "effects.tsv"):
            assert (root / name / file).stat().st_size > 0
        arrays = np.load(root / name / "attributions.npz")
        assert arrays["ism_delta"].shape == arrays["one_hot"].shape and arrays["one_hot"].shape[1:] == (4, 110)
        assert set(pd.read_csv(root / name / "motifs.tsv", sep="\t").columns) >= {
            "motif", "consensus", "sign", "mean_effect", "seqlets", "best_match", "match_q"}
    for name in ("CNN", "HYBRID"):  # one-hot differentiable: gradients, and the one-hot path is the model
        arrays = np.load(root / name / "attributions.npz")
        assert "saliency_hypothetical" in arrays and float(arrays["saliency_vs_ism_median_r"]) > 0.2
        model = load_model(tiny_run / "models" / name)
        module = model.one_hot_module()
        import torch

        with torch.no_grad():
            out = module(torch.from_numpy(arrays["one_hot"][:8]))[:, 0].numpy()
        assert np.allclose(out, model.predict(attribution.decode(arrays["one_hot"][:8])), atol=1e-5)
    assert load_model(tiny_run / "models" / "BERT_BPE").one_hot_module() is None

    # a model that did not run, and a name never configured: a row with the reason each, the rest completes
    not_run = tmp_path / "run.json"
    not_run.write_text('{"status": "not_run", "reason": "weights not available offline"}')
    assert run_status(not_run) == "not run: weights not available offline"
    out = {key: str(tmp_path / "X" / file) for key, file in (
        ("attributions", "a.npz"), ("motifs", "m.tsv"), ("meme", "m.meme"), ("effects", "e.tsv"),
        ("logos", "l.png"), ("positional", "p.png"))}
    interpret_model("X", tmp_path, not_run, tiny_run / "data" / "split.tsv", out, {})
    assert "weights not available" in pd.read_csv(out["motifs"], sep="\t")["status"][0]
    models = {"CNN": {"dir": str(tiny_run / "models" / "CNN"), "run": str(tiny_run / "models" / "CNN" / "run.json"),
                      "motifs": str(root / "CNN" / "motifs.tsv")},
              "X": {"dir": str(tmp_path), "run": str(not_run), "motifs": out["motifs"]}}
    interpret_elements(models, {"NOPE": "not a configured model"}, tiny_run / "data" / "split.tsv",
                       tmp_path / "elements.tsv", tmp_path / "elements.png", {"backgrounds": 10})
    rows = pd.read_csv(tmp_path / "elements.tsv", sep="\t")
    assert (rows.loc[rows["model"] == "CNN", "status"] == "ok").sum() >= 5
    assert rows.loc[rows["model"] == "X", "status"].str.contains("offline").all()
    assert rows.loc[rows["model"] == "NOPE", "status"].tolist() == ["not a configured model"]
