"""Pre-segmentation done in Python, before the Hugging Face tokenizer sees a sequence.

Hugging Face pre-tokenizers cannot make overlapping windows, so the overlapping k-mer and
rbp_window kinds cut a sequence into space-separated words here (DnaTokenizer picks which), and
their tokenizer.json only maps words to ids. `join_overlapping` undoes overlapping k-mers on decode.
"""

from __future__ import annotations


def overlapping_kmers(sequence: str, k: int) -> list[str]:
    """All k-mer windows (DNABERT-1); a sequence shorter than k is one (out-of-vocabulary) word."""
    if len(sequence) < k:
        return [sequence] if sequence else []
    return [sequence[i : i + k] for i in range(len(sequence) - k + 1)]


def motif_windows(sequence: str, k: int, kept) -> list[str]:
    """The k-mer windows found in `kept`, in order of position (overlaps allowed)."""
    return [sequence[i : i + k] for i in range(len(sequence) - k + 1) if sequence[i : i + k] in kept]


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
