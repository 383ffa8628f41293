"""Pre-segmentation done in Python, before the Hugging Face tokenizer sees a sequence.

Hugging Face pre-tokenizers cannot make overlapping windows, so the overlapping k-mer and
rbp_window kinds cut a sequence into space-separated words here (DnaTokenizer picks which), and
their tokenizer.json only maps words to ids. A word is the k nt from its start (`*_starts`), which
is also where its token sits in the sequence (DnaTokenizer.encode_with_spans). `join_overlapping`
undoes overlapping k-mers on decode.
"""

from __future__ import annotations


def overlapping_starts(sequence: str, k: int) -> list[int]:
    """Where the k-mer windows start (DNABERT-1): every position with k nt left; a sequence shorter than
    k is one (out-of-vocabulary) word at 0."""
    if len(sequence) < k:
        return [0] if sequence else []
    return list(range(len(sequence) - k + 1))


def motif_starts(sequence: str, k: int, kept) -> list[int]:
    """Where the k-mer windows found in `kept` start, in order of position (overlaps allowed)."""
    return [i for i in range(len(sequence) - k + 1) if sequence[i : i + k] in kept]


def join_overlapping(tokens: list[str], k: int) -> str:
    """Undo overlapping k-mers: window i gives bases i..i+k-1. A base that only [UNK] windows cover
    (an N, say) reads as N; a sequence shorter than k (a single [UNK]) reads as k N's."""
    if not tokens:
        return ""
    bases = ["N"] * (len(tokens) + k - 1)
    for i, token in enumerate(tokens):
        if token != "[UNK]":
            bases[i : i + k] = token
    return "".join(bases)
