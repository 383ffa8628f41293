"""decaylm.errors: bad input, and a write the file system refuses, end a script in one line on stderr
and in its log with exit status 1; any other error keeps its traceback."""

from __future__ import annotations

import errno
import logging

import pytest

from decaylm.errors import InputError, one_line_errors


def test_input_error_reads_where_problem_and_fix():
    assert str(InputError("data.hours", "not increasing", "list each hour once")) == \
        "data.hours: not increasing (list each hour once)"
    assert str(InputError("a.txt row 3", "empty")) == "a.txt row 3: empty"


def test_bad_input_exits_with_one_line_on_stderr_and_in_the_log(tmp_path, capsys):
    log = tmp_path / "job.log"
    with pytest.raises(SystemExit) as stop, one_line_errors(str(log)):
        raise InputError("data.path", "'x' not found", "point it at the folder")
    line = "decaylm error: data.path: 'x' not found (point it at the folder)"
    assert stop.value.code == 1
    assert capsys.readouterr().err == line + "\n" and log.read_text() == line + "\n"
    assert logging.raiseExceptions  # restored after the block


def test_a_full_disk_is_one_line_and_other_errors_are_not_caught(capsys):
    with pytest.raises(SystemExit), one_line_errors():
        raise OSError(errno.ENOSPC, "No space left on device", "/results/data/split.tsv")
    assert capsys.readouterr().err == ("decaylm error: /results/data/split.tsv: No space left on device "
                                       "(free some space, or choose a writable folder for results)\n")
    with pytest.raises(FileNotFoundError), one_line_errors():
        raise FileNotFoundError(errno.ENOENT, "No such file", "x")
    with pytest.raises(ValueError), one_line_errors():
        raise ValueError("a bug")
