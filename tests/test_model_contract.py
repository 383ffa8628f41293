"""The model contract: every kind trains on tiny data through its job, saves one model folder
(model.json beside the weights), and `load_model(folder).predict` gives the job's predictions back,
in a fresh process, from the folder alone, and after the results folder has been moved."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from decaylm.errors import InputError
from decaylm.io import read_tsv, write_tsv
from decaylm.models.registry import KINDS, parse_model_spec, parse_pretraining_spec
from decaylm.models import load_model
from decaylm.models.artifact import FORMAT, MODEL_FILE
from decaylm.models.ensemble import average_predictions, write_ensemble
from decaylm.models.jobs import run_model_job
from decaylm.models.mlm import pretrain
from decaylm.repeats import combine_repeats
from decaylm.tokenizers import train_tokenizer
from tests.helpers.paths import REPO
from tests.helpers.models import save_tiny_checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")
TINY_BERT = {"layers": 1, "hidden": 16, "heads": 2, "intermediate": 32, "epochs": 2, "batch_size": 32}
SPECS = {
    "KMER_RIDGE": {"kind": "kmer_ridge", "k_max": 4, "cv_folds": 3},
    "CNN": {"kind": "cnn", "channels": 8, "epochs": 2, "batch_size": 32, "aux_hours": [4]},
    "LEGNET": {"kind": "legnet", "stem_channels": 8, "block_channels": [8, 6], "expand": 2, "shift": 3, "epochs": 2,
               "batch_size": 32, "aux_hours": [4]},
    "BERT_K3": {"kind": "bert", "tokenizer": "k3", **TINY_BERT},
    # a tokenizer with a model file of its own (Morfessor's segmentations): the folder must still load
    "BERT_MORFESSOR": {"kind": "bert", "tokenizer": "morfessor", **TINY_BERT},
    "HYBRID": {"kind": "bert", "tokenizer": "nt", **TINY_BERT, "conv_stem": [5, 3], "stem_pool": 2, "aux_hours": [0, 4]},
    "BERT_MLM": {"kind": "bert", "tokenizer": "nt", "init_from": "mlm_nt", "epochs": 1},
    "DNABERT_TINY": {"kind": "pretrained", "epochs": 1, "lr": 1e-3, "max_length": 64},
}
HOURS = [0, 2, 4]


def tiny_split(n: int = 240, length: int = 50, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sequences = ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]
    y = np.array([s.count("TAT") - 0.5 * s.count("GC") for s in sequences]) + rng.normal(0, 0.2, n)
    part = np.where(np.arange(n) < 0.7 * n, "train", np.where(np.arange(n) < 0.85 * n, "valid", "test"))
    return pd.DataFrame({"id": [f"r{i}" for i in range(n)], "sequence": sequences, "y": y, "split": part,
                         "group": np.arange(n)})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A results folder with one model folder per kind, each written by its job."""
    root = tmp_path_factory.mktemp("contract")
    results = root / "results"
    split = tiny_split()
    write_tsv(split, results / "data" / "split.tsv")
    expression = split[["id", "sequence"]].copy()
    for hour in HOURS:
        expression[f"{hour}h"] = -0.1 * hour * split["y"] + np.random.default_rng(hour).normal(0, 0.1, len(split))
    write_tsv(expression, results / "data" / "expression.tsv")
    train = split[split["split"] == "train"]
    for name, spec in {"nt": {"kind": "nucleotide"}, "k3": {"kind": "kmer", "k": 3},
                       "morfessor": {"kind": "morfessor", "max_len": 5}}.items():
        train_tokenizer(spec, train["sequence"].tolist(), train["y"].to_numpy(), results / "tokenizers" / name, seed=0)
    pretrain(split, parse_pretraining_spec("mlm_nt", {"tokenizer": "nt", **TINY_BERT, "epochs": 1}),
             results / "tokenizers" / "nt", results / "pretrained" / "mlm_nt")
    # a local "hub" checkpoint for the pretrained kind
    checkpoint = save_tiny_checkpoint(root / "tiny_checkpoint", hidden=16, layers=1, intermediate=32)
    SPECS["DNABERT_TINY"]["checkpoint"] = str(checkpoint)
    for name, spec in SPECS.items():
        inputs = {"expression_path": str(results / "data" / "expression.tsv")} if spec["kind"] in ("cnn", "legnet", "bert") else {}
        if spec.get("tokenizer"):
            inputs["tokenizer_dir"] = str(results / "tokenizers" / spec["tokenizer"])
        if spec.get("init_from"):
            inputs["pretrained_dir"] = str(results / "pretrained" / spec["init_from"])
        folder = results / "models" / name
        run_model_job(name, spec, results / "data" / "split.tsv", folder / "predictions.tsv", folder / "run.json",
                      seed=1, **inputs)
    members = [results / "models" / name for name in ("CNN", "HYBRID", "KMER_RIDGE")]
    ensemble = results / "models" / "ENSEMBLE"
    write_tsv(average_predictions({m.name: read_tsv(m / "predictions.tsv") for m in members}),
              ensemble / "predictions.tsv", float_format="%.8g")
    write_ensemble(ensemble, parse_model_spec("ENSEMBLE", {"kind": "ensemble", "members": [m.name for m in members]}),
                   members)
    repeats = results / "models" / "CNN_REPEATS"  # kind repeat_ensemble: the mean of a model's repeats
    for r in (1, 2):
        run_model_job("CNN_REPEATS", SPECS["CNN"], results / "data" / "split.tsv", repeats / f"repeat{r}" / "predictions.tsv",
                      repeats / f"repeat{r}" / "run.json", seed=r, expression_path=str(results / "data" / "expression.tsv"))
    combine_repeats("CNN_REPEATS", [repeats / f"repeat{r}" / "predictions.tsv" for r in (1, 2)],
                    [repeats / f"repeat{r}" / "run.json" for r in (1, 2)], repeats)
    shutil.rmtree(checkpoint)  # the model folder must not need the checkpoint it was fine-tuned from
    return results


