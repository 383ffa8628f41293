"""benchmarks/bench_throughput.py on a tiny setting: a row per neural kind, FLOPs counted as the network has them."""

import json
import subprocess
import sys

from decaylm.models.specs import CNNArchitecture
from tests.helpers.paths import REPO

KINDS = ["CNN", "LEGNET", "BERT_NT", "BERT_KMER6", "BERT_BPE", "HYBRID", "mlm_bpe"]


def cnn_flops_per_reporter(arch: CNNArchitecture, length: int) -> int:
    """Forward + backward multiply-adds x 2 of config.yaml's CNN: each conv and linear costs its forward
    once more for the weight gradient and once more for the input gradient, except the first conv,
    whose input (the one-hot) takes no gradient."""
    forward, first, channels = 0, None, 4
    for kernel in arch.kernel_sizes:
        conv = 2 * channels * arch.channels * kernel * length
        first = conv if first is None else first
        forward += conv
        channels, length = arch.channels, -(-length // arch.pool)
    forward += 2 * (2 * arch.channels * arch.channels + arch.channels * 1)  # the head's two linears
    return 3 * forward - first


def test_benchmark_prints_a_row_per_kind_with_exact_flops(tmp_path):
    out = tmp_path / "rows.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_throughput.py"), "--data", "simulated", "--reporters", "300",
         "--steps", "1", "--ism-sequences", "1", "--peak-size", "128", "--work", str(tmp_path / "work"),
         "--out", str(out)], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("# torch") and "1 thread" in lines[0] and "2 threads" in lines[0]
    assert [line.split("\t")[0] for line in lines[2:]] == KINDS
    rows = {row["row"]: row for row in json.loads(out.read_text())["rows"]}
    assert rows["CNN"]["gflop_per_reporter"] * 1e9 == cnn_flops_per_reporter(CNNArchitecture(), 110)
    for name, row in rows.items():
        assert row["reporters_per_s"] > 0 and row["gflop_per_reporter"] > 0
        assert row["share_of_peak"] == row["gflop_per_s"] / row["peak_gflop_per_s"]
        assert 0 <= row["collate_ms_per_batch"] <= row["ms_per_batch"]
        assert ("ism_mutants_per_s" in row) == (name != "mlm_bpe")  # ISM scores regressors only
    # one-hot kinds see one token per nucleotide; nt adds [CLS] and [SEP]; 6-mers overlap
    assert rows["CNN"]["tokens_per_reporter"] == 110
    assert rows["BERT_NT"]["tokens_per_reporter"] == 112
    assert rows["BERT_KMER6"]["tokens_per_reporter"] == 107
