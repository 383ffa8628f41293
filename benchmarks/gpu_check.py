"""Proof that the neural kinds train, predict and explain on a GPU: `make gpu-check`.

On the real UTR-seq example (12,322 reporters, config/utrseq.yaml's split), each neural kind (CNN,
LegNet, a BERT over 6-mers, HYBRID, MLM pretraining followed by a BERT over BPE) trains a fixed
number of epochs through the pipeline's own job code, predicts every reporter, and (the regressors)
runs in-silico mutagenesis on 200 test reporters. Printed per kind: training reporters/s, peak GPU
memory, ISM mutants/s, test R2, and, given the CPU run of the same settings (`--device cpu --out
cpu.json` on a CPU machine, then `--reference cpu.json` here), the speed-up and the R2 difference
(a GPU's bf16 autocast and other kernels move R2 a little; the check is within 0.02).

    .venv/bin/python benchmarks/gpu_check.py [--reference cpu.json] [--out gpu.json]   # CUDA machine
    .venv/bin/python benchmarks/gpu_check.py --device cpu --out cpu.json                # the CPU reference

Without CUDA (and without --device cpu) it stops in one line. About 3 minutes on an H100-class GPU,
data stages included; the CPU reference takes about 15 minutes on 2 cores. docs/gpu.md has the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# kind -> (model entry, tokenizer, pretraining): small enough for the CPU reference, epochs fixed
KINDS = {
    "cnn": ({"kind": "cnn", "epochs": 4, "patience": 4}, None, None),
    "legnet": ({"kind": "legnet", "expand": 2, "epochs": 3, "patience": 3, "lr": 0.002, "warmup_fraction": 0.2},
               None, None),
    "bert_kmer6": ({"kind": "bert", "tokenizer": "kmer6", "layers": 2, "hidden": 64, "heads": 4, "intermediate": 128,
                    "max_length": 128, "pooling": "meanmax", "lr": 0.002, "epochs": 2, "patience": 2},
                   {"kind": "kmer", "k": 6, "overlapping": True}, None),
    "hybrid": ({"kind": "bert", "tokenizer": "nt", "layers": 1, "hidden": 64, "heads": 4, "intermediate": 128,
                "max_length": 128, "pooling": "meanmax", "lr": 0.002, "conv_stem": [9, 7], "stem_pool": 2, "epochs": 3,
                "patience": 3}, {"kind": "nucleotide"}, None),
    "mlm_then_bert_bpe": ({"kind": "bert", "tokenizer": "bpe", "layers": 2, "hidden": 64, "heads": 4,
                           "intermediate": 128, "max_length": 128, "pooling": "meanmax", "lr": 0.002, "epochs": 2,
                           "patience": 2},
                          {"kind": "bpe", "vocab_size": 1024},
                          {"tokenizer": "bpe", "layers": 2, "hidden": 64, "heads": 4, "intermediate": 128, "epochs": 2,
                           "patience": 2, "batch_size": 64, "lr": 0.002}),
}
ISM_SEQUENCES = 200


def refuse_without_cuda(device: str) -> None:
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        sys.exit("gpu-check: no CUDA device here (torch.cuda.is_available() is False): run it on a machine with an "
                 "NVIDIA GPU and a CUDA build of torch, or pass --device cpu for the CPU reference")


def data_stages(work: Path) -> Path:
    """split.tsv of config/utrseq.yaml, made by the pipeline's own rules."""
    results = work / "results"
    subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--nolock", "--configfile", "config/utrseq.yaml",
                    "--config", f"results={results}", "--until", "split_data", "--quiet"],
                   cwd=ROOT, check=True)
    return results / "data" / "split.tsv"


