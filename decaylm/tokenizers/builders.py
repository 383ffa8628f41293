"""One builder per tokenizer kind, and the BUILDERS table that train_tokenizer dispatches on.

A builder takes (corpus, targets, params, seed, name) -- the sorted, normalized training sequences,
their targets or None, the resolved params of decaylm.tokenizers.specs, the seed and the config name
for error messages -- and returns (hf, files, extra): the Hugging Face fast tokenizer, the extra
files of the folder ({file name: function that writes it at a path}) and extra meta.json entries.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from decaylm.errors import InputError
from decaylm.io import write_tsv
from decaylm.sequences import ALPHABET, BASES
from decaylm.tokenizers import rbp_motifs
from decaylm.tokenizers.dna_tokenizer import MORFESSOR_FILE, MOTIF_TABLE_FILE, SPECIAL_ROLES, SPECIAL_TOKENS
from decaylm.tokenizers.morfessor_lexicon import morfessor_pieces, train_morfessor
from decaylm.tokenizers.specs import TRAIN_TABLE_TOP


def _normalizer():
    """Upper-case the DNA letters and read U as T, inside tokenizer.json so every user gets it."""
    steps = [normalizers.Replace(c.lower(), c) for c in ALPHABET]
    steps += [normalizers.Replace("u", "T"), normalizers.Replace("U", "T")]
    return normalizers.Sequence(steps)


def _finish(tok: Tokenizer) -> PreTrainedTokenizerFast:
    """Special tokens, the [CLS] ... [SEP] template and a decoder that concatenates tokens."""
    tok.normalizer = _normalizer()
    tok.add_special_tokens(list(SPECIAL_TOKENS))
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    tok.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=tok, **SPECIAL_ROLES)


def _word_level(words) -> Tokenizer:
    """A fixed vocabulary: the special tokens (ids 0-4), then `words` in order."""
    vocab = {token: i for i, token in enumerate([*SPECIAL_TOKENS, *words])}
    return Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))


def all_kmers(k: int) -> list[str]:
    """Every ACGT string of length k, in lexicographic order of BASES."""
    return ["".join(p) for p in itertools.product(BASES, repeat=k)]


def build_nucleotide(corpus, targets, params, seed, name):
    tok = _word_level(ALPHABET)
    tok.pre_tokenizer = pre_tokenizers.FixedLength(length=1)
    return _finish(tok), {}, {}


def build_kmer(corpus, targets, params, seed, name):
    k = params["k"]
    if params["overlapping"]:
        tok = _word_level(all_kmers(k))
        tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()  # words come pre-cut, see DnaTokenizer
    else:
        # Chunks of k from the start; the last chunk may be shorter, so every 1..k-mer is a token.
        tok = _word_level([kmer for n in range(1, k + 1) for kmer in all_kmers(n)])
        tok.pre_tokenizer = pre_tokenizers.FixedLength(length=k)
    return _finish(tok), {}, {}


def _train_hf(tok: Tokenizer, trainer, corpus) -> Tokenizer:
    tok.train_from_iterator(corpus, trainer, length=len(corpus))
    return tok


def build_bpe(corpus, targets, params, seed, name):
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.normalizer = _normalizer()
    trainer = trainers.BpeTrainer(
        vocab_size=params["vocab_size"],
        min_frequency=params["min_frequency"],
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=list(ALPHABET),
        show_progress=False,
    )
    return _finish(_train_hf(tok, trainer, corpus)), {}, {}


def build_wordpiece(corpus, targets, params, seed, name):
    # No "##" prefix: a sequence is one word, and the prefix would only duplicate every piece into a
    # sequence-start and a later copy. max_input_chars_per_word: the default 100 would turn every
    # 110-nt sequence into a single [UNK].
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", continuing_subword_prefix="", max_input_chars_per_word=10**6))
    tok.normalizer = _normalizer()
    # WordPiece makes a whole word [UNK] if one character is unknown: isolate such characters.
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(f"[^{ALPHABET}]+"), behavior="isolated")
    trainer = trainers.WordPieceTrainer(
        vocab_size=params["vocab_size"],
        min_frequency=params["min_frequency"],
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=list(ALPHABET),
        continuing_subword_prefix="",
        show_progress=False,
    )
    return _finish(_train_hf(tok, trainer, corpus)), {}, {}


def build_morfessor(corpus, targets, params, seed, name):
    import morfessor.io

    model, info = train_morfessor(corpus, params, seed)
    pieces = morfessor_pieces(model, len(corpus), params["max_len"], params["vocab_size"])
    vocab = [(token, 0.0) for token in SPECIAL_TOKENS] + pieces
    tok = Tokenizer(models.Unigram(vocab, unk_id=SPECIAL_TOKENS.index("[UNK]"), byte_fallback=False))
    hf = _finish(tok)
    files = {MORFESSOR_FILE: lambda path: morfessor.io.MorfessorIO().write_segmentation_file(str(path), model.get_segmentations())}
    info["vocab_pieces"] = len(pieces)
    return hf, files, {"morfessor": info}


def motif_table(params: dict, corpus, targets, name: str) -> pd.DataFrame:
    """The rbp_window table: known elements, learned from the training split, or a user's file."""
    k, table = params["k"], params["table"]
    if table == "known":
        return rbp_motifs.known_table(k)
    if table == "train":
        if targets is None or not np.isfinite(np.asarray(targets, dtype=float)).any():
            raise InputError(f"tokenizers.{name}.table", "'train' needs training targets y, and there are none",
                             "give the split's y column, or use table: known")
        return rbp_motifs.train_table(corpus, targets, k=k, min_count=params["min_count"])
    return rbp_motifs.read_table(table, k, where=f"tokenizers.{name}.table")


