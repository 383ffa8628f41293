"""Bad input stops the workflow with one line that names the file or key and the fix.

Each case of tests/malformed.py runs Snakemake as a user would (from the repository, with
the default profile) on a minimal config plus the case's override: a dry run where the error
must come while the config is parsed, else a build of the first output that should fail.
Checked: a non-zero exit; one line holding the key or file, the problem and the fix; no
Python traceback; no output of the failed rule and no temporary file left under results.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import REPO
from tests.malformed import (
    CASES,
    TABLE,
    UTRSEQ,
    Case,
    merged,
    write_table,
    write_utrseq,
)

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
TRACEBACK = "Traceback (most recent call last)"
WORKERS = 2  # cases are independent; two at a time halve the wall time on 2 cores


def minimal_config() -> dict:
    """Small simulated data and one fast model; every other default tokenizer, model and pretraining off."""
    default = yaml.safe_load((REPO / "config.yaml").read_text())
    off = lambda section: {name: None for name in default.get(section) or {}}
    return {"data": {"simulate": {"n_reporters": 200, "seed": 3}},
            "tokenizers": off("tokenizers"), "pretraining": off("pretraining"),
            "models": {**off("models"), "KMER_RIDGE": {"kind": "kmer_ridge", "k_max": 3}}}


def fill(value, folder: Path):
    """Replace {dir} by the case's folder throughout a config value."""
    if isinstance(value, str):
        return value.replace("{dir}", str(folder))
    if isinstance(value, dict):
        return {key: fill(item, folder) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(fill(item, folder) for item in value)
    return value


def snakemake(folder: Path, results: str, override: dict, targets=(), dry_run=False) -> subprocess.CompletedProcess:
    """Run Snakemake from the repository (so the default profile applies) on the minimal config + `override`.

    --nolock: concurrent Snakemakes in one working directory race on .snakemake/locks (a
    FileNotFoundError traceback); each case writes only under its own results folder.
    """
    (folder / "minimal.yaml").write_text(yaml.safe_dump(minimal_config()))
    (folder / "case.yaml").write_text(yaml.safe_dump(override))
    command = [SNAKEMAKE, *targets, "--cores", "1", "--nolock", *(["--dry-run"] if dry_run else []),
               "--configfile", str(folder / "minimal.yaml"), str(folder / "case.yaml"), "--config", f"results={results}"]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600, check=False)


def run_case(case: Case, tmp: Path) -> dict:
    folder = tmp / case.name
    write_utrseq(folder / "utrseq")
    write_table(folder / "table")
    if case.data:
        case.data(folder)
    results = Path(fill(case.results, folder) if case.results else folder / "results")
    target = [str(results / case.target)] if case.target else []
    done = snakemake(folder, str(results), fill(case.config, folder), target, dry_run=not case.target)
    (folder / "output.txt").write_text(done.stdout + done.stderr)  # to read when a case fails
    files = sorted(p.relative_to(results).as_posix() for p in results.rglob("*") if p.is_file()) \
        if results.is_dir() and not case.results else []
    return {"folder": folder, "returncode": done.returncode, "output": done.stdout + done.stderr, "files": files}


@pytest.fixture(scope="module")
def outcomes(request, tmp_path_factory):
    """Run the selected cases, two at a time, once per module; each test then checks its own."""
    selected = [item.callspec.params["case"] for item in request.session.items
                if getattr(item, "originalname", "") == "test_bad_input_is_refused_in_one_line"]
    tmp = tmp_path_factory.mktemp("bad_input")
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = {case.name: pool.submit(run_case, case, tmp) for case in selected}
        yield {name: future.result() for name, future in futures.items()}


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_is_refused_in_one_line(case, outcomes):
    outcome = outcomes[case.name]
    output, folder = outcome["output"], outcome["folder"]
    assert outcome["returncode"] != 0, output
    assert TRACEBACK not in output, output
    expect = [fill(word, folder) for word in case.expect]
    lines = [line for line in output.splitlines() if all(word in line for word in expect)]
    assert lines, f"no single line holds all of {expect}:\n{output}"
    assert all(line.lstrip().startswith(("config error: ", "decaylm error: ")) for line in lines), lines
    # nothing partial: parse-time errors write nothing; a failed job leaves only logs and earlier stages
    allowed = set(case.kept) if case.target else set()
    leftovers = [f for f in outcome["files"] if not f.startswith(("logs/", "benchmarks/")) and f not in allowed]
    assert leftovers == [], leftovers
    assert not [f for f in outcome["files"] if f.endswith(".tmp")]
    assert not list(folder.rglob("*.tmp")) and not list(folder.rglob(".*.tmp"))


def test_catalogue_is_broad():
    """At least 30 distinct malformed inputs, across the config and every data source."""
    assert len({case.name for case in CASES}) == len(CASES) >= 30
    sources = {(case.config.get("data") or {}).get("source", "simulated") for case in CASES}
    assert {"simulated", "utrseq", "table"} <= sources
    assert sum(bool(case.target) for case in CASES) >= 20  # errors raised inside jobs, not only at parse time


@pytest.mark.slow
def test_accepted_inputs_pass_the_data_stages(tmp_path):
    """RNA (U), lower case, N and sequences of different lengths are accepted, as documented."""
    folder = tmp_path / "accepted"
    write_utrseq(folder / "utrseq")
    path = folder / "utrseq" / "reporter_seq.txt"
    rows = [line.split("\t") for line in path.read_text().splitlines()]
    rows[0][1] = rows[0][1].replace("T", "U")  # RNA
    rows[1][1] = rows[1][1].lower()  # lower case
    rows[2][1] = rows[2][1][:20] + "NNNN" + rows[2][1][24:]  # unknown bases
    rows[3][1] = rows[3][1][:45]  # shorter
    rows[4][1] = rows[4][1] + "ACGTTGCA" * 5  # longer
    path.write_text("".join(f"{rid}\t{seq}\n" for rid, seq in rows))
    results = folder / "results"
    done = snakemake(folder, str(results), fill(UTRSEQ, folder), [str(results / "data" / "split.tsv")])
    assert done.returncode == 0, done.stdout + done.stderr
    split = pd.read_csv(results / "data" / "split.tsv", sep="\t").set_index("id")
    assert len(split) == 30 and set(split["split"]) == {"train", "valid", "test"}
    sequences = split["sequence"]
    assert sequences.str.fullmatch("[ACGTN]+").all()
    assert sequences["R0"] == rows[0][1].replace("U", "T") and sequences["R1"] == rows[1][1].upper()
    assert "NNNN" in sequences["R2"]
    assert sorted(sequences.str.len().unique()) == [45, 60, 100]


@pytest.mark.slow
def test_table_source_accepts_rna_and_lower_case(tmp_path):
    folder = tmp_path / "table_ok"
    write_table(folder / "table")
    path = folder / "table" / "sequences.csv"
    path.write_text(path.read_text().replace("R0,", "R0,acgu", 1).replace("R1,", "R1,UUUU", 1))
    results = folder / "results"
    done = snakemake(folder, str(results), fill(merged(TABLE, {}), folder), [str(results / "data" / "target.tsv")])
    assert done.returncode == 0, done.stdout + done.stderr
    target = pd.read_csv(results / "data" / "target.tsv", sep="\t").set_index("id")
    assert target.loc["R0", "sequence"].startswith("ACGT") and target.loc["R1", "sequence"].startswith("TTTT")
