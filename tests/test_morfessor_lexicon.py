"""The Morfessor tokenizer: its Unigram vocabulary segments as Morfessor's Viterbi, falls back to smaller
pieces under a vocabulary cap, and leaves Python's global random state alone.

The one real-data test (marker real_data) trains it on the UTR-seq reporters; it runs only when
selected: pytest -m real_data.
"""

from __future__ import annotations

import json
import random
import time

import numpy as np
import pytest

from decaylm.tokenizers import dna_tokenizer, train_tokenizer
from decaylm.tokenizers.dna_tokenizer import DnaTokenizer
from tests.helpers.paths import REAL_DATA as REAL_DATA_DIR

REAL_DATA = REAL_DATA_DIR / "reporter_seq.txt"


def unigram_scores(tok: DnaTokenizer) -> dict[str, float]:
    model = json.loads(tok.hf.backend_tokenizer.to_str())["model"]
    assert model["type"] == "Unigram"
    return dict((piece, score) for piece, score in model["vocab"])


def read_morfessor(tok: DnaTokenizer):
    import morfessor

    # The folder keeps Morfessor's segmentations as text; Morfessor rebuilds its model from them.
    model = morfessor.BaselineModel()
    model.load_segmentations(morfessor.io.MorfessorIO().read_segmentation_file(str(tok.path / dna_tokenizer.MORFESSOR_FILE)))
    return model


def test_morfessor_segments_by_morfessors_viterbi(trained_tokenizers, held_out):
    """The Unigram model in tokenizer.json finds segmentations as cheap as Morfessor's own Viterbi."""
    tok = trained_tokenizers["morfessor"]
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
