"""Tokenizer layer: every kind trains on the training split only, saves, reloads and encodes.

Small synthetic data keeps this file fast. The one real-data test (marker real_data) trains the
Morfessor tokenizer on the UTR-seq reporters; it runs only when selected: pytest -m real_data.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import runpy
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats
from transformers import PreTrainedTokenizerFast

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the package is used from the checkout, not installed

from decaylm import motifs, tokenization  # noqa: E402
from decaylm.errors import InputError  # noqa: E402
from decaylm.tokenization import (  # noqa: E402
    DnaTokenizer,
    load_tokenizer,
    normalize_sequence,
    plot_token_counts,
    token_count_table,
    tokenizer_stats,
    train_tokenizer,
    train_tokenizer_from_split,
)

REAL_DATA = REPO.parent / "shared" / "data" / "utrseq" / "reporter_seq.txt"
LENGTH = 110
UP, DOWN = "GGATCCA", "CTCGAGT"  # planted motifs that raise / lower y


def random_sequences(n: int, seed: int, length: int = LENGTH) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice("ACGT") for _ in range(length)) for _ in range(n)]


def plant(sequence: str, motif: str, position: int) -> str:
    return sequence[:position] + motif + sequence[position + len(motif) :]


def make_corpus(n: int = 200, seed: int = 0):
    """Random training sequences; a third carry UP (y + 2), a third DOWN (y - 2); y also has noise."""
    rng = np.random.default_rng(seed)
    sequences, targets = [], []
    for i, sequence in enumerate(random_sequences(n, seed)):
        y = rng.normal(0, 0.5)
        if i % 3 == 0:
            sequence, y = plant(sequence, UP, 10 + i % 80), y + 2
        elif i % 3 == 1:
            sequence, y = plant(sequence, DOWN, 10 + i % 80), y - 2
        sequences.append(sequence)
        targets.append(y)
    return sequences, np.array(targets)


SPECS = {
    "nucleotide": {"kind": "nucleotide"},
    "kmer": {"kind": "kmer", "k": 6},
    "kmer_chunks": {"kind": "kmer", "k": 6, "overlapping": False},
    "bpe": {"kind": "bpe", "vocab_size": 300},
    "wordpiece": {"kind": "wordpiece", "vocab_size": 300},
    "morfessor": {"kind": "morfessor"},
    "rbp_known": {"kind": "rbp_window", "table": "known"},
    "rbp_train": {"kind": "rbp_window", "table": "train", "min_count": 3, "top": 40},
}
LOSSLESS = ["nucleotide", "kmer", "kmer_chunks", "bpe", "wordpiece", "morfessor"]
CONCATENATING = ["nucleotide", "kmer_chunks", "bpe", "wordpiece", "morfessor"]  # tokens join to s
WHOLLY_HF = CONCATENATING  # tokenizer.json alone does the whole job
TRAINABLE = ["bpe", "wordpiece", "morfessor", "rbp_train"]


@pytest.fixture(scope="module")
def corpus():
    return make_corpus()


@pytest.fixture(scope="module")
def held_out():
    return random_sequences(20, seed=99)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, corpus):
    root = tmp_path_factory.mktemp("tokenizers")
    sequences, targets = corpus
    return {name: train_tokenizer(spec, sequences, targets, root / name, seed=1) for name, spec in SPECS.items()}


# --- encode / decode -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", LOSSLESS)
def test_round_trip(trained, held_out, name):
    tok = trained[name]
    for sequence in held_out:
        assert tok.decode(tok.encode(sequence)) == sequence


@pytest.mark.parametrize("name", list(SPECS))
def test_encode_layout_and_batch(trained, held_out, name):
    tok = trained[name]
    batch = tok.encode_many(held_out)
    assert batch == [tok.encode(s) for s in held_out]
    for sequence, ids in zip(held_out, batch):
        assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
        assert tok.segment(sequence) == tok.hf.convert_ids_to_tokens(ids[1:-1])
        cut = tok.encode(sequence, max_length=8)
        if len(ids) > 8:
            assert len(cut) == 8 and cut[:-1] == ids[:7] and cut[-1] == tok.sep_token_id
        else:
            assert cut == ids
    ids = (tok.pad_token_id, tok.unk_token_id, tok.cls_token_id, tok.sep_token_id, tok.mask_token_id)
    assert ids == (0, 1, 2, 3, 4)
    assert tok.vocab_size == len(tok.hf.get_vocab())


@pytest.mark.parametrize("name", CONCATENATING)
def test_tokens_concatenate_to_the_sequence(trained, held_out, name):
    for sequence in held_out:
        assert "".join(trained[name].segment(sequence)) == sequence


@pytest.mark.parametrize("name", list(SPECS))
def test_lower_case_and_rna_input(trained, corpus, name):
    tok = trained[name]
    for sequence in corpus[0][:10]:
        rna = sequence.lower().replace("t", "u")
        assert tok.encode(rna) == tok.encode(sequence)
        assert tok.encode(sequence.replace("T", "U")) == tok.encode(sequence)


def test_normalize_sequence():
    assert normalize_sequence(" acguN\n") == "ACGTN"


@pytest.mark.parametrize("name", WHOLLY_HF)
def test_tokenizer_json_alone_encodes_the_same(trained, corpus, name):
    """Users who load only tokenizer.json get the same ids, RNA/lower case included."""
    tok = trained[name]
    hf = PreTrainedTokenizerFast(tokenizer_file=str(tok.path / "tokenizer.json"))
    for sequence in corpus[0][:10]:
        assert hf(sequence.lower().replace("t", "u"))["input_ids"] == tok.encode(sequence)


def test_overlapping_kmers(trained, held_out):
    tok, k = trained["kmer"], 6
    sequence = held_out[0]
    tokens = tok.segment(sequence)
    assert tokens == [sequence[i : i + k] for i in range(LENGTH - k + 1)]
    assert tok.vocab_size == 4**k + 5
    # An N makes the k windows over it [UNK]; decode still recovers every other base.
    with_n = plant(sequence, "N", 50)
    tokens = tok.segment(with_n)
    assert [i for i, t in enumerate(tokens) if t == "[UNK]"] == list(range(50 - k + 1, 51))
    assert tok.decode(tok.encode(with_n)) == with_n
    # Shorter than k: no window, one [UNK].
    assert tok.segment("ACG") == ["[UNK]"]


def test_non_overlapping_kmers_keep_the_short_tail(trained, held_out):
    tok, sequence = trained["kmer_chunks"], held_out[0]
    tokens = tok.segment(sequence)
    assert tokens == [sequence[i : i + 6] for i in range(0, LENGTH, 6)]
    assert len(tokens[-1]) == LENGTH % 6 == 2 and "[UNK]" not in tokens
    assert tok.vocab_size == sum(4**n for n in range(1, 7)) + 5
    # A chunk with N is [UNK], and decode drops it.
    with_n = plant(sequence, "N", 7)
    assert tok.segment(with_n)[1] == "[UNK]"
    assert tok.decode(tok.encode(with_n)) == sequence[:6] + sequence[12:]


def test_nucleotide_keeps_n(trained):
    tok = trained["nucleotide"]
    assert tok.segment("ACGTN") == list("ACGTN")
    assert tok.vocab_size == 10


@pytest.mark.parametrize("name", ["nucleotide", "bpe", "wordpiece", "morfessor"])
def test_unknown_letter_is_one_unk(trained, held_out, name):
    tok = trained[name]
    sequence = plant(held_out[1], "R", 40)
    tokens = tok.segment(sequence)
    assert tokens.count("[UNK]") == 1
    left, right = "".join(tokens[: tokens.index("[UNK]")]), "".join(tokens[tokens.index("[UNK]") + 1 :])
    assert (left, right) == (sequence[:40], sequence[41:])
    assert tok.unk_rate([sequence]) == pytest.approx(1 / len(tokens))
    assert tok.unk_rate(held_out) == 0.0


# --- Morfessor --------------------------------------------------------------------------------------


def unigram_scores(tok: DnaTokenizer) -> dict[str, float]:
    model = json.loads(tok.hf.backend_tokenizer.to_str())["model"]
    assert model["type"] == "Unigram"
    return dict((piece, score) for piece, score in model["vocab"])


def read_morfessor(tok: DnaTokenizer):
    import morfessor

    return morfessor.io.MorfessorIO().read_binary_model_file(str(tok.path / tokenization.MORFESSOR_FILE))


def test_morfessor_segments_by_morfessors_viterbi(trained, held_out):
    """The Unigram model in tokenizer.json finds segmentations as cheap as Morfessor's own Viterbi."""
    tok = trained["morfessor"]
    model, scores = read_morfessor(tok), unigram_scores(tok)
    max_len = tok.params["max_len"]
    assert max(len(p) for p in scores if not p.startswith("[")) <= max_len
    for sequence in held_out:
        ours = tok.segment(sequence)
        theirs, _ = model.viterbi_segment(sequence, addcount=0, maxlen=max_len)
        assert sum(scores[p] for p in ours) == pytest.approx(sum(scores[p] for p in theirs), abs=1e-9)
    # Every lexicon segment is in the vocabulary (no cap hit here), with Morfessor's counts.
    lexicon = dict(model.get_constructions())
    assert set(lexicon) <= set(scores)
    assert tok.meta["morfessor"]["lexicon_types"] == len(lexicon)