def build_rbp_window(corpus, targets, params, seed, name):
    table = motif_table(params, corpus, targets, name)
    if table.empty:
        key = "min_count" if params["table"] == "train" else "table"
        fix = "lower min_count" if key == "min_count" else "give a table with rows"
        raise InputError(f"tokenizers.{name}.{key}", "the motif table has no k-mer", fix)
    top = params["top"]
    if top is None and params["table"] == "train":
        top = TRAIN_TABLE_TOP
    kept = rbp_motifs.select_kmers(table, params["threshold"], top)
    if not kept:
        raise InputError(f"tokenizers.{name}.threshold",
                         f"no k-mer of the table has abs(score) > {params['threshold']}", "lower the threshold")
    table = table.assign(kept=table["kmer"].isin(set(kept)))
    tok = _word_level(kept)
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()  # words come pre-cut, see DnaTokenizer
    files = {MOTIF_TABLE_FILE: lambda path: write_tsv(table, path)}
    return _finish(tok), files, {"motif_table": {"rows": len(table), "kept": len(kept), "top": top}}


def build_pretrained(corpus, targets, params, seed, name):
    checkpoint = Path(params["checkpoint"])
    where = f"tokenizers.{name}.checkpoint"
    if not checkpoint.is_dir():
        raise InputError(where, f"checkpoint directory {checkpoint} not found",
                         "download the checkpoint there, or fix the path")
    try:
        hf = AutoTokenizer.from_pretrained(str(checkpoint), use_fast=True)
    except (OSError, ValueError) as error:
        problem = f"no tokenizer loads from {checkpoint}: {error}".replace("\n", " ")
        raise InputError(where, problem, "point it at a checkpoint directory with tokenizer files") from None
    if not getattr(hf, "is_fast", False):
        raise InputError(where, f"the tokenizer in {checkpoint} has no fast (tokenizer.json) version",
                         "use a checkpoint with a tokenizer.json")
    return hf, {}, {"checkpoint": str(checkpoint.resolve())}


BUILDERS = {
    "nucleotide": build_nucleotide,
    "kmer": build_kmer,
    "bpe": build_bpe,
    "wordpiece": build_wordpiece,
    "morfessor": build_morfessor,
    "rbp_window": build_rbp_window,
    "pretrained": build_pretrained,
}
