"""The workflow's predict stage (rules/predict.smk): config checks, the tiny run's scores of the
simulator's long 3'UTRs and their profiles, and variants added to a finished run."""

import copy
import re
import shutil

import pandas as pd
import pytest
import yaml

from decaylm.config import check_config
from decaylm.errors import InputError
from decaylm.predict import window_starts
from decaylm.simulate import config_from_params, simulate_long_utrs
from tests.helpers.configs import default_config
from tests.helpers.paths import REPO
from tests.helpers.snakemake import run_snakemake

DEFAULTS = default_config()
TINY = yaml.safe_load((REPO / "config" / "tiny.yaml").read_text())


@pytest.fixture
def config():
    loaded = copy.deepcopy(DEFAULTS)
    loaded.setdefault("pretraining", {})
    return loaded


def _error(config) -> str:
    with pytest.raises(InputError) as error:
        check_config(config)
    return str(error.value)


def test_default_predict_config_passes_and_names_trained_models(config):
    check_config(config)  # `simulated` needs no file: the workflow makes it
    assert config["predict"]["sequences"] == {"long_utrs": "simulated"}
    assert set(config["predict"]["models"]) <= set(config["models"])


def test_predict_config_errors_are_one_line_naming_the_key(config, tmp_path):
    bad = copy.deepcopy(config)
    bad["predict"]["models"] = ["CNN", "CNNN"]
    message = _error(bad)
    assert message.startswith("predict.models: 'CNNN' is not a configured model (use one of [")
    assert "'KMER_RIDGE'" in message and "\n" not in message

    bad = copy.deepcopy(config)
    bad["predict"]["sequences"]["mine"] = str(tmp_path / "missing.fa")
    assert _error(bad).startswith(f"predict.sequences.mine: file '{tmp_path / 'missing.fa'}' not found (")

    (tmp_path / "seqs.fa").write_text(">a\nACGT\n")
    bad = copy.deepcopy(config)
    bad["predict"]["variants"] = {"v": {"sequences": "nope", "file": str(tmp_path / "seqs.fa")}}
    assert _error(bad).startswith("predict.variants.v.sequences: 'nope' is not under predict.sequences")
    bad["predict"]["variants"] = {"v": {"sequences": "long_utrs", "file": str(tmp_path / "v.tsv")}}
    assert _error(bad).startswith("predict.variants.v.file: file")


def test_dry_run_stops_at_start_up_on_an_unknown_model(tmp_path):
    override = tmp_path / "override.yaml"
    override.write_text("predict: {models: [CNN, NOPE]}\n")
    done = run_snakemake("-n", results=tmp_path / "results", configfiles=("config/tiny.yaml", str(override)),
                         check=False)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    lines = [line for line in output.splitlines() if "config error: predict.models: 'NOPE' is not a configured model" in line]
    assert lines and "Traceback" not in output, output
    assert not (tmp_path / "results").exists()


def test_the_tiny_run_scores_long_utrs_and_draws_profiles(tiny_run):
    """config/tiny.yaml scores the simulator's long 3'UTRs with CNN and ENSEMBLE: window tables,
    summaries and the figure."""
    long_utrs, _ = simulate_long_utrs(config_from_params(TINY["data"]["simulate"]))
    predict = tiny_run / "predict"
    models = TINY["predict"]["models"]
    assert sorted(p.name for p in predict.iterdir()) == sorted([*models, "long_utrs_profiles.png"])
    assert (predict / "long_utrs_profiles.png").read_bytes()[:4] == b"\x89PNG"
    lengths = long_utrs.set_index("id")["sequence"].str.len()
    for model in models:
        windows = pd.read_csv(predict / model / "long_utrs.tsv", sep="\t")
        expected = ["id", "start", "end", model] + ([f"{model}_sd"] if model == "ENSEMBLE" else [])
        assert list(windows.columns) == expected
        assert len(windows) == sum(len(window_starts(n, 110, 10)) for n in lengths)  # stride 10, 110-nt reporters
        assert windows[model].notna().all() and (windows["end"] - windows["start"] == 109).all()
        summary = pd.read_csv(predict / model / "long_utrs.summary.tsv", sep="\t")
        assert list(summary["id"]) == list(long_utrs["id"]) and (summary["length"] == lengths.to_numpy()).all()
    assert "scored 6 sequences" in (tiny_run / "logs" / "predict" / "CNN" / "long_utrs.log").read_text()
    assert (tiny_run / "benchmarks" / "plot_profiles" / "long_utrs.tsv").exists()


def test_variants_added_to_a_finished_run_score_without_retraining(tiny_run, tmp_path):
    """A variants entry added to a finished run's config runs predict_variants alone."""
    long_utrs, elements = simulate_long_utrs(config_from_params(TINY["data"]["simulate"]))
    site = elements[(elements["id"] == "LONG_UTR_1") & (elements["kind"] == "mir430")].iloc[0]
    variants = tmp_path / "variants.tsv"
    variants.write_text(f"id\tposition\tref\talt\nLONG_UTR_1\t{site.start}\t{site.motif}\t-\n"
                        f"LONG_UTR_2\t100\t{long_utrs['sequence'][1][99]}\tN\n")
    results = tmp_path / "results"
    shutil.copytree(tiny_run, results)  # copy2 keeps the times: nothing upstream is out of date
    override = tmp_path / "override.yaml"
    override.write_text(yaml.safe_dump({"predict": {"variants": {"mir430": {"sequences": "long_utrs",
                                                                            "file": str(variants)}}}}))
    target = [str(results / "predict" / model / "variants_mir430.tsv") for model in TINY["predict"]["models"]]
    done = run_snakemake(*target, results=results, configfiles=("config/tiny.yaml", str(override)))
    ran = set(re.findall(r"^(?:local)?rule (\w+):", done.stdout + done.stderr, re.M))
    assert ran == {"predict_variants"}, ran
    for model in TINY["predict"]["models"]:
        scored = pd.read_csv(results / "predict" / model / "variants_mir430.tsv", sep="\t")
        assert list(scored.columns)[:7] == ["id", "position", "ref", "alt", f"{model}_ref", f"{model}_alt",
                                            f"{model}_delta"]
        assert len(scored) == 2 and scored[f"{model}_delta"].notna().all()
        assert scored.loc[0, "ref"] == site.motif and scored.loc[0, "alt"] == "-"