def test_morfessor_falls_back_to_smaller_pieces(tmp_path, corpus, held_out):
    sequences, _ = corpus
    tok = train_tokenizer({"kind": "morfessor", "vocab_size": 25}, sequences, None, tmp_path / "m", seed=1)
    scores = unigram_scores(tok)
    assert tok.vocab_size == 25 and set("ACGTN") <= set(scores)
    lexicon = dict(read_morfessor(tok).get_constructions())
    dropped = sorted((p for p in lexicon if p not in scores), key=lambda p: (-len(p), p))
    assert dropped, "the cap should drop segments"
    for piece in dropped[:20]:
        tokens = tok.segment(piece)
        assert "".join(tokens) == piece and all(len(t) < len(piece) for t in tokens)
        assert set(tokens) <= set(scores)
    for sequence in held_out:
        assert tok.decode(tok.encode(sequence)) == sequence
    assert tok.meta["unk_rate_train"] == 0.0
    assert tok.segment("ACGXXT") == ["A", "C", "G", "[UNK]", "T"]  # a run of unknown letters: one [UNK]


def test_morfessor_respects_max_len_and_global_random(tmp_path, corpus):
    state = random.getstate()
    tok = train_tokenizer({"kind": "morfessor", "max_len": 3}, corpus[0], None, tmp_path / "m", seed=5)
    assert random.getstate() == state
    assert max(len(p) for p in unigram_scores(tok) if not p.startswith("[")) == 3
    assert tok.meta["morfessor"]["epochs"] <= tok.params["max_epochs"] == 3


