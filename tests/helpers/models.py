"""Small models for tests: splits with a planted signal, training through a kind's job entry point
with a check that the saved folder predicts what the model in memory did (`train_and_load`), a tiny
local checkpoint standing in for a hub model, and one small model folder of every kind
(`one_model_of_each_kind`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# the nucleotide vocabulary of the tiny local checkpoints
VOCAB = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "A": 5, "C": 6, "G": 7, "T": 8}
MOTIF = "GGGCC"


def frame(sequences, y) -> pd.DataFrame:
    """A split table: the first 70% train, the next 15% valid, the rest test; one group per reporter."""
    n = len(sequences)
    part = np.where(np.arange(n) < 0.7 * n, "train", np.where(np.arange(n) < 0.85 * n, "valid", "test"))
    return pd.DataFrame({"id": [f"r{i}" for i in range(n)], "sequence": sequences, "y": y, "split": part,
                         "group": np.arange(n)})


def motif_split(n=480, length=40, motif=MOTIF, background="ACGT", p=None, max_copies=2, seed=0) -> pd.DataFrame:
    """Random background with 0..max_copies planted motifs; y = copies + small noise."""
    rng = np.random.default_rng(seed)
    sequences, y = [], []
    for _ in range(n):
        seq = list(rng.choice(list(background), length, p=p))
        copies = int(rng.integers(0, max_copies + 1))
        for c in range(copies):
            start = 1 + c * (length // 2) + int(rng.integers(0, length // 2 - len(motif) - 1))
            seq[start:start + len(motif)] = motif
        sequences.append("".join(seq))
        y.append(copies + rng.normal(0, 0.1))
    return frame(sequences, np.asarray(y))


def r2(split, pred, part="test") -> float:
    """R2 of `pred` (one per row of split) on the rows of one part."""
    where = split["split"].to_numpy() == part
    y = split["y"].to_numpy()[where]
    return float(1 - np.sum((y - pred[where]) ** 2) / np.sum((y - y.mean()) ** 2))


def train_and_load(module, split, spec, out_dir, **inputs):
    """Train through `module.train` (the job's entry point), load the folder with load_model, and check
    that the loaded model predicts what the trained model in memory predicted (the train and valid rows
    fit was given, atol 1e-5). Returns (loaded model, its predictions for every row of split)."""
    from decaylm.models import load_model, training
    from decaylm.models.common import parts

    seen = {}
    real_fit = module.fit
    assert real_fit is training.fit  # every model trains in the one shared loop

    def recording_fit(model, train_items, valid_items, collate, *args, **kwargs):
        seen.update(model=model, items=train_items + valid_items, collate=collate)
        return real_fit(model, train_items, valid_items, collate, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "fit", recording_fit)
        module.train(split, spec, out_dir, **inputs)
    loaded = load_model(out_dir)
    assert loaded.name == spec.name and loaded.kind == spec.kind
    data = parts(split)
    in_memory = training.predict(seen["model"], seen["items"], seen["collate"])
    reloaded = loaded.predict(data["train"]["sequence"].tolist() + data["valid"]["sequence"].tolist())
    np.testing.assert_allclose(reloaded, in_memory, rtol=0, atol=1e-5)
    return loaded, loaded.predict(split["sequence"].tolist())


class CountModel:
    """A toy model whose predict is 1 per TTAG minus 2 per GCACTT: what attributions must find."""

    kind = "toy"

    def predict(self, sequences, batch_size=256):
        return np.array([s.count("TTAG") - 2.0 * s.count("GCACTT") for s in sequences], dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# a local stand-in for a hub checkpoint (kind pretrained)

def save_tokenizer(path) -> None:
    """A nucleotide tokenizer over VOCAB, saved as transformers saves a checkpoint's tokenizer."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(VOCAB, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
                            sep_token="[SEP]", mask_token="[MASK]").save_pretrained(path)


