"""DAG pictures (graphviz) and the self-contained HTML report."""

import shutil
import subprocess

import pytest

from tests.helpers.snakemake import run_snakemake


def _svg(dot_source: str) -> str:
    return subprocess.run(["dot", "-Tsvg"], input=dot_source, capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz (dot) is not installed; make test installs it")
def test_dag_and_rule_graph_render_as_svg(tmp_path):
    for kind in ("--dag", "--rulegraph"):
        done = run_snakemake(kind, results=tmp_path / "results")
        svg = _svg(done.stdout)
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg
        for rule in ("normalize_expression", "split_data", "train_tokenizer", "train_bert", "compare_models"):
            assert rule in svg, (kind, rule)


def test_report_holds_the_comparison_and_figures(tiny_run, tmp_path):
    report = tmp_path / "report.html"
    run_snakemake("--report", str(report), results=tiny_run)
    html = report.read_text()
    assert "comparison.tsv" in html and "pred_vs_measured.png" in html and "token_counts.png" in html
    assert "KMER_RIDGE" in html  # the table's content is embedded, not linked
