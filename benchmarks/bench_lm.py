"""Language-model rows on the real UTR-seq data: valid R2 and training tokens/s per setting.

Builds the split exactly as the pipeline does (overlap-grouped, default target), trains each
named setting (tokenizer + optional MLM pretraining + BERT regressor) and prints one line per
run: valid R2 (what settings are chosen on), seconds, tokens/s, best epoch. Test R2 is never
printed here: it appears once, in the pipeline's comparison table.

    nice .venv/bin/python benchmarks/bench_lm.py --list
    nice .venv/bin/python benchmarks/bench_lm.py BERT_NT HYBRID --out /tmp/lm_bench.tsv
    nice .venv/bin/python benchmarks/bench_lm.py --ensemble HYBRID,BERT_KMER6   # mean of saved predictions

Work folders go to --work (default /tmp/decaylm_bench_lm); the data is read in place.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import r2_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from decaylm.models.registry import parse_model_spec, parse_pretraining_spec  # noqa: E402
from decaylm.models import bert, cnn, load_model, mlm  # noqa: E402
from decaylm.models.common import parts  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "utrseq"
if not DATA.exists():
    DATA = Path("/work/shared/data/utrseq")

TOKENIZERS = {
    "nt": {"kind": "nucleotide"},
    "kmer6": {"kind": "kmer", "k": 6, "overlapping": True},
    "kmer3": {"kind": "kmer", "k": 3, "overlapping": True},
    "bpe": {"kind": "bpe", "vocab_size": 1024},
    "bpe256": {"kind": "bpe", "vocab_size": 256},
    "morfessor": {"kind": "morfessor", "max_len": 7},
    "rbp_known": {"kind": "rbp_window", "table": "known", "k": 7},
    "rbp_data": {"kind": "rbp_window", "table": "train", "k": 7},
}

BASE = {"kind": "bert", "layers": 4, "hidden": 128, "heads": 4, "intermediate": 512, "max_length": 128,
        "dropout": 0.1, "pooling": "meanmax", "lr": 1e-3, "batch_size": 64, "epochs": 20, "patience": 4,
        "weight_decay": 0.01, "warmup_fraction": 0.05}
HYBRID = {**BASE, "conv_stem": [9, 7], "stem_pool": 2, "layers": 2, "pooling": "meanmax", "dropout": 0.2}
MLM = {"layers": 4, "hidden": 128, "heads": 4, "intermediate": 512, "max_length": 128, "epochs": 20,
       "batch_size": 64, "lr": 1e-3}

# the small/fast "default" settings: each job <= ~40 s on 4000 simulated reporters (2 cores)
SMALL = {"kind": "bert", "layers": 2, "hidden": 64, "heads": 4, "intermediate": 128, "max_length": 128,
         "dropout": 0.1, "pooling": "meanmax", "lr": 2e-3, "batch_size": 64, "epochs": 6, "patience": 2}
SMALL_HYBRID = {**SMALL, "conv_stem": [9, 7], "stem_pool": 2, "layers": 1, "pooling": "meanmax", "epochs": 10,
                "patience": 3}

# name -> (tokenizer, model spec, MLM spec or None)
RUNS = {
    "CNN": (None, {"kind": "cnn", "epochs": 30, "patience": 4}, None),  # the baseline, config/full.yaml's
    "BERT_NT": ("nt", BASE, None),
    "BERT_NT_mean": ("nt", {**BASE, "pooling": "mean"}, None),
    "BERT_BPE_mean": ("bpe", {**BASE, "pooling": "mean"}, None),
    "BERT_KMER6": ("kmer6", BASE, None),
    "BERT_KMER3": ("kmer3", BASE, None),
    "BERT_BPE": ("bpe", BASE, None),
    "BERT_BPE256": ("bpe256", BASE, None),
    "BERT_MORFESSOR": ("morfessor", BASE, None),
    "MORPH_O": ("rbp_known", BASE, None),   # the RBP window over known motifs
    "MORPH_D": ("rbp_data", BASE, None),    # the RBP window over motifs learned from the training split
    "HYBRID": ("nt", HYBRID, None),
    "HYBRID_L4": ("nt", {**HYBRID, "layers": 4}, None),
    "HYBRID3": ("nt", {**HYBRID, "conv_stem": [9, 7, 5], "epochs": 20}, None),
    "HYBRID_K6": ("kmer6", HYBRID, None),
    "BERT_NT_MLM": ("nt", BASE, MLM),
    "BERT_KMER6_MLM": ("kmer6", BASE, MLM),
    "BERT_BPE_MLM": ("bpe", BASE, {**MLM, "epochs": 10}),
    "D_BERT_NT": ("nt", SMALL, None),
    "D_BERT_NT_cls": ("nt", {**SMALL, "pooling": "cls", "lr": 1e-3}, None),
    "D_BERT_NT_1L": ("nt", {**SMALL, "layers": 1, "lr": 3e-3, "epochs": 8, "patience": 3}, None),
    "D_BERT_KMER6": ("kmer6", {**SMALL, "epochs": 4}, None),
    "D_BERT_BPE": ("bpe", SMALL, None),
    "D_BERT_MORFESSOR": ("morfessor", SMALL, None),
    "D_MORPH_O": ("rbp_known", SMALL, None),
    "D_MORPH_D": ("rbp_data", SMALL, None),
    "D_HYBRID": ("nt", SMALL_HYBRID, None),
    # config.yaml's default rows as they are (the rows config/utrseq.yaml runs on the real data)
    "D_CNN": (None, {"kind": "cnn", "epochs": 15, "patience": 3}, None),
}


def real_split(work: Path | None = None) -> pd.DataFrame:
    from decaylm.expression import normalize_counts
    from decaylm.sources import read_utrseq
    from decaylm.split import split_table
    from decaylm.target import compute_target

    raw = read_utrseq(str(DATA), [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12])
    expression = normalize_counts(raw, 1, 20, [2.0])
    if work is not None:  # for auxiliary targets
        work.mkdir(parents=True, exist_ok=True)
        expression.to_csv(work / "expression.tsv", sep="\t", index=False)
    t = compute_target(expression, "difference", 2, 8)
    return split_table(t, "overlap", dict(train=.8, valid=.1, test=.1), 42, 30)


def simulated_split(work: Path) -> pd.DataFrame:
    """The default pipeline's data: 4000 simulated reporters (data.simulate defaults), same split."""
    from decaylm.expression import normalize_counts
    from decaylm.simulate import config_from_params, write_simulation
    from decaylm.sources import read_utrseq
    from decaylm.split import split_table
    from decaylm.target import compute_target

    folder = work / "simulated"
    if not (folder / "reporter_seq.txt").exists():
        write_simulation(config_from_params({"n_reporters": 4000, "seed": 7}), folder)
    raw = read_utrseq(str(folder), [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12])
    expression = normalize_counts(raw, 1, 20, [2.0])
    expression.to_csv(work / "expression.tsv", sep="\t", index=False)
    t = compute_target(expression, "difference", 2, 8)
    return split_table(t, "overlap", dict(train=.8, valid=.1, test=.1), 42, 30)