# --- rbp_window -------------------------------------------------------------------------------------


def element_regex() -> re.Pattern:
    """Brute-force definition of the known table, written independently of decaylm.motifs."""
    iupac = {"H": "[ACT]", "S": "[CG]", "N": "[ACGT]"}
    contained = ["GCACTT", "AGCACTT", "GCACTTA", "TATTTAT", "ATTTA", "TTTTTTT"]
    pumilio_windows = ["TGTAHAT", "GTAHATA"]  # the 7-mer windows of the 8-mer TGTAHATA
    patterns = [".*" + p + ".*" for p in contained] + ["".join(iupac.get(c, c) for c in p) for p in pumilio_windows]
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def test_known_table_is_every_7mer_with_an_element():
    regex = element_regex()
    expected = {
        kmer
        for kmer in ("".join(p) for p in itertools.product("ACGT", repeat=7))
        if regex.fullmatch(kmer) or sum(c in "GC" for c in kmer) >= 6
    }
    table = motifs.known_table(7)
    assert set(table["kmer"]) == expected and len(table) == len(expected)
    assert {"AGCACTT", "GCACTTA", "TATTTAT", "TGTACAT", "TTTTTTT", "GGGCGGA"} <= expected


def test_rbp_known_keeps_motif_windows_in_order(trained):
    tok = trained["rbp_known"]
    known = set(motifs.known_table(7)["kmer"])
    background = "A" * LENGTH  # poly-A holds no known element
    assert tok.encode(background) == [tok.cls_token_id, tok.sep_token_id]
    assert tok.segment(background) == [] and tok.decode(tok.encode(background)) == ""
    sequence = plant(plant(background, "TATTTAT", 20), "AGCACTTA", 60)
    expected = [sequence[i : i + 7] for i in range(LENGTH - 6) if sequence[i : i + 7] in known]
    assert tok.segment(sequence) == expected
    assert "TATTTAT" in expected and expected.index("AGCACTT") < expected.index("GCACTTA")
    assert tok.decode(tok.encode(sequence)) == " ".join(expected)
    assert tok.vocab_size == len(known) + 5


