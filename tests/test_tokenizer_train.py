"""Training: same seed same bytes (row order and hash seed aside), training rows only, meta.json, the script."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys

import numpy as np
import pytest

from decaylm.errors import InputError
from decaylm.tokenizers import load_tokenizer, specs, train, train_tokenizer, train_tokenizer_from_split
from tests.helpers.paths import REPO
from tests.helpers.tokenizers import LEAK, SPECS, TRAINABLE, fake_snakemake, split_frame


@pytest.mark.parametrize("name", TRAINABLE)
def test_same_seed_same_bytes(tmp_path, corpus, name):
    sequences, y = corpus
    a = train_tokenizer(SPECS[name], sequences, y, tmp_path / "a", seed=3)
    # Row order must not matter either.
    order = np.random.default_rng(0).permutation(len(sequences))
    b = train_tokenizer(SPECS[name], [sequences[i] for i in order], y[order], tmp_path / "b", seed=3)
    assert (tmp_path / "a" / "tokenizer.json").read_bytes() == (tmp_path / "b" / "tokenizer.json").read_bytes()
    assert a.encode_many(sequences) == b.encode_many(sequences)


def test_same_seed_same_bytes_across_processes(tmp_path, corpus):
    """Another process with another string hash seed still writes the same Morfessor tokenizer."""
    sequences, y = corpus
    train_tokenizer(SPECS["morfessor"], sequences, y, tmp_path / "here", seed=3)
    (tmp_path / "corpus.json").write_text(json.dumps(sequences))
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]);"
        "from decaylm.tokenizers import train_tokenizer;"
        "train_tokenizer({'kind': 'morfessor'}, json.load(open(sys.argv[2])), None, sys.argv[3], seed=3)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    command = [sys.executable, "-c", code, str(REPO), str(tmp_path / "corpus.json"), str(tmp_path / "there")]
    subprocess.run(command, env=env, check=True, capture_output=True)
    assert (tmp_path / "here" / "tokenizer.json").read_bytes() == (tmp_path / "there" / "tokenizer.json").read_bytes()


@pytest.mark.parametrize("name", TRAINABLE)
def test_test_sequences_never_reach_training(tmp_path, monkeypatch, name):
    frame = split_frame()
    seen = []
    real_train = train.train_tokenizer

    def spy(spec, sequences, targets, *args, **kwargs):
        seen.append(list(sequences))
        return real_train(spec, sequences, targets, *args, **kwargs)

    monkeypatch.setattr(train, "train_tokenizer", spy)
    tok = train_tokenizer_from_split(frame, SPECS[name], tmp_path / "split", seed=2)
    assert sorted(seen[0]) == sorted(frame.loc[frame["split"] == "train", "sequence"])
    assert not any(LEAK in s for s in seen[0])
    # Same bytes as a tokenizer that never saw the other rows at all.
    only_train = frame[frame["split"] == "train"]
    train_tokenizer(SPECS[name], only_train["sequence"], only_train["y"], tmp_path / "train_only", seed=2)
    clean = (tmp_path / "train_only" / "tokenizer.json").read_bytes()
    assert (tmp_path / "split" / "tokenizer.json").read_bytes() == clean
    # And the check can fail: training on every row puts the leaked motif in the vocabulary.
    vocab = set(tok.hf.get_vocab())
    leaky = train_tokenizer(SPECS[name], frame["sequence"], frame["y"], tmp_path / "leaky", seed=2)
    motif_tokens = lambda v: {t for t in v if len(t) >= 7 and t in LEAK}  # noqa: E731
    assert motif_tokens(set(leaky.hf.get_vocab())) - motif_tokens(vocab)


def test_split_file_errors(tmp_path):
    frame = split_frame(5, 2)
    with pytest.raises(InputError, match=r"split\.tsv: lacks column\(s\) split"):
        train_tokenizer_from_split(frame.drop(columns="split"), {"kind": "bpe"}, tmp_path / "b", 1, where="split.tsv")
    with pytest.raises(InputError, match=r"split\.tsv: has no rows with split == train"):
        no_train = frame[frame["split"] != "train"]
        train_tokenizer_from_split(no_train, {"kind": "bpe"}, tmp_path / "b", 1, where="split.tsv")


def test_meta_json(trained_tokenizers):
    meta = trained_tokenizers["morfessor"].meta
    assert meta["kind"] == "morfessor" and meta["seed"] == 1 and meta["n_train_sequences"] == 200
    assert meta["params"] == {**specs.DEFAULT_PARAMS["morfessor"]} and meta["train_seconds"] > 0
    assert meta["vocab_size"] == trained_tokenizers["morfessor"].vocab_size


def test_train_tokenizer_script(tmp_path):
    split_path = tmp_path / "split.tsv"
    split_frame(30, 10).to_csv(split_path, sep="\t", index=False)
    out, log = tmp_path / "tokenizers" / "bpe" / "tokenizer.json", tmp_path / "bpe.log"
    snakemake = fake_snakemake(
        input={"split": str(split_path)}, output={"tokenizer": str(out)},
        params={"spec": {"kind": "bpe", "vocab_size": 50, "seed": 4}, "seed": 4}, wildcards={"tokenizer": "bpe"},
        log=[str(log)],
    )
    runpy.run_path(str(REPO / "scripts" / "train_tokenizer.py"), init_globals={"snakemake": snakemake})
    tok = load_tokenizer(out)
    assert tok.meta["name"] == "bpe" and tok.meta["seed"] == 4 and tok.meta["n_train_sequences"] == 30
    assert "training tokenizer bpe" in log.read_text()
    snakemake.params.spec = {"kind": "nope"}
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(REPO / "scripts" / "train_tokenizer.py"), init_globals={"snakemake": snakemake})
    assert exit_info.value.code == 1
    assert "decaylm error: tokenizers.bpe.kind: unknown kind 'nope'" in log.read_text()
