"""The `decaylm` command (decaylm/cli.py): bad arguments end in one line and exit status 1, before any
model is loaded. (Scoring itself: tests/test_predict.py and tests/test_predict_run.py.)"""

from __future__ import annotations

import logging

import pytest

from decaylm.cli import build_parser, main


@pytest.fixture
def root_logging():
    """main() sets up logging to stderr; the test session's handlers come back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_a_batch_size_below_one_is_one_line(tmp_path, capsys, root_logging):
    with pytest.raises(SystemExit) as stop:
        main(["predict", str(tmp_path / "model"), str(tmp_path / "seqs.fa"), "-o", str(tmp_path / "out.tsv"),
              "--batch-size", "0"])
    assert stop.value.code == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == \
        "decaylm error: --batch-size: 0 is not >= 1 (e.g. --batch-size 256)"
    assert not list(tmp_path.iterdir())


def test_predict_arguments_and_defaults():
    args = build_parser().parse_args(["predict", "m1", "m2", "seqs.tsv", "-o", "out.tsv"])
    assert (args.model_dirs, args.sequences, args.out) == (["m1", "m2"], "seqs.tsv", "out.tsv")
    assert args.stride == 10 and args.summary is None and args.batch_size is None
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["predict", "m1", "seqs.tsv"])  # no -o
    assert stop.value.code == 2
