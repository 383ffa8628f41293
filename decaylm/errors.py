"""User-facing errors: one line that names the file or key, the problem and the fix."""

from __future__ import annotations

import sys
from contextlib import contextmanager


class InputError(Exception):
    """Bad input or config. Its message is the whole story: one line, no traceback needed."""

    def __init__(self, where: str, problem: str, fix: str = ""):
        self.where, self.problem, self.fix = where, problem, fix
        message = f"{where}: {problem}"
        if fix:
            message += f" ({fix})"
        super().__init__(message)


@contextmanager
def one_line_errors(log_path: str | None = None):
    """Turn an InputError into one line on stderr (and the log) and exit 1, instead of a traceback.

    Used by the thin Snakemake scripts: Snakemake then removes the job's outputs and reports
    the failed rule, and the user reads a single line that says what to fix.
    """
    try:
        yield
    except InputError as error:
        line = f"decaylm error: {error}"
        if log_path:
            with open(log_path, "a") as log:
                log.write(line + "\n")
        print(line, file=sys.stderr)
        sys.exit(1)
