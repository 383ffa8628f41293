"""Bad input stops the workflow with one line that names the file or key and the fix.

Every case of tests/helpers/malformed.py is checked in-process, along the path the workflow takes.
The config is merged as Snakemake merges config.yaml, --configfile and --config (the minimal config,
the case's override, `results`), then prepared as rules/common.smk prepares it while Snakemake parses
the workflow (decaylm.workflow.prepare_config: drop `NAME: null` entries, the JSON schema,
decaylm.config.check_config).
For an error inside a job, the data-stage scripts (normalize_expression, compute_target,
split_data) run in order, wired as the rules wire them, until the case's target. Checked: one
line holding the key or file, the problem and the fix; no Python traceback; no output of the
failed stage and no temporary file left under results.

The cases of END_TO_END also run Snakemake as a user would (from the repository, with the default
profile; a dry run for a parse-time error, else a build of the first output that should fail):
a non-zero exit, the same line, no traceback, and only logs and earlier stages left under results.
"""

from __future__ import annotations

import logging
import runpy
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from snakemake.iocontainers import Namedlist

from tests.helpers.configs import ConfigRefused, expression_inputs, minimal_config, workflow_config, write_config
from tests.helpers.data import small_table, small_utrseq
from tests.helpers.malformed import CASES, END_TO_END, TABLE, UTRSEQ, Case
from tests.helpers.paths import REPO
from tests.helpers.snakemake import run_snakemake

TRACEBACK = "Traceback (most recent call last)"
WORKERS = 2  # end-to-end cases are independent; two at a time halve the wall time on 2 cores
BY_NAME = {case.name: case for case in CASES}


