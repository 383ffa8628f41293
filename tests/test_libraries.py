"""Libraries as a dimension of the workflow (decaylm/libraries.py, docs/libraries.md): one shared split,
per-library targets, models and comparisons, multi-library rows (aux_libraries), and the bad inputs."""

import copy
import json

import numpy as np
import pandas as pd
import pytest

from decaylm.models.auxiliary import library_targets
from decaylm.config import check_config
from decaylm.errors import InputError
from decaylm.libraries import fold_single_library, joint_table, spec_in_library
from decaylm.models import load_model
from tests.helpers.configs import libraries_config, write_config
from tests.helpers.data import write_libraries
from tests.helpers.snakemake import run_snakemake


@pytest.fixture
def two_libraries(config, tmp_path):
    files = write_libraries(tmp_path / "data", n=40)
    config["data"].update(source="utrseq", hours=[0, 2, 4, 8], require_sequences=False, filter_hours=[0],
                          libraries={lib: {"counts": files[lib], "sequences": files["sequences"]} for lib in "AB"})
    config["target"].update(from_hour=2, to_hour=8)
    config.update(predict={"models": []}, interpret={"models": []})
    return config


def test_two_libraries_pass_the_config_check(two_libraries):
    check_config(two_libraries)


@pytest.mark.parametrize("change, key", [
    (lambda c: c["models"].update(X={"kind": "cnn", "aux_libraries": ["C"]}), "models.X.aux_libraries"),
    (lambda c: c["models"].update(X={"kind": "kmer_ridge", "aux_libraries": ["B"]}), "models.X.aux_libraries"),
    (lambda c: c["split"].update(folds=3), "split.folds"),
    (lambda c: c.update(repeats=2), "repeats"),
    (lambda c: c.update(predict={"models": ["CNN"]}), "predict.models"),
    (lambda c: c["data"].update(source="simulated"), "data.libraries"),
    (lambda c: c["data"]["libraries"].update(models=c["data"]["libraries"]["B"]), "data.libraries.models"),
    (lambda c: c["data"]["libraries"]["B"].update(simulate={}), "data.libraries.B.simulate"),
    # a kinetic fit asked of a library with fewer than three hours: refused at start-up, naming it
    (lambda c: (c["target"].update(kind="kinetic"), c["data"]["libraries"]["B"].update(hours=[2, 8], filter_hours=[2])),
     "data.libraries.B: data.hours"),
])
def test_bad_library_config_names_the_key(two_libraries, change, key):
    bad = copy.deepcopy(two_libraries)
    change(bad)
    with pytest.raises(InputError) as error:
        check_config(bad)
    assert str(error.value).startswith(key + ":"), str(error.value)
    assert "\n" not in str(error.value)


def test_aux_libraries_need_several_libraries(config):
    config["models"]["CNN"]["aux_libraries"] = ["A_plus"]
    with pytest.raises(InputError, match=r"^models.CNN.aux_libraries: needs two or more data.libraries"):
        check_config(config)


def test_one_library_is_the_run_without_libraries(config):
    one = copy.deepcopy(config)
    one["data"]["libraries"] = {"A_minus": {"min_reads": 20, "counts": "x.txt"}}
    fold_single_library(one)
    expected = copy.deepcopy(config)
    expected["data"]["counts"] = "x.txt"
    assert one == expected


def test_a_library_entry_skips_its_own_name():
    spec = {"kind": "cnn", "aux_libraries": ["A", "B"]}
    assert spec_in_library(spec, "A")["aux_libraries"] == ["B"]
    assert spec_in_library(spec, "B")["aux_libraries"] == ["A"]
    assert "aux_libraries" not in spec_in_library({"kind": "cnn", "aux_libraries": ["A"]}, "A")
    assert spec_in_library({"kind": "cnn"}, "A") == {"kind": "cnn"}


def _target(ids, sequences, y):
    return pd.DataFrame({"id": ids, "sequence": sequences, "y": y})


