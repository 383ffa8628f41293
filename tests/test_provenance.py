"""decaylm.provenance: what a result records of how it was made, and why a model of several members
did not run. (Whole runs' records: tests/test_reliability.py.)"""

from __future__ import annotations

import json
import re

from decaylm.provenance import PACKAGES, git_commit, members_not_run, provenance, write_run
from tests.helpers.paths import REPO


def test_a_record_holds_settings_seed_versions_and_the_commit(tmp_path):
    record = provenance({"model": "X"}, seed=3, repo=REPO)
    assert record["settings"] == {"model": "X"} and record["seed"] == 3
    assert list(record["versions"]) == PACKAGES and all(record["versions"].values())
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", record["git_commit"])
    assert git_commit(tmp_path) == "unknown"  # not a checkout
    write_run(tmp_path / "run.json", record, "not_run", reason="offline")
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["status"] == "not_run" and run["reason"] == "offline" and run["seed"] == 3


def test_members_not_run_name_the_members_and_the_first_reason(tmp_path):
    folders = [tmp_path / f"repeat{r}" for r in (1, 2, 3)]
    ok = {"status": "ok"}
    assert members_not_run(folders, [ok, ok, ok]) is None
    runs = [ok, {"status": "not_run", "reason": "weights offline"}, {"status": "not_run"}]
    assert members_not_run(folders, runs) == "repeat2, repeat3: weights offline"