def test_rbp_train_table_finds_planted_motifs(trained, corpus):
    tok = trained["rbp_train"]
    saved = pd.read_csv(tok.path / tokenization.MOTIF_TABLE_FILE, sep="\t")
    sequences, y = corpus
    table = motifs.train_table(sequences, y, k=7, min_count=3)
    assert list(saved["kmer"]) == list(table["kmer"])
    assert np.allclose(saved["score"], table["score"], rtol=1e-5)
    assert table["kmer"].iat[0] in (UP, DOWN)
    for motif, sign in ((UP, 1), (DOWN, -1)):
        score = table.loc[table["kmer"] == motif, "score"].iat[0]
        has = np.array([motif in s for s in sequences])
        expected = scipy_stats.ttest_ind(y[has], y[~has], equal_var=False).statistic
        assert np.sign(score) == sign and score == pytest.approx(expected, rel=1e-9)
        assert saved.loc[saved["kmer"] == motif, "kept"].iat[0]
        assert motif in tok.segment(plant("A" * LENGTH, motif, 30))
    assert table["n_with"].min() >= 3 and len(table) > 40
    assert tok.vocab_size == 40 + 5 and saved["kept"].sum() == 40


def test_rbp_user_table(tmp_path, corpus):
    path = tmp_path / "table.tsv"
    table = pd.DataFrame({"kmer": ["AAAAAAA", "CCCCCCC", "GGGGGGG"], "score": [2.0, -3.0, 0.5]})
    table.to_csv(path, sep="\t", index=False)
    spec = {"kind": "rbp_window", "table": str(path), "threshold": 1.0}
    tok = train_tokenizer(spec, corpus[0], None, tmp_path / "r", seed=1)
    assert tok.segment("AAAAAAAATTGGGGGGGTTCCCCCCC") == ["AAAAAAA", "AAAAAAA", "CCCCCCC"]
    bad = tmp_path / "bad.tsv"
    bad.write_text("kmer\tscore\nAAAA\t1\n")
    with pytest.raises(InputError, match=r"tokenizers\.r2\.table: .*row 2: 'AAAA' is not a 7-mer"):
        train_tokenizer({"kind": "rbp_window", "table": str(bad)}, corpus[0], None, tmp_path / "r2", seed=1)
    with pytest.raises(InputError, match=r"tokenizers\.r3\.table: motif table .*missing\.tsv not found"):
        spec = {"kind": "rbp_window", "table": str(tmp_path / "missing.tsv")}
        train_tokenizer(spec, corpus[0], None, tmp_path / "r3", seed=1)
    with pytest.raises(InputError, match=r"tokenizers\.r4\.threshold"):
        spec = {"kind": "rbp_window", "table": str(path), "threshold": 5}
        train_tokenizer(spec, corpus[0], None, tmp_path / "r4", seed=1)
    with pytest.raises(InputError, match=r"tokenizers\.r5\.table: 'train' needs training targets"):
        train_tokenizer({"kind": "rbp_window", "table": "train"}, corpus[0], None, tmp_path / "r5", seed=1)


# --- reproducibility and the training split ---------------------------------------------------------


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
        "from decaylm.tokenization import train_tokenizer;"
        "train_tokenizer({'kind': 'morfessor'}, json.load(open(sys.argv[2])), None, sys.argv[3], seed=3)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    command = [sys.executable, "-c", code, str(REPO), str(tmp_path / "corpus.json"), str(tmp_path / "there")]
    subprocess.run(command, env=env, check=True, capture_output=True)
    assert (tmp_path / "here" / "tokenizer.json").read_bytes() == (tmp_path / "there" / "tokenizer.json").read_bytes()


LEAK = "GATTACAGATTACAGATTACA"  # planted in valid/test rows only


def split_frame(n_train: int = 200, n_other: int = 60) -> pd.DataFrame:
    sequences, y = make_corpus(n_train)
    others = [plant(s, LEAK, 30) for s in random_sequences(n_other, seed=7)]
    return pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n_train + n_other)],
            "sequence": sequences + others,
            "y": list(y) + [5.0] * n_other,  # the leaked rows also carry an extreme target
            "split": ["train"] * n_train + ["valid", "test"] * (n_other // 2),
            "group": range(n_train + n_other),
        }
    )


