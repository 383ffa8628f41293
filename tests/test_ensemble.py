import json

import numpy as np
import pandas as pd
import pytest

from decaylm.errors import InputError
from decaylm.evaluate import model_metrics
from decaylm.models.ensemble import average_predictions


def _frame(pred, ids=("a", "b", "c")):
    return pd.DataFrame({"id": list(ids), "split": ["train", "valid", "test"], "y_true": [1.0, 2.0, 3.0],
                         "y_pred": pred})


def test_mean_of_members_has_lower_test_error_than_each():
    """Three members with independent errors: the ensemble predicts their mean, and its test MSE
    (scored as the comparison scores every model) is below every member's."""
    rng = np.random.default_rng(0)
    n = 300
    y = rng.normal(size=n)
    split = np.resize(["train", "valid", "test"], n)
    members = {name: pd.DataFrame({"id": [f"r{i}" for i in range(n)], "split": split, "y_true": y,
                                   "y_pred": y + rng.normal(scale=0.5, size=n)}) for name in ("A", "B", "C")}
    out = average_predictions(members)
    assert list(out.columns) == ["id", "split", "y_true", "y_pred"]
    np.testing.assert_allclose(out["y_pred"], np.mean([m["y_pred"] for m in members.values()], axis=0))
    mse = {name: model_metrics(name, frame, {"status": "ok"})["mse"] for name, frame in {**members, "E": out}.items()}
    assert mse["E"] < min(mse[name] for name in members), mse


def test_tiny_run_ensemble_is_the_mean_of_its_members(tiny_run):
    """In the tiny pipeline the ENSEMBLE row averages its configured members' predictions, row by row."""
    settings = json.loads((tiny_run / "provenance.json").read_text())["settings"]
    ensembles = {name: spec["members"] for name, spec in settings["models"].items() if spec["kind"] == "ensemble"}
    assert ensembles, "the tiny config has no ensemble"
    for name, members in ensembles.items():
        read = lambda model: pd.read_csv(tiny_run / "models" / model / "predictions.tsv", sep="\t")
        ensemble, frames = read(name), [read(member) for member in members]
        for frame in frames:
            assert frame[["id", "split"]].equals(ensemble[["id", "split"]])
        np.testing.assert_allclose(ensemble["y_pred"], np.mean([f["y_pred"] for f in frames], axis=0),
                                   rtol=1e-5, atol=1e-5)  # written with 6 significant digits


def test_members_must_cover_the_same_reporters():
    with pytest.raises(InputError, match="predicts other reporters"):
        average_predictions({"A": _frame([1.0, 2, 3]), "B": _frame([1.0, 2, 3], ids=("a", "b", "x"))})


def test_a_member_that_did_not_run_is_refused():
    with pytest.raises(InputError, match=r"\['B'\] did not run"):
        average_predictions({"A": _frame([1.0, 2, 3]), "B": _frame([np.nan] * 3)})


# ---------------------------------------------------------------------------------------------
# members: auto -- chosen on valid only

def _candidates(seed=0, n=400):
    """Four candidates that each see part of y (different parts, so averaging helps), on valid and test
    rows; on test, C+D would be the best pair, on valid A+B is."""
    rng = np.random.default_rng(seed)
    split = np.resize(["train", "valid", "test"], n)
    y = rng.normal(size=n)
    valid = split == "valid"
    noise = {name: rng.normal(scale=0.6, size=n) for name in "ABCD"}
    scale = {"A": np.where(valid, 0.5, 1.5), "B": np.where(valid, 0.5, 1.5), "C": np.where(valid, 1.2, 0.3),
             "D": np.where(valid, 1.2, 0.3)}
    return {name: pd.DataFrame({"id": [f"r{i}" for i in range(n)], "split": split, "y_true": y,
                                "y_pred": y + scale[name] * noise[name]}) for name in "ABCD"}


def _scrambled_test(frames, how):
    """The same predictions with every test row's y_pred (and y_true) replaced."""
    out = {}
    for name, frame in frames.items():
        frame = frame.copy()
        test = frame["split"] == "test"
        if how == "nan":
            frame.loc[test, ["y_true", "y_pred"]] = np.nan
        else:
            rng = np.random.default_rng(len(out))
            frame.loc[test, "y_pred"] = rng.normal(scale=10, size=int(test.sum()))
            frame.loc[test, "y_true"] = rng.permutation(frame.loc[test, "y_true"].to_numpy())
        out[name] = frame
    return out