def fill(value, folder: Path):
    """Replace {dir} by the case's folder throughout a config value."""
    if isinstance(value, str):
        return value.replace("{dir}", str(folder))
    if isinstance(value, dict):
        return {key: fill(item, folder) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(fill(item, folder) for item in value)
    return value


def prepare(case: Case, tmp: Path) -> tuple[Path, Path]:
    """The case's folder (valid UTR-seq and table data, then broken as the case says) and its results folder."""
    folder = tmp / case.name
    small_utrseq(folder / "utrseq")
    small_table(folder / "table")
    if case.data:
        case.data(folder)
    return folder, Path(fill(case.results, folder) if case.results else folder / "results")


def result_files(results: Path) -> list[str]:
    return sorted(p.relative_to(results).as_posix() for p in results.rglob("*") if p.is_file()) \
        if results.is_dir() else []


def check_refusal(case: Case, folder: Path, output: str, files: list[str]) -> None:
    """One line with every expected word, prefixed as decaylm prefixes it; no traceback; nothing partial."""
    assert TRACEBACK not in output, output
    expect = [fill(word, folder) for word in case.expect]
    lines = [line for line in output.splitlines() if all(word in line for word in expect)]
    assert lines, f"no single line holds all of {expect}:\n{output}"
    assert all(line.lstrip().startswith(("config error: ", "decaylm error: ")) for line in lines), lines
    # parse-time errors write nothing; a failed job leaves only logs and the earlier stages
    allowed = set(case.kept) if case.target else set()
    leftovers = [f for f in files if not f.startswith(("logs/", "benchmarks/")) and f not in allowed]
    assert leftovers == [], leftovers
    assert not [f for f in files if f.endswith(".tmp")]
    assert not list(folder.rglob("*.tmp")) and not list(folder.rglob(".*.tmp"))


# ---------------------------------------------------------------------------------------------
# in-process: the workflow's config check and its data-stage scripts, without Snakemake

def case_config(case: Case, folder: Path, results: Path) -> dict:
    return workflow_config(minimal_config(), fill(case.config, folder), {"results": str(results)})


def stages(config: dict) -> list[tuple[str, dict, str, dict]]:
    """(script, inputs, output under results, params) of each data stage, wired as rules/*.smk wire them."""
    results = Path(config["results"])
    return [
        ("normalize_expression", expression_inputs(config), "data/expression.tsv", {"data": config["data"]}),
        ("compute_target", {"expression": str(results / "data/expression.tsv")}, "data/target.tsv",
         {"target": config["target"]}),
        ("split_data", {"target": str(results / "data/target.tsv")}, "data/split.tsv", {"split": config["split"]}),
    ]


def run_script(name: str, inputs: dict, output: Path, params: dict, log: Path) -> int:
    """Run scripts/{name}.py with the `snakemake` object it reads; its exit code (0: finished)."""
    log.parent.mkdir(parents=True, exist_ok=True)  # Snakemake makes the log's folder before a job
    job = SimpleNamespace(input=Namedlist(fromdict=inputs), output=Namedlist(fromdict={"out": str(output)}),
                          params=SimpleNamespace(**params), log=Namedlist([str(log)]),
                          wildcards=Namedlist(fromdict={}))  # one library: no {library} wildcard
    try:
        runpy.run_path(str(REPO / "scripts" / f"{name}.py"), init_globals={"snakemake": job}, run_name="__main__")
        return 0
    except SystemExit as stop:
        return stop.code
    finally:
        root = logging.getLogger()
        for handler in root.handlers[:]:  # the script's log-file handler: closed, not leaked into later tests
            root.removeHandler(handler)
            handler.close()


def run_stages(config: dict, until: str) -> tuple[str, int]:
    """Run the data stages in order until the one writing `until` or the first failure: (output, exit code)."""
    results = Path(config["results"])
    for name, inputs, output, params in stages(config):
        code = run_script(name, inputs, results / output, params, results / "logs" / f"{name}.log")
        if code != 0 or output == until:
            return output, code
    raise AssertionError(f"no data stage writes {until}")


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_is_refused_in_one_line(case, tmp_path, capsys):
    folder, results = prepare(case, tmp_path)
    if not case.target:  # refused while the config is parsed
        with pytest.raises(ConfigRefused) as refused:
            case_config(case, folder, results)
        output = str(refused.value)
        assert "\n" not in output
    else:  # the config passes; the job writing case.target stops with one line on stderr and in its log
        config = case_config(case, folder, results)
        capsys.readouterr()
        stage, code = run_stages(config, case.target)
        output = capsys.readouterr().err
        assert (stage, code) == (case.target, 1), output
        assert not (results / case.target).exists()
        logs = "".join(path.read_text() for path in (results / "logs").glob("*.log"))
        assert [line for line in output.splitlines() if line.startswith("decaylm error: ")][-1] in logs
    check_refusal(case, folder, output, result_files(results) if not case.results else [])


def test_catalogue_is_broad():
    """At least 30 distinct malformed inputs, across the config and every data source; a few end to end."""
    assert len({case.name for case in CASES}) == len(CASES) >= 30
    sources = {(case.config.get("data") or {}).get("source", "simulated") for case in CASES}
    assert {"simulated", "utrseq", "table"} <= sources
    assert sum(bool(case.target) for case in CASES) >= 20  # errors raised inside jobs, not only at parse time
    chosen = [BY_NAME[name] for name in END_TO_END]
    assert {case.target for case in chosen} == {"", "data/expression.tsv", "data/target.tsv", "data/split.tsv"}
    assert any(case.kept for case in chosen)
    assert {(case.config.get("data") or {}).get("source", "simulated") for case in chosen} >= {"utrseq", "table"}


def _accepted_utrseq(folder: Path) -> list[list[str]]:
    """A valid UTR-seq folder with RNA (U), lower case, N and sequences of different lengths."""
    small_utrseq(folder / "utrseq")
    path = folder / "utrseq" / "reporter_seq.txt"
    rows = [line.split("\t") for line in path.read_text().splitlines()]
    rows[0][1] = rows[0][1].replace("T", "U")  # RNA
    rows[1][1] = rows[1][1].lower()  # lower case
    rows[2][1] = rows[2][1][:20] + "NNNN" + rows[2][1][24:]  # unknown bases
    rows[3][1] = rows[3][1][:45]  # shorter
    rows[4][1] = rows[4][1] + "ACGTTGCA" * 5  # longer
    path.write_text("".join(f"{rid}\t{seq}\n" for rid, seq in rows))
    return rows


def test_accepted_inputs_pass_the_data_stages(tmp_path):
    """RNA (U), lower case, N and sequences of different lengths are accepted, as documented."""
    folder, results = tmp_path / "accepted", tmp_path / "accepted" / "results"
    rows = _accepted_utrseq(folder)
    config = workflow_config(minimal_config(), fill(UTRSEQ, folder), {"results": str(results)})
    assert run_stages(config, "data/split.tsv") == ("data/split.tsv", 0)
    split = pd.read_csv(results / "data" / "split.tsv", sep="\t").set_index("id")
    assert len(split) == 30 and set(split["split"]) == {"train", "valid", "test"}
    sequences = split["sequence"]
    assert sequences.str.fullmatch("[ACGTN]+").all()
    assert sequences["R0"] == rows[0][1].replace("U", "T") and sequences["R1"] == rows[1][1].upper()
    assert "NNNN" in sequences["R2"]
    assert sorted(sequences.str.len().unique()) == [45, 60, 100]


def test_table_source_accepts_rna_and_lower_case(tmp_path):
    folder = tmp_path / "table_ok"
    small_table(folder / "table")
    path = folder / "table" / "sequences.csv"
    path.write_text(path.read_text().replace("R0,", "R0,acgu", 1).replace("R1,", "R1,UUUU", 1))
    results = folder / "results"
    config = workflow_config(minimal_config(), fill(TABLE, folder), {"results": str(results)})
    assert run_stages(config, "data/target.tsv") == ("data/target.tsv", 0)
    target = pd.read_csv(results / "data" / "target.tsv", sep="\t").set_index("id")
    assert target.loc["R0", "sequence"].startswith("ACGT") and target.loc["R1", "sequence"].startswith("TTTT")


# ---------------------------------------------------------------------------------------------
# end to end: Snakemake relays the line, exits non-zero and removes what the failed job wrote

def run_case(case: Case, tmp: Path) -> dict:
    """Snakemake from the repository (so the default profile applies) on the minimal config and the case's
    layer: a dry run for a parse-time error, else a build of case.target."""
    folder, results = prepare(case, tmp)
    configs = (write_config(folder / "minimal.yaml", minimal_config()),
               write_config(folder / "case.yaml", fill(case.config, folder)))
    args = [str(results / case.target)] if case.target else ["--dry-run"]
    done = run_snakemake(*args, results=results, configfiles=configs, cores=1, check=False, timeout=600)
    (folder / "output.txt").write_text(done.stdout + done.stderr)  # to read when a case fails
    return {"folder": folder, "returncode": done.returncode, "output": done.stdout + done.stderr,
            "files": result_files(results) if not case.results else []}


@pytest.fixture(scope="module")
def outcomes(request, tmp_path_factory):
    """Run the selected end-to-end cases, two at a time, once per module; each test then checks its own."""
    selected = [item.callspec.params["name"] for item in request.session.items
                if getattr(item, "originalname", "") == "test_snakemake_relays_the_line_and_keeps_nothing_partial"]
    tmp = tmp_path_factory.mktemp("bad_input")
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = {name: pool.submit(run_case, BY_NAME[name], tmp) for name in selected}
        yield {name: future.result() for name, future in futures.items()}


@pytest.mark.slow
@pytest.mark.parametrize("name", END_TO_END)
def test_snakemake_relays_the_line_and_keeps_nothing_partial(name, outcomes):
    case, outcome = BY_NAME[name], outcomes[name]
    assert outcome["returncode"] != 0, outcome["output"]
    check_refusal(case, outcome["folder"], outcome["output"], outcome["files"])
    if case.target:  # the earlier stages ran and stay; the failed one's output is gone
        assert set(case.kept) <= set(outcome["files"]) and case.target not in outcome["files"]
