"""The Morfessor tokenizer's lexicon: train Morfessor Baseline, then read off a Unigram vocabulary.

`train_morfessor` learns the segment lexicon on whole training sequences; `morfessor_pieces` turns
it into (piece, log-probability) pairs, so the Hugging Face Unigram model in tokenizer.json segments
as Morfessor's own Viterbi does. The builder that wraps them is `build_morfessor` in
decaylm.tokenizers.builders.
"""

from __future__ import annotations

import contextlib
import math
import random

from decaylm.sequences import ALPHABET
from decaylm.tokenizers.dna_tokenizer import SPECIAL_TOKENS


@contextlib.contextmanager
def _seeded_global_random(seed: int):
    """Morfessor shuffles with Python's global `random`: seed it, and give the caller's state back."""
    state = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(state)


def train_morfessor(corpus, params: dict, seed: int):
    """Train Morfessor Baseline on whole sequences; return (model, info).

    Choices, against the known problem of the default settings (recursive splitting of whole 110-nt
    sequences: ~190 s, ~18 segments/sequence of up to ~110 nt, an 18.6k-type lexicon that a small
    BERT memorizes at once):
    - algorithm "viterbi" with maxlen = max_len (7): each sequence is re-segmented by Viterbi over
      segments of at most 7 nt (motif-sized, like the RBP 7-mers), so the lexicon is bounded by the
      21,844 strings of 1..7 nt and one epoch costs O(length x max_len) per sequence. addcount=1.0
      (additive smoothing) lets Viterbi propose new segments; without it the initial whole-sequence
      lexicon could only fall apart into single letters.
    - whole sequences as compounds: no artificial chunk boundaries. (Training on the distinct
      overlapping 7-mers as words instead was tried: all 7-mers are about equally frequent, and the
      lexicon jumped between keeping all 16k of them and a few hundred 3-4-mers.)
    - corpus_weight 1.0 (fixed): on the 9,857 training reporters of benchmarks/bench_morfessor.py it
      gives ~1.1k segments, ~31 tokens/sequence (3.5 nt/token) in ~30 s of CPU. A lexicon-size
      target (NumMorphCorpusWeight, 2,000 types) was tried: it pushed the weight to ~11 and the
      lexicon to ~2.5k mostly rare 7-mers while tokens/sequence barely moved, and its forced extra
      epochs doubled the time; it adds parameters, not signal.
    - max_epochs 3: the cost falls 0.3% in epoch 2, 0.1% in epoch 3 and the segmentations barely
      change after that; an epoch costs ~10 s of CPU on ~10k sequences (pure Python Viterbi).
    - counts: each training sequence counts once (they are all distinct), so no count dampening.
    """
    import morfessor  # imported here: only this kind needs it
    import morfessor.utils

    progress = morfessor.utils.show_progress_bar
    morfessor.utils.show_progress_bar = False  # its dots would fill the rule log
    try:
        with _seeded_global_random(seed):
            model = morfessor.BaselineModel(corpusweight=params["corpus_weight"])
            model.load_data([(1, sequence) for sequence in corpus])
            epochs, cost = model.train_batch(
                algorithm="viterbi",
                algorithm_params=(params["addcount"], params["max_len"]),
                max_epochs=params["max_epochs"],
            )
    finally:
        morfessor.utils.show_progress_bar = progress
    info = {"epochs": epochs, "cost": cost, "lexicon_types": len(model.get_constructions())}
    return model, info


def morfessor_pieces(model, n_compounds: int, max_len: int, vocab_size: int) -> list[tuple[str, float]]:
    """The segment vocabulary as (piece, log-probability) for a Unigram model, most frequent first.

    Scores are Morfessor's own: log(count / (tokens + compounds)), so Viterbi over them (what the
    HF Unigram model does on encode) finds the same segmentation as Morfessor's
    viterbi_segment(addcount=0): the lowest total cost over segments of the lexicon. The letters
    A/C/G/T/N are always in (count 1 if Morfessor never used one alone) so that any segment can fall
    back to smaller known pieces; a character outside them becomes [UNK]. Over `vocab_size` (with the
    special tokens), the rarest segments are dropped and Viterbi covers their text with smaller pieces.
    """
    counts = {c: n for c, n in model.get_constructions() if len(c) <= max_len and set(c) <= set(ALPHABET)}
    total = model.tokens + n_compounds
    letters = [(c, counts.get(c, 1)) for c in ALPHABET]
    others = sorted(((c, n) for c, n in counts.items() if c not in ALPHABET), key=lambda cn: (-cn[1], cn[0]))
    room = max(vocab_size - len(SPECIAL_TOKENS) - len(letters), 0)
    return [(c, math.log(n / total)) for c, n in letters + others[:room]]