def test_members_auto_chooses_on_valid_and_never_reads_test():
    """The choice and every valid figure are the same when the candidates' test rows are scrambled or
    NaN (NaN would propagate into any figure that read them); the test rows would have chosen other
    members."""
    from decaylm.models.ensemble import choose_members

    frames = _candidates()
    members, table, excluded = choose_members(frames, max_size=3)
    assert members == ["A", "B"] and excluded == {}
    assert table["valid_r2"].is_monotonic_decreasing and table["chosen"].sum() == 1
    assert len(table) == 4 + 6 + 4 and set(table["size"]) == {1, 2, 3}  # every combination of 1..3
    on_test = {pair: model_metrics("E", average_predictions({m: frames[m] for m in pair}), {"status": "ok"})["r2"]
               for pair in [("A", "B"), ("C", "D")]}
    assert on_test[("C", "D")] > on_test[("A", "B")]  # test would have chosen C+D: the choice did not look
    for how in ("nan", "scrambled"):
        again, table_again, _ = choose_members(_scrambled_test(frames, how), max_size=3)
        assert again == members
        pd.testing.assert_frame_equal(table_again, table)
        assert table_again["valid_r2"].notna().all()


def test_members_auto_leaves_out_rows_that_did_not_run():
    from decaylm.models.ensemble import choose_members

    frames = _candidates()
    frames["DNABERT2"] = frames["A"].assign(y_pred=np.nan)
    members, table, excluded = choose_members(frames, max_size=2)
    assert members == ["A", "B"] and list(excluded) == ["DNABERT2"] and "did not run" in excluded["DNABERT2"]
    assert not table["members"].str.contains("DNABERT2").any()
    with pytest.raises(InputError, match="needs two or more rows that ran"):
        choose_members({"A": frames["A"], "DNABERT2": frames["DNABERT2"]}, max_size=3)


def test_members_auto_resolves_to_the_other_rows_that_are_not_ensembles():
    from decaylm.config import resolve_auto_members

    config = {"models": {"A": {"kind": "cnn"}, "B": {"kind": "kmer_ridge"}, "P": {"kind": "pretrained"},
                         "HAND": {"kind": "ensemble", "members": ["A", "B"]}, "SEEDS": {"kind": "repeat_ensemble"},
                         "AUTO": {"kind": "ensemble", "members": "auto", "max_size": 2}}}
    resolve_auto_members(config)
    assert config["models"]["AUTO"] == {"kind": "ensemble", "members": ["A", "B", "P"], "max_size": 2, "choose": "valid"}
    assert config["models"]["HAND"] == {"kind": "ensemble", "members": ["A", "B"]}  # a list stays as written
    resolve_auto_members(config)  # idempotent
    assert config["models"]["AUTO"]["members"] == ["A", "B", "P"]
    with pytest.raises(InputError, match=r"models.AUTO.members: auto needs two or more other rows"):
        resolve_auto_members({"models": {"A": {"kind": "cnn"}, "AUTO": {"kind": "ensemble", "members": "auto"}}})


def _member_folder(root, name, frame):
    from decaylm.models.registry import parse_model_spec
    from decaylm.models.artifact import write_model_json

    folder = root / name
    folder.mkdir(parents=True)
    frame.to_csv(folder / "predictions.tsv", sep="\t", index=False)
    write_model_json(folder, parse_model_spec(name, {"kind": "kmer_ridge"}), 110, {})
    return folder / "predictions.tsv"


def _run_ensemble_job(root, name, spec, inputs):
    import runpy
    from types import SimpleNamespace

    from snakemake.iocontainers import Namedlist

    from tests.helpers.paths import REPO

    out = root / name
    job = SimpleNamespace(input=Namedlist(fromdict={"members": [str(p) for p in inputs]}),
                          output=Namedlist(fromdict={"predictions": str(out / "predictions.tsv"),
                                                     "run": str(out / "run.json"),
                                                     "selection": str(out / "selection.tsv")}),
                          params=SimpleNamespace(spec=spec, seed=0, repo=str(REPO)), wildcards=SimpleNamespace(model=name),
                          log=Namedlist([str(root / f"{name}.log")]))
    runpy.run_path(str(REPO / "scripts" / "ensemble_models.py"), init_globals={"snakemake": job}, run_name="__main__")
    return json.loads((out / "run.json").read_text()), pd.read_csv(out / "selection.tsv", sep="\t")