def test_joint_table_keeps_the_reporters_of_every_library():
    a = _target(["r1", "r2", "r3"], ["AC", "GT", "TT"], [1.0, 2.0, 3.0])
    b = _target(["r3", "r1", "r9"], ["TT", "AC", "CC"], [30.0, 10.0, 90.0])
    table = joint_table({"A": a, "B": b}, {"A": "a.txt", "B": "b.txt"})
    assert table["id"].tolist() == ["r1", "r3"]
    assert table["y_A"].tolist() == [1.0, 3.0] and table["y_B"].tolist() == [10.0, 30.0]


def test_libraries_sharing_no_ids_are_one_line_naming_both_files():
    a = _target(["r1", "r2"], ["AC", "GT"], [1.0, 2.0])
    b = _target(["s1", "s2"], ["AC", "GT"], [1.0, 2.0])
    with pytest.raises(InputError) as error:
        joint_table({"A": a, "B": b}, {"A": "a.txt", "B": "b.txt"})
    message = str(error.value)
    assert message.startswith("data.libraries: the libraries share no reporter id")
    assert "a.txt" in message and "b.txt" in message and "'s1'" in message and "\n" not in message


def test_a_reporter_with_two_sequences_is_refused():
    with pytest.raises(InputError, match=r"^b.txt: reporter 'r2' has another sequence in library B"):
        joint_table({"A": _target(["r1", "r2"], ["AC", "GT"], [1, 2]), "B": _target(["r1", "r2"], ["AC", "GG"], [1, 2])},
                    {"A": "a.txt", "B": "b.txt"})


def test_auxiliary_library_targets_follow_the_split_and_are_standardized_on_train(tmp_path):
    other = _target(["r3", "r1", "r2", "r4"], ["A"] * 4, [3.0, 1.0, 2.0, 100.0])
    other.to_csv(tmp_path / "B.tsv", sep="\t", index=False)
    split = pd.DataFrame({"id": ["r1", "r2", "r3", "r4"], "split": ["train", "train", "train", "test"]})
    values = library_targets(split, [tmp_path / "B.tsv"], ["B"], "models.X.aux_libraries")
    np.testing.assert_allclose(values[:, 0], (np.array([1.0, 2.0, 3.0, 100.0]) - 2.0) / np.std([1.0, 2.0, 3.0]))
    with pytest.raises(InputError, match="has no target in library B"):
        library_targets(split.assign(id=["r1", "r2", "r3", "r5"]), [tmp_path / "B.tsv"], ["B"], "k")


def test_bad_library_inputs_stop_in_one_line_without_output(tmp_path):
    """A library with no reporter left after its filters, and a count table whose time columns do not
    match data.hours: each job stops with one line naming the file; neither writes its table."""
    files = write_libraries(tmp_path / "data", n=40)
    config = write_config(tmp_path / "config.yaml", libraries_config(files, {"data": {"libraries": {
        "A": {"counts": files["A"], "sequences": files["sequences"], "min_reads": 10 ** 6},
        "B": {"counts": files["B"], "sequences": files["sequences"], "hours": [0, 2, 4, 6, 8]}}}}))
    results = tmp_path / "results"
    done = run_snakemake("--keep-going", "--until", "joint_targets", results=results, configfiles=(config,), check=False)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert f"decaylm error: {files['A']} (library A, data.min_reads): no reporter has >= 1000000 reads" in output
    assert f"decaylm error: {files['B']} row 1: 4 time columns but data.hours has 5 entries" in output
    assert not list(results.glob("*/data/expression.tsv")) and not (results / "data" / "split.tsv").exists()


def test_libraries_sharing_no_ids_stop_the_workflow_before_the_split(tmp_path):
    files = write_libraries(tmp_path / "data", n=40, shared_ids=False)
    results = tmp_path / "results"
    done = run_snakemake("--until", "split_data", results=results, configfiles=(write_config(tmp_path / "config.yaml", libraries_config(files)),),
                         check=False)
    assert done.returncode != 0
    assert "decaylm error: data.libraries: the libraries share no reporter id after their filters" in done.stdout + done.stderr
    assert (results / "A" / "data" / "target.tsv").exists() and not (results / "data" / "joint_targets.tsv").exists()