def tokenizer_dir(name: str, split: pd.DataFrame, work: Path, seed: int) -> Path:
    out = work / "tokenizers" / name
    if (out / ".done").exists():
        return out
    from decaylm.tokenizers import train_tokenizer

    train = parts(split)["train"]
    train_tokenizer(TOKENIZERS[name], train["sequence"].tolist(), train["y"].to_numpy(), out, seed)
    (out / ".done").touch()
    return out


DIAGNOSIS: list[dict] = []


def diagnose_batch_norm() -> None:
    """Log, at each validation of fit, the valid loss three ways: eval mode as fit sees it, after
    recomputing the BatchNorm statistics on the training data with dropout on (train mode, what
    refresh_batch_norm did), and with dropout off (BatchNorm alone in train mode)."""
    import copy

    from torch import nn

    from decaylm.models import training

    plain = training.validation_loss

    def bn_only_train(model):
        model.eval()
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.train()

    def patched(model, items, collate, batch_size, device):
        loss = plain(model, items, collate, batch_size, device)
        if not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
            return loss
        row = {"eval": loss}
        train_items = CONTEXT["train_items"]
        for how in ("dropout_on", "dropout_off"):
            clone = copy.deepcopy(model)
            norms = [m for m in clone.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
            for m in norms:
                m.reset_running_stats()
                m.momentum = None
            clone.train() if how == "dropout_on" else bn_only_train(clone)
            with torch.no_grad():
                for index in training.batches_by_length(train_items, 256):
                    clone(**training._inputs(train_items, index, collate, device))
            row[how] = plain(clone, items, collate, batch_size, device)
        DIAGNOSIS.append(row)
        logging.info("BN diagnosis: %s", {k: round(v, 4) for k, v in row.items()})
        return loss

    import torch

    training.validation_loss = patched
    plain_fit = training.fit

    def fit(model, train_items, *args, **kwargs):
        CONTEXT["train_items"] = train_items
        return plain_fit(model, train_items, *args, **kwargs)

    for module in (cnn, bert):
        module.fit = fit


CONTEXT: dict = {}


def run(name: str, split: pd.DataFrame, work: Path, seed: int, overrides: dict) -> dict:
    tok_name, spec, mlm_spec = RUNS[name]
    spec = {**spec, **overrides}
    tag = name + "".join(f"_{k}={v}" for k, v in sorted(overrides.items())).replace(" ", "")
    started = time.perf_counter()
    tok = tokenizer_dir(tok_name, split, work, seed) if tok_name else None
    pretrained, mlm_seconds = None, 0.0
    if mlm_spec is not None:
        pretrained = work / "mlm" / f"{tok_name}_{seed}"
        t0 = time.perf_counter()
        if not (pretrained / "model.safetensors").exists():
            mlm.pretrain(split, parse_pretraining_spec(f"mlm_{tok_name}", {"tokenizer": tok_name, **mlm_spec}, seed),
                         tok, pretrained)
        mlm_seconds = time.perf_counter() - t0
    out = work / "runs" / f"{tag}_{seed}"
    parsed = parse_model_spec(name, spec, seed)
    if spec["kind"] == "cnn":
        cnn.train(split, parsed, out, work / "expression.tsv")
    else:
        bert.train(split, parsed, out, tok, pretrained, work / "expression.tsv")
    pred = load_model(out).predict(split["sequence"].tolist())
    seconds = time.perf_counter() - started
    np.save(out / "predictions.npy", pred)
    record = json.loads((out / "training.json").read_text())
    print("HISTORY\t" + tag + f"\tseed={seed}\tvalid_loss=" +
          ",".join(f"{h['valid_loss']:.3f}" for h in record["history"]), flush=True)
    if DIAGNOSIS:
        for how in DIAGNOSIS[0]:
            print(f"BN\t{tag}\tseed={seed}\t{how}=" + ",".join(f"{d[how]:.3f}" for d in DIAGNOSIS), flush=True)
        DIAGNOSIS.clear()
    y, where = split["y"].to_numpy(), split["split"].to_numpy()
    # valid only: settings are chosen here, and test figures appear once, in the pipeline's final table
    return {"run": tag, "seed": seed, "valid_r2": r2_score(y[where == "valid"], pred[where == "valid"]), "seconds": round(seconds, 1),
            "mlm_seconds": round(mlm_seconds, 1), "train_seconds": round(record["train_seconds"], 1),
            "tokens_per_s": round(record["train_tokens_per_second"]), "best_epoch": record["best_epoch"],
            "epochs_run": len(record["history"]), "params": record["parameters"]}


def ensemble(tags: list[str], split: pd.DataFrame, work: Path) -> dict:
    preds = [np.load(p) for tag in tags for p in sorted((work / "runs").glob(f"{tag}_*/predictions.npy"))]
    pred = np.mean(preds, axis=0)
    y, where = split["y"].to_numpy(), split["split"].to_numpy()
    return {"run": "ensemble(" + "+".join(tags) + f") n={len(preds)}",
            "valid_r2": r2_score(y[where == "valid"], pred[where == "valid"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", help="names from --list")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--set", action="append", default=[], help="override a model key, e.g. --set lr=5e-4")
    parser.add_argument("--ensemble", help="comma-separated run tags whose saved predictions to average")
    parser.add_argument("--work", default="/tmp/decaylm_bench_lm")
    parser.add_argument("--simulated", action="store_true", help="the default pipeline's 4000 simulated reporters")
    parser.add_argument("--out", help="append result rows to this TSV")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    parser.add_argument("--diagnose-bn", action="store_true",
                        help="also log each epoch's valid loss with BatchNorm statistics recomputed on train")
    args = parser.parse_args()
    if args.diagnose_bn:
        diagnose_batch_norm()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.list:
        for name, (tok, spec, mlm_spec) in RUNS.items():
            print(f"{name:16s} tokenizer={tok} mlm={'yes' if mlm_spec else 'no'} {json.dumps(spec)}")
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    work = Path(args.work) / ("simulated" if args.simulated else "real")
    split = simulated_split(work) if args.simulated else real_split(work)
    if args.ensemble:
        print(json.dumps(ensemble(args.ensemble.split(","), split, work)))
        return
    overrides = {k: json.loads(v) if v[:1] in "[{0123456789-tfn" else v
                 for k, v in (item.split("=", 1) for item in args.set)}
    for name in args.runs:
        row = run(name, split, work, args.seed, overrides)
        line = "\t".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())
        print("RESULT\t" + line, flush=True)
        if args.out:
            frame = pd.DataFrame([row])
            frame.to_csv(args.out, sep="\t", index=False, mode="a", header=not Path(args.out).exists())


if __name__ == "__main__":
    main()
