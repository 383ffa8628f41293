"""User-facing errors: one line that names the file or key, the problem and the fix."""

from __future__ import annotations

import errno
import logging
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
    """Turn an InputError, or a write the file system refused (full disk, read-only), into one
    line on stderr (and the log) and exit 1, instead of a traceback.

    Used by the thin Snakemake scripts: Snakemake then removes the job's outputs and reports
    the failed rule, and the user reads a single line that says what to fix.
    """
    raise_exceptions, logging.raiseExceptions = logging.raiseExceptions, False  # a full disk: no traceback per log line
    try:
        yield
    except InputError as error:
        _exit(f"decaylm error: {error}", log_path)
    except OSError as error:
        if error.errno not in REFUSED_WRITES:
            raise
        _exit(f"decaylm error: {error.filename or 'output'}: {error.strerror} "
              "(free some space, or choose a writable folder for results)", log_path)
    finally:
        logging.raiseExceptions = raise_exceptions


# The file system refused to write (full disk, quota, read-only, permissions): not a bug, one line.
REFUSED_WRITES = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM}


def _exit(line: str, log_path: str | None) -> None:
    if log_path:
        try:
            with open(log_path, "a") as log:
                log.write(line + "\n")
        except OSError:
            pass  # the log may sit on the same full disk; stderr still gets the line
    print(line, file=sys.stderr)
    sys.exit(1)