# ------------------------------------------------------------------------------------------------
# the background run: two libraries A and B (tests/helpers: data.write_libraries, configs.libraries_config)

def test_every_library_is_split_the_same_way_with_its_own_target(libraries_run):
    results = libraries_run["results"]
    shared = pd.read_csv(results / "data" / "split.tsv", sep="\t")
    assert len(shared) == 400  # the EMPTY row and the three count ids without a sequence are not reporters
    for library in "AB":
        split = pd.read_csv(results / library / "data" / "split.tsv", sep="\t")
        target = pd.read_csv(results / library / "data" / "target.tsv", sep="\t").set_index("id")
        assert split["id"].tolist() == shared["id"].tolist() and split["split"].tolist() == shared["split"].tolist()
        np.testing.assert_allclose(split["y"], target.loc[split["id"], "y"])
        np.testing.assert_allclose(split["y"], shared[f"y_{library}"])
    a, b = (pd.read_csv(results / lib / "data" / "split.tsv", sep="\t")["y"] for lib in "AB")
    assert 0.3 < np.corrcoef(a, b)[0, 1] < 0.95  # two libraries, two targets: related, not equal
    assert (results / "tokenizers" / "nt" / "tokenizer.json").exists() and not (results / "A" / "tokenizers").exists()


def test_multi_library_rows_predict_their_own_target(libraries_run):
    results = libraries_run["results"]
    for library, other in (("A", "B"), ("B", "A")):
        split = pd.read_csv(results / library / "data" / "split.tsv", sep="\t")
        for model in ("CNN_BOTH", "HYBRID_BOTH"):
            folder = results / library / "models" / model
            record = json.loads((folder / "model.json").read_text())
            assert record["spec"]["architecture"]["aux_libraries"] == [other]
            predictions = pd.read_csv(folder / "predictions.tsv", sep="\t")
            np.testing.assert_allclose(predictions["y_true"], split["y"])  # scored on its own library only
            test = predictions[predictions["split"] == "test"]
            np.testing.assert_allclose(load_model(folder).predict(split.loc[test.index, "sequence"].tolist()),
                                       test["y_pred"], atol=1e-5)
            metrics = json.loads((folder / "metrics.json").read_text())
            assert metrics["n_test"] == (split["split"] == "test").sum()


def test_the_libraries_side_by_side(libraries_run):
    results = libraries_run["results"]
    table = pd.read_csv(results / "libraries.tsv", sep="\t").set_index("model")
    assert set(table.index) == {"RIDGE", "CNN_BOTH", "HYBRID_BOTH", "ENS"}
    for library in "AB":
        comparison = pd.read_csv(results / library / "comparison.tsv", sep="\t").set_index("model")
        np.testing.assert_allclose(table[f"r2_{library}"], comparison.loc[table.index, "r2"])
        assert "[libraries.md](../libraries.md)" in (results / library / "comparison.md").read_text()
        depth = pd.read_csv(results / library / "r2_by_depth.tsv", sep="\t")  # R2 by read depth, per library
        assert set(depth["model"]) == set(table.index)
        assert depth.groupby("bin")["n_test"].first().sum() == comparison["n_test"].iloc[0]
    for library in "AB":  # the ensemble averages its own library's members
        members = [pd.read_csv(results / library / "models" / m / "predictions.tsv", sep="\t")["y_pred"]
                   for m in ("CNN_BOTH", "HYBRID_BOTH")]
        ensemble = pd.read_csv(results / library / "models" / "ENS" / "predictions.tsv", sep="\t")
        np.testing.assert_allclose(ensemble["y_pred"], (members[0] + members[1]) / 2, atol=1e-6)
    # the rates follow the TTT/GGG counts: k-mer ridge learns library A (the less noisy) well
    assert table.at["RIDGE", "r2_A"] > 0.5 and table.at["RIDGE", "r2_B"] > 0.0
    markdown = (results / "libraries.md").read_text()
    assert "[A](A/comparison.md)" in markdown and "| B | 400 | 400 |" in markdown