@pytest.mark.parametrize("name", TRAINABLE)
def test_test_sequences_never_reach_training(tmp_path, monkeypatch, name):
    frame = split_frame()
    seen = []
    real_train = tokenization.train_tokenizer

    def spy(spec, sequences, targets, *args, **kwargs):
        seen.append(list(sequences))
        return real_train(spec, sequences, targets, *args, **kwargs)

    monkeypatch.setattr(tokenization, "train_tokenizer", spy)
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


# --- pretrained, errors, atomic writes ---------------------------------------------------------------


def test_pretrained_copies_a_checkpoint_tokenizer(tmp_path, trained, held_out):
    checkpoint = tmp_path / "checkpoint"
    source = str(trained["bpe"].path / "tokenizer.json")
    PreTrainedTokenizerFast(tokenizer_file=source, **tokenization.SPECIAL_ROLES).save_pretrained(checkpoint)
    tok = train_tokenizer({"kind": "pretrained", "checkpoint": str(checkpoint)}, [], None, tmp_path / "pre", seed=1)
    assert tok.kind == "pretrained" and (tmp_path / "pre" / "tokenizer.json").is_file()
    assert tok.encode_many(held_out) == trained["bpe"].encode_many(held_out)
    assert load_tokenizer(tmp_path / "pre" / "tokenizer.json").encode(held_out[0]) == tok.encode(held_out[0])
    assert tok.decode(tok.encode(held_out[0])) == held_out[0]
    with pytest.raises(InputError, match=r"tokenizers\.pre2\.checkpoint: checkpoint directory .*nowhere not found"):
        spec = {"kind": "pretrained", "checkpoint": str(tmp_path / "nowhere")}
        train_tokenizer(spec, [], None, tmp_path / "pre2", seed=1)


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"kind": "sentencepiece"},
         r"tokenizers\.x\.kind: unknown kind 'sentencepiece' "
         r"\(use one of nucleotide, kmer, bpe, wordpiece, morfessor, rbp_window, pretrained\)"),
        ({}, r"tokenizers\.x: has no kind"),
        ({"kind": "bpe", "vocab": 10},
         r"tokenizers\.x\.vocab: not a parameter of kind bpe \(accepted: vocab_size, min_frequency\)"),
        ({"kind": "kmer", "k": "6"}, r"tokenizers\.x\.k: '6' is not an integer >= 1"),
        ({"kind": "kmer", "k": 12}, r"tokenizers\.x\.k: 12 is too large"),
        ({"kind": "morfessor", "corpus_weight": 0}, r"tokenizers\.x\.corpus_weight: 0 is not a number > 0"),
        ({"kind": "pretrained"}, r"tokenizers\.x\.checkpoint: missing"),
    ],
)
def test_config_errors_name_the_key(tmp_path, spec, message):
    with pytest.raises(InputError, match=message):
        train_tokenizer(spec, ["ACGT"], None, tmp_path / "x", seed=1)


def test_split_file_errors(tmp_path):
    frame = split_frame(5, 2)
    with pytest.raises(InputError, match=r"split\.tsv: lacks column\(s\) split"):
        train_tokenizer_from_split(frame.drop(columns="split"), {"kind": "bpe"}, tmp_path / "b", 1, where="split.tsv")
    with pytest.raises(InputError, match=r"split\.tsv: has no rows with split == train"):
        no_train = frame[frame["split"] != "train"]
        train_tokenizer_from_split(no_train, {"kind": "bpe"}, tmp_path / "b", 1, where="split.tsv")


def test_seed_key_of_the_config_is_accepted(tmp_path):
    tok = train_tokenizer({"kind": "nucleotide", "seed": 9}, ["ACGT"], None, tmp_path / "n", seed=9)
    assert tok.kind == "nucleotide" and tok.meta["params"] == {}


