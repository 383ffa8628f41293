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


# max_sequences: the kinds that search for a vocabulary learn it from a seeded sample of the training sequences

CAPPED = ["bpe", "wordpiece", "morfessor"]


@pytest.mark.parametrize("name", CAPPED)
def test_max_sequences_samples_by_seed(tmp_path, corpus, name):
    """Same seed, same sample and vocabulary (row order aside); the sample is what the vocabulary learns from."""
    sequences, y = corpus
    spec = {**SPECS[name], "max_sequences": 50}
    a = train_tokenizer(spec, sequences, y, tmp_path / "a", seed=3)
    order = np.random.default_rng(0).permutation(len(sequences))
    train_tokenizer(spec, [sequences[i] for i in order], y[order], tmp_path / "b", seed=3)
    assert (tmp_path / "a" / "tokenizer.json").read_bytes() == (tmp_path / "b" / "tokenizer.json").read_bytes()
    # The vocabulary is exactly that of the sampled sequences, learned with no cap.
    sample, _ = train.vocabulary_sample(sorted(sequences), None, 50, seed=3)
    assert len(sample) == len(set(sample)) == 50 and set(sample) <= set(sequences) and sample == sorted(sample)
    train_tokenizer({**SPECS[name], "max_sequences": None}, sample, None, tmp_path / "sample", seed=3)
    assert (tmp_path / "sample" / "tokenizer.json").read_bytes() == (tmp_path / "a" / "tokenizer.json").read_bytes()
    # Another seed draws another sample.
    other, _ = train.vocabulary_sample(sorted(sequences), None, 50, seed=4)
    assert other != sample
    # The record: every training sequence, the sample the vocabulary came from, the UNK rate over all.
    assert a.meta["n_train_sequences"] == 200 and a.meta["n_vocab_sequences"] == 50
    assert a.meta["params"]["max_sequences"] == 50
    assert a.meta["unk_rate_train"] == pytest.approx(a.unk_rate(sequences), nan_ok=True)


@pytest.mark.parametrize("name", CAPPED)
def test_max_sequences_is_honoured_and_the_default_changes_nothing(tmp_path, corpus, name):
    sequences, y = corpus
    capped = train_tokenizer({**SPECS[name], "max_sequences": 20}, sequences, y, tmp_path / "capped", seed=3)
    whole = train_tokenizer({**SPECS[name], "max_sequences": None}, sequences, y, tmp_path / "whole", seed=3)
    assert capped.hf.get_vocab() != whole.hf.get_vocab()
    assert capped.meta["n_vocab_sequences"] == 20 and whole.meta["n_vocab_sequences"] == 200
    # The default cap (above every shipped config's training split) learns from every sequence: same bytes as null,
    # and a cap at the corpus size too.
    default = train_tokenizer(SPECS[name], sequences, y, tmp_path / "default", seed=3)
    at_size = train_tokenizer({**SPECS[name], "max_sequences": 200}, sequences, y, tmp_path / "at_size", seed=3)
    assert default.meta["params"]["max_sequences"] == specs.MAX_SEQUENCES >= 100_000
    assert default.meta["n_vocab_sequences"] == at_size.meta["n_vocab_sequences"] == 200
    for folder in ("default", "at_size"):
        assert (tmp_path / folder / "tokenizer.json").read_bytes() == (tmp_path / "whole" / "tokenizer.json").read_bytes()


def test_vocabulary_sample_keeps_targets_with_their_sequences():
    sequences = [f"S{i:03d}" for i in range(100)]
    targets = np.arange(100.0)
    sample, sample_y = train.vocabulary_sample(sequences, targets, 10, seed=1)
    assert [int(s[1:]) for s in sample] == list(sample_y)
    assert train.vocabulary_sample(sequences, targets, 100, seed=1) == (sequences, targets)
    assert train.vocabulary_sample(sequences, None, None, seed=1) == (sequences, None)


def test_n_vocab_sequences_of_the_other_kinds(trained_tokenizers):
    """Fixed vocabularies learn from no sequence; a motif table learned from the training split, from all of them."""
    learned = {name: tok.meta["n_vocab_sequences"] for name, tok in trained_tokenizers.items()}
    assert learned == {"nucleotide": 0, "kmer": 0, "kmer_chunks": 0, "rbp_known": 0, "rbp_train": 200,
                       "bpe": 200, "wordpiece": 200, "morfessor": 200}