def check_kind(name: str, split_path: Path, work: Path, device: str) -> dict:
    import numpy as np
    import torch

    from decaylm.interpret.attribution import ism, test_sequences
    from decaylm.io import read_tsv
    from decaylm.metrics import part_r2
    from decaylm.models import load_model
    from decaylm.models.jobs import run_model_job
    from decaylm.models.mlm import pretrain
    from decaylm.models.registry import parse_pretraining_spec
    from decaylm.tokenizers import train_tokenizer

    spec, tokenizer_spec, pretraining = KINDS[name]
    split = read_tsv(split_path)
    train = split[split["split"] == "train"]
    folder, inputs = work / name, {}
    if tokenizer_spec is not None:
        train_tokenizer(tokenizer_spec, train["sequence"].tolist(), train["y"].to_numpy(), folder / "tokenizer", seed=42)
        inputs["tokenizer_dir"] = str(folder / "tokenizer")
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    if pretraining is not None:
        pretrain(split, parse_pretraining_spec("MLM", pretraining, 42), folder / "tokenizer", folder / "mlm")
        inputs["pretrained_dir"] = str(folder / "mlm")
        spec = {**spec, "init_from": "MLM"}
    run_model_job(name.upper(), spec, split_path, folder / "model" / "predictions.tsv", folder / "model" / "run.json",
                  seed=42, threads=torch.get_num_threads(), repo=str(ROOT), **inputs)
    seconds = time.perf_counter() - started
    record = json.loads((folder / "model" / "training.json").read_text()) if (folder / "model" / "training.json").exists() else {}
    epochs = len(record.get("history", [])) or spec["epochs"]
    predictions = read_tsv(folder / "model" / "predictions.tsv")
    model = load_model(folder / "model")
    sequences = test_sequences(split, ISM_SEQUENCES, 0)["sequence"].tolist()
    ism_started = time.perf_counter()
    ism(model, sequences)
    ism_seconds = time.perf_counter() - ism_started
    return {"kind": name, "train_reporters_per_s": round(len(train) * epochs / record.get("train_seconds", seconds), 1),
            "job_seconds": round(seconds, 1),
            "peak_gpu_mib": round(torch.cuda.max_memory_allocated() / 2**20) if device == "cuda" else None,
            "ism_mutants_per_s": round(len(sequences) * 3 * len(sequences[0]) / ism_seconds),
            "test_r2": round(float(part_r2(predictions, "test")), 4), "valid_r2": round(float(part_r2(predictions, "valid")), 4),
            "finite": bool(np.isfinite(predictions["y_pred"]).all())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--reference", type=Path, help="the CPU run's JSON (--device cpu --out FILE)")
    parser.add_argument("--out", type=Path, help="write the figures as JSON")
    parser.add_argument("--work", type=Path, default=Path("/tmp/decaylm_gpu_check"))
    parser.add_argument("--kinds", nargs="*", default=list(KINDS))
    args = parser.parse_args()
    refuse_without_cuda(args.device)
    import torch

    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # the pipeline's code picks the GPU wherever there is one
    machine = torch.cuda.get_device_name(0) if args.device == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"gpu-check on {machine}; torch {torch.__version__}", flush=True)
    split_path = data_stages(args.work)
    reference = {row["kind"]: row for row in json.loads(args.reference.read_text())["kinds"]} if args.reference else {}
    rows, failed = [], []
    print("kind\ttrain reporters/s\tpeak GPU MiB\tISM mutants/s\ttest R2\tspeed-up\tR2 - CPU R2", flush=True)
    for name in args.kinds:
        row = check_kind(name, split_path, args.work, args.device)
        cpu = reference.get(name)
        if cpu:
            row["speedup"] = round(row["train_reporters_per_s"] / cpu["train_reporters_per_s"], 1)
            row["r2_minus_cpu"] = round(row["test_r2"] - cpu["test_r2"], 4)
            if abs(row["r2_minus_cpu"]) > 0.02:
                failed.append(name)
        rows.append(row)
        print(f"{name}\t{row['train_reporters_per_s']}\t{row['peak_gpu_mib']}\t{row['ism_mutants_per_s']}\t"
              f"{row['test_r2']}\t{row.get('speedup', '')}\t{row.get('r2_minus_cpu', '')}", flush=True)
    if args.out:
        args.out.write_text(json.dumps({"machine": machine, "torch": torch.__version__, "kinds": rows}, indent=1))
    if failed:
        sys.exit(f"gpu-check: test R2 differs from the CPU run's by more than 0.02 for {', '.join(failed)}")


if __name__ == "__main__":
    main()