def test_a_failed_run_leaves_no_tokenizer_json(tmp_path, monkeypatch, corpus):
    out = tmp_path / "bpe"
    train_tokenizer(SPECS["bpe"], corpus[0], None, out, seed=1)
    assert (out / "tokenizer.json").is_file()

    def crash(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(tokenization, "write_json", crash)
    with pytest.raises(RuntimeError, match="killed"):
        train_tokenizer(SPECS["bpe"], corpus[0], None, out, seed=1)
    assert not (out / "tokenizer.json").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp")]
    with pytest.raises(InputError, match="is not a trained tokenizer"):
        load_tokenizer(out)


def test_meta_json(trained):
    meta = trained["morfessor"].meta
    assert meta["kind"] == "morfessor" and meta["seed"] == 1 and meta["n_train_sequences"] == 200
    assert meta["params"] == {**tokenization.DEFAULT_PARAMS["morfessor"]} and meta["train_seconds"] > 0
    assert meta["vocab_size"] == trained["morfessor"].vocab_size


# --- statistics and scripts ---------------------------------------------------------------------------


def test_stats_and_figure(tmp_path, trained):
    frame = split_frame(20, 10)
    frame.loc[frame.index[-1], "sequence"] = plant(frame["sequence"].iat[-1], "N", 50)  # a test row
    dirs = {name: trained[name].path for name in ("nucleotide", "kmer", "rbp_known")}
    table = tokenizer_stats(dirs, frame)
    assert list(table.columns) == list(tokenization.STATS_COLUMNS)
    rows = table.set_index("tokenizer")
    assert rows.loc["nucleotide", "mean_tokens"] == LENGTH and rows.loc["nucleotide", "nt_per_token"] == 1.0
    assert rows.loc["kmer", "median_tokens"] == LENGTH - 5 and rows.loc["kmer", "kind"] == "kmer"
    n_test = (frame["split"] == "test").sum()
    assert rows.loc["kmer", "unk_rate_test"] == pytest.approx(6 / (n_test * (LENGTH - 5)))
    assert rows.loc["nucleotide", "unk_rate_test"] == 0.0
    assert rows.loc["kmer", "vocab_size"] == 4**6 + 5
    assert rows.loc["rbp_known", "train_seconds"] == trained["rbp_known"].meta["train_seconds"]
    counts = token_count_table(dirs, frame["sequence"])
    assert list(counts["kmer"]) == [LENGTH - 5] * len(frame)
    plot_token_counts(counts, tmp_path / "counts.png")
    assert (tmp_path / "counts.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def fake_snakemake(**sections) -> SimpleNamespace:
    """The parts of Snakemake's `snakemake` object a script reads (input, output, params, wildcards, log)."""
    return SimpleNamespace(**{
        key: SimpleNamespace(**value) if isinstance(value, dict) else value for key, value in sections.items()
    })


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


def test_tokenizer_stats_script(tmp_path, trained):
    split_path = tmp_path / "split.tsv"
    split_frame(20, 10).to_csv(split_path, sep="\t", index=False)
    paths = [str(trained[name].path / "tokenizer.json") for name in ("nucleotide", "bpe")]
    snakemake = fake_snakemake(
        input={"split": str(split_path), "tokenizers": paths},
        output={"table": str(tmp_path / "stats.tsv"), "figure": str(tmp_path / "counts.png")},
        params={"names": ["nucleotide", "bpe"]},  # the rule names them (under folds every folder is foldK)
        log=[str(tmp_path / "s.log")],
    )
    runpy.run_path(str(REPO / "scripts" / "tokenizer_stats.py"), init_globals={"snakemake": snakemake})
    table = pd.read_csv(tmp_path / "stats.tsv", sep="\t")
    assert list(table["tokenizer"]) == ["nucleotide", "bpe"]
    assert (tmp_path / "counts.png").stat().st_size > 0


# --- real data (select with: pytest -m real_data) -----------------------------------------------------


@pytest.mark.real_data
def test_morfessor_on_real_reporters(tmp_path, request):
    if "real_data" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("trains on 9.9k real reporters (about a minute): select with -m real_data")
    lines = [line.rstrip("\n").split("\t") for line in REAL_DATA.read_text().splitlines() if line]
    sequences = [fields[1] for fields in lines]
    order = list(range(len(sequences)))
    random.Random(0).shuffle(order)
    cut = int(0.8 * len(order))
    train, held = [sequences[i] for i in order[:cut]], [sequences[i] for i in order[cut:]]
    start = time.perf_counter()
    tok = train_tokenizer({"kind": "morfessor"}, train, None, tmp_path / "morfessor", seed=0)
    seconds = time.perf_counter() - start
    tokens = [len(ids) - 2 for ids in tok.encode_many(held)]
    assert seconds <= 120, f"Morfessor training took {seconds:.0f} s"
    assert 100 <= tok.vocab_size <= 4096
    assert 10 <= np.mean(tokens) <= 60
    assert tok.unk_rate(held) == 0.0
    assert all(tok.decode(ids) == s for ids, s in zip(tok.encode_many(held[:200]), held[:200]))