# the kind of every model folder the fixture writes: one of each kind of the registry
KIND_OF = {**{name: spec["kind"] for name, spec in SPECS.items()}, "ENSEMBLE": "ensemble",
           "CNN_REPEATS": "repeat_ensemble"}


def test_the_contract_covers_every_registered_kind():
    """A kind added to decaylm.models.registry without a folder here fails this test."""
    assert set(KIND_OF.values()) == set(KINDS)


def fresh_process_predictions(models_dir) -> dict[str, list[float]]:
    """Every model folder loaded and scored on its job's sequences in a new Python process."""
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "import pandas as pd\n"
        "from decaylm.models import load_model\n"
        "out = {}\n"
        "for folder in sorted(Path(sys.argv[1]).iterdir()):\n"
        "    ids = pd.read_csv(folder / 'predictions.tsv', sep='\\t')['id']\n"
        "    split = pd.read_csv(sys.argv[2], sep='\\t').set_index('id')\n"
        "    out[folder.name] = load_model(folder).predict(split.loc[ids, 'sequence'].tolist()).tolist()\n"
        "print(json.dumps(out))\n"
    )
    split = models_dir.parent / "data" / "split.tsv"
    done = subprocess.run([sys.executable, "-c", code, str(models_dir), str(split)], capture_output=True, text=True,
                          cwd=REPO, timeout=300, env={"PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1",
                                                      "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def assert_reproduces_the_jobs(models_dir, predictions: dict) -> None:
    assert sorted(predictions) == sorted(KIND_OF)
    for name, values in predictions.items():
        table = read_tsv(models_dir / name / "predictions.tsv")
        np.testing.assert_allclose(values, table["y_pred"], atol=1e-5, rtol=0, err_msg=name)


def test_every_kind_writes_model_json_beside_its_weights(trained):
    for name, kind in KIND_OF.items():
        record = json.loads((trained / "models" / name / MODEL_FILE).read_text())
        assert record["format"] == FORMAT and record["kind"] == kind and record["name"] == name
        assert record["input_length"] == 50 and "torch" in record["versions"]
        for relative in record["files"].values():
            assert not relative.startswith("/") and (trained / "models" / name / relative).exists()
    assert json.loads((trained / "models" / "ENSEMBLE" / MODEL_FILE).read_text())["members"] == [
        "../CNN", "../HYBRID", "../KMER_RIDGE"]
    assert json.loads((trained / "models" / "BERT_K3" / MODEL_FILE).read_text())["min_length"] == 3
    assert json.loads((trained / "models" / "CNN_REPEATS" / MODEL_FILE).read_text())["members"] == [
        "repeat1", "repeat2"]


def test_the_jobs_learned_something(trained):
    """The folders hold trained models, not noise: the ridge and the ensemble track the planted signal."""
    for name in ("KMER_RIDGE", "ENSEMBLE"):
        table = read_tsv(trained / "models" / name / "predictions.tsv")
        test = table[table["split"] == "test"]
        assert np.corrcoef(test["y_true"], test["y_pred"])[0, 1] > 0.5, name


def test_a_fresh_process_reproduces_every_jobs_predictions(trained):
    assert_reproduces_the_jobs(trained / "models", fresh_process_predictions(trained / "models"))


def test_a_moved_results_folder_still_loads(trained, tmp_path):
    moved = tmp_path / "elsewhere" / "results"
    shutil.copytree(trained, moved)  # a copy: the module's other tests keep the original
    shutil.rmtree(moved / "tokenizers")
    shutil.rmtree(moved / "pretrained")  # the model folders need neither
    assert_reproduces_the_jobs(moved / "models", fresh_process_predictions(moved / "models"))


def test_an_ensemble_gives_its_members(trained):
    ensemble = load_model(trained / "models" / "ENSEMBLE")
    sequences = read_tsv(trained / "data" / "split.tsv")["sequence"].tolist()[:20]
    members = ensemble.predict_members(sequences)
    assert [m.name for m in ensemble.members] == ["CNN", "HYBRID", "KMER_RIDGE"]
    assert members.shape == (3, 20)
    np.testing.assert_allclose(ensemble.predict(sequences), members.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(members[2], load_model(trained / "models" / "KMER_RIDGE").predict(sequences), rtol=1e-6)


def test_not_a_model_folder_is_one_line(trained, tmp_path):
    with pytest.raises(InputError, match="is not a model folder: it does not exist"):
        load_model(tmp_path / "missing")
    with pytest.raises(InputError, match=f"is not a model folder: it has no {MODEL_FILE}"):
        load_model(trained / "tokenizers")
    old = tmp_path / "old"
    shutil.copytree(trained / "models" / "KMER_RIDGE", old)
    record = json.loads((old / MODEL_FILE).read_text())
    (old / MODEL_FILE).write_text(json.dumps({**record, "format": FORMAT + 1}))
    with pytest.raises(InputError, match=f"model format {FORMAT + 1}; this decaylm reads format {FORMAT}"):
        load_model(old)
    (old / MODEL_FILE).write_text("{not json")
    with pytest.raises(InputError, match="is not valid JSON"):
        load_model(old)


def test_a_job_removes_a_stale_model_json_before_it_trains(trained, tmp_path):
    """A job that fails leaves no model.json of an earlier run beside half-replaced weights."""
    folder = tmp_path / "models" / "KMER_RIDGE"
    shutil.copytree(trained / "models" / "KMER_RIDGE", folder)
    split = read_tsv(trained / "data" / "split.tsv").assign(group=0)  # one group: 3 CV folds are impossible
    write_tsv(split, tmp_path / "split.tsv")
    with pytest.raises(InputError, match="cv_folds"):
        run_model_job("KMER_RIDGE", SPECS["KMER_RIDGE"], tmp_path / "split.tsv", folder / "predictions.tsv",
                      folder / "run.json", seed=1)
    assert not (folder / MODEL_FILE).exists()


def test_a_score_does_not_depend_on_the_sequences_scored_beside_it(trained):
    """Sequences of different lengths pad their batches differently; each one's score is the same
    alone, among others, and in another order (decaylm.models.training.predict pads nothing)."""
    rng = np.random.default_rng(5)
    sequences = ["".join(rng.choice(list("ACGT"), n)) for n in rng.integers(20, 50, 40)]
    for name in ("BERT_K3", "HYBRID", "BERT_MLM", "CNN", "DNABERT_TINY"):
        model = load_model(trained / "models" / name)
        together = model.predict(sequences)
        alone = np.array([model.predict([s])[0] for s in sequences[:8]])
        np.testing.assert_allclose(alone, together[:8], atol=1e-6, rtol=0, err_msg=name)
        np.testing.assert_allclose(model.predict(sequences[::-1])[::-1], together, atol=1e-6, rtol=0, err_msg=name)


def test_kmer_ridge_weight_tables_give_the_pipelines_predictions(trained):
    """The loaded KMER_RIDGE predicts from its weight tables; they must give the fitted sklearn
    pipeline's numbers, for reporters, other lengths, N and letters the vocabulary never saw."""
    from decaylm.models import load_model

    model = load_model(trained / "models" / "KMER_RIDGE")
    rng = np.random.default_rng(0)
    sequences = ["".join(rng.choice(list("ACGT"), size=n)) for n in (110, 110, 37, 3, 250)]
    sequences += ["ACGTNNACGT" * 11, "ACGTRYACGT" * 3, "A"]
    expected = model.pipeline.predict(sequences)
    assert np.allclose(model.predict(sequences), expected, rtol=1e-5, atol=1e-5)
    assert np.ptp(expected) > 0.01  # the sequences score differently, so equality means something
