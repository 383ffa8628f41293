"""benchmarks/gpu_check.py (make gpu-check) on a machine without CUDA: one line, and a failing exit."""

import subprocess
import sys

import pytest
import torch

from tests.helpers.paths import REPO


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the check would run")
def test_gpu_check_refuses_in_one_line_without_cuda():
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_check.py")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpu-check: no CUDA device") and "--device cpu" in lines[0]
    assert "Traceback" not in done.stderr and done.stdout == ""