def test_the_ensemble_job_records_its_choice_and_the_table_marks_it(tmp_path):
    """The job (scripts/ensemble_models.py as the rule runs it): members: auto writes the choice and
    every combination's valid figures (selection.tsv, run.json), the same with the candidates' test
    rows scrambled; model.json names the chosen members only; the comparison marks the row chosen on
    valid, and a hand-written list not."""
    from decaylm.evaluate import comparison_markdown, comparison_table
    from decaylm.models.artifact import read_model_json

    frames = _candidates()
    frames["DNABERT2"] = frames["A"].assign(y_pred=np.nan)
    auto = {"kind": "ensemble", "members": sorted(frames), "choose": "valid", "max_size": 3}
    records = {}
    for how in ("as trained", "scrambled"):
        root = tmp_path / how.replace(" ", "_")
        given = frames if how == "as trained" else _scrambled_test(frames, how)
        inputs = [_member_folder(root, name, frame) for name, frame in given.items()]
        records[how] = _run_ensemble_job(root, "AUTO", auto, inputs)
    (run, selection), (run_scrambled, selection_scrambled) = records.values()
    assert run["members"] == ["A", "B"] and run["chosen_on_valid"] is True
    assert run["selection"]["excluded"] == {"DNABERT2": "did not run (no valid predictions)"}
    assert run["selection"] == run_scrambled["selection"]
    pd.testing.assert_frame_equal(selection, selection_scrambled)
    assert selection.loc[selection["chosen"], "members"].tolist() == ["A,B"]
    record = read_model_json(tmp_path / "as_trained" / "AUTO")
    assert record["spec"]["members"] == ["A", "B"] and record["members"] == ["../A", "../B"]
    ensemble = pd.read_csv(tmp_path / "as_trained" / "AUTO" / "predictions.tsv", sep="\t")
    np.testing.assert_allclose(ensemble["y_pred"], (frames["A"]["y_pred"] + frames["B"]["y_pred"]) / 2, rtol=1e-5)

    hand_run, hand_selection = _run_ensemble_job(tmp_path / "as_trained", "HAND",
                                                 {"kind": "ensemble", "members": ["C", "D"]},
                                                 [tmp_path / "as_trained" / m / "predictions.tsv" for m in "CD"])
    assert hand_run["chosen_on_valid"] is False and hand_selection["chosen"].tolist() == [False]
    metrics = [model_metrics(name, pd.read_csv(tmp_path / "as_trained" / name / "predictions.tsv", sep="\t"), record)
               for name, record in (("AUTO", run), ("HAND", hand_run), ("A", {"status": "ok"}))]
    table = comparison_table(metrics)
    marks = dict(zip(table["model"], table["chosen_on_valid"]))
    assert marks["AUTO"] is True and marks["HAND"] is False and pd.isna(marks["A"])
    text = comparison_markdown(table)
    assert "AUTO: the mean of A, B, chosen on valid by the pipeline" in text
    assert "HAND: the mean of C, D, listed in the config (not chosen on valid)" in text


@pytest.mark.parametrize("ensemble, expect", [
    ({"members": "some"}, "models.E.members: 'some' is neither two or more model names nor auto (give e.g."),
    ({"members": ["A"]}, "models.E.members: ['A'] is neither two or more model names nor auto"),
    ({"members": "auto", "max_size": 1}, "models.E.max_size: 1 is out of range (use a value >= 2)"),
    ({"members": ["A", "E2"]}, "models.E.members: needs two or more trained models"),
])
def test_ensemble_config_errors_are_one_line(ensemble, expect):
    """As the workflow parses the config (decaylm.workflow.prepare_config: schema, then decaylm.config)."""
    from tests.helpers.configs import ConfigRefused, minimal_config, workflow_config

    models = {"A": {"kind": "kmer_ridge", "k_max": 3}, "B": {"kind": "kmer_ridge", "k_max": 2},
              "E2": {"kind": "ensemble", "members": ["A", "B"]}, "E": {"kind": "ensemble", **ensemble}}
    with pytest.raises(ConfigRefused) as refused:
        workflow_config(minimal_config(), {"models": models}, {"predict": {"models": []}})
    assert expect in str(refused.value) and "\n" not in str(refused.value)


def test_members_auto_reaches_the_rules_as_the_candidate_list():
    """auto becomes the candidates with choose: valid; a list written over `members: auto, max_size: N`
    in a lower config layer (as config/tiny.yaml over config.yaml) stays a hand-written list."""
    from tests.helpers.configs import minimal_config, workflow_config

    models = {"A": {"kind": "kmer_ridge", "k_max": 3}, "B": {"kind": "kmer_ridge", "k_max": 2},
              "E2": {"kind": "ensemble", "members": "auto", "max_size": 2}, "E": {"kind": "ensemble", "members": "auto"}}
    layered = {"models": {"E2": {"members": ["A", "B"]}}}
    config = workflow_config(minimal_config(), {"models": models}, layered, {"predict": {"models": ["E"]}})
    assert config["models"]["E"] == {"kind": "ensemble", "members": ["A", "B", "KMER_RIDGE"], "choose": "valid"}
    assert config["models"]["E2"] == {"kind": "ensemble", "members": ["A", "B"], "max_size": 2}


def test_members_are_named_as_in_the_config_whatever_their_folders(tmp_path):
    """Under split.folds a member's folder is models/NAME/foldK: the job names members by the config's
    names, not by their folders' names (which would all be fold1)."""
    from decaylm.models.artifact import read_model_json

    frames = _candidates()
    inputs = [_member_folder(tmp_path / name, "fold1", frames[name]) for name in "ABCD"]
    run, _ = _run_ensemble_job(tmp_path, "AUTO", {"kind": "ensemble", "members": list("ABCD"),
                                                         "choose": "valid"}, inputs)
    assert run["members"] == ["A", "B"] and run["selection"]["candidates"] == list("ABCD")
    record = read_model_json(tmp_path / "AUTO")
    assert record["spec"]["members"] == ["A", "B"] and record["members"] == ["../A/fold1", "../B/fold1"]