def save_tiny_checkpoint(path, hidden: int = 32, layers: int = 2, intermediate: int = 64) -> Path:
    """A randomly initialized BERT (seed 0) with a nucleotide vocabulary, saved where a hub checkpoint
    would be downloaded: what kind `pretrained` fine-tunes, without a network."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(VOCAB), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
                        intermediate_size=intermediate, max_position_embeddings=64, pad_token_id=0)
    BertModel(config).save_pretrained(path)
    save_tokenizer(path)
    return Path(path)


# ---------------------------------------------------------------------------------------------
# one small model of every kind

TINY_TRAINING = {"epochs": 1, "batch_size": 32}
TINY_BERT = {"layers": 1, "hidden": 16, "heads": 2, "intermediate": 32, **TINY_TRAINING}


def planted_split(n: int = 120, length: int = 40, seed: int = 0) -> pd.DataFrame:
    """Random reporters whose y rises with TAT and falls with GC."""
    rng = np.random.default_rng(seed)
    sequences = ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]
    y = np.array([s.count("TAT") - 0.5 * s.count("GC") for s in sequences]) + rng.normal(0, 0.2, n)
    return frame(sequences, y)


def one_model_of_each_kind(results: Path) -> dict[str, Path]:
    """A results folder (data/split.tsv, tokenizers/nt, models/...) with one small model folder of each
    kind of decaylm.models.registry, each written as the pipeline writes it (its job, or for ensembles
    the combining step), with its run.json. Returns {kind: model folder}; a kind missing here is
    missing from the answer."""
    from decaylm.io import read_tsv, write_tsv
    from decaylm.models.ensemble import average_predictions, write_ensemble
    from decaylm.models.jobs import run_model_job
    from decaylm.models.registry import parse_model_spec
    from decaylm.repeats import combine_repeats
    from decaylm.tokenizers import train_tokenizer

    split = planted_split()
    split_path = results / "data" / "split.tsv"
    write_tsv(split, split_path)
    train = split[split["split"] == "train"]
    train_tokenizer({"kind": "nucleotide"}, train["sequence"].tolist(), train["y"].to_numpy(),
                    results / "tokenizers" / "nt", seed=0)
    checkpoint = save_tiny_checkpoint(results / "hub" / "tiny_bert", hidden=16, layers=1, intermediate=32)
    models = results / "models"

    def job(name, spec, folder=None, seed=1, **inputs):
        folder = folder or models / name
        run_model_job(name, spec, split_path, folder / "predictions.tsv", folder / "run.json", seed=seed, **inputs)
        return folder

    cnn = {"kind": "cnn", "channels": 8, **TINY_TRAINING}
    folders = {
        "kmer_ridge": job("KMER_RIDGE", {"kind": "kmer_ridge", "k_max": 3, "cv_folds": 3}),
        "cnn": job("CNN", cnn),
        "legnet": job("LEGNET", {"kind": "legnet", "stem_channels": 8, "block_channels": [8], "expand": 2, "shift": 2,
                                 **TINY_TRAINING}),
        "bert": job("BERT_NT", {"kind": "bert", "tokenizer": "nt", **TINY_BERT},
                    tokenizer_dir=str(results / "tokenizers" / "nt")),
        "pretrained": job("TINY_HUB", {"kind": "pretrained", "checkpoint": str(checkpoint), "lr": 1e-3,
                                       "max_length": 64, **TINY_TRAINING}),
    }
    members = [folders["cnn"], folders["kmer_ridge"]]
    ensemble = models / "ENSEMBLE"
    write_tsv(average_predictions({m.name: read_tsv(m / "predictions.tsv") for m in members}),
              ensemble / "predictions.tsv", float_format="%.8g")
    write_ensemble(ensemble, parse_model_spec("ENSEMBLE", {"kind": "ensemble", "members": [m.name for m in members]}),
                   members)
    (ensemble / "run.json").write_text(json.dumps({"status": "ok"}))
    folders["ensemble"] = ensemble
    repeats = models / "CNN_SEEDS"
    runs = [job("CNN_SEEDS", cnn, repeats / f"repeat{r}", seed=r) for r in (1, 2)]
    combine_repeats("CNN_SEEDS", [run / "predictions.tsv" for run in runs], [run / "run.json" for run in runs], repeats)
    folders["repeat_ensemble"] = repeats
    return folders
