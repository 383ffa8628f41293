"""The simulator's calibration figures (decaylm.simulate.calibration), on real or simulated data.

    .venv/bin/python benchmarks/calibrate_simulator.py --real [folder]   # default ../shared/data/utrseq
    .venv/bin/python benchmarks/calibrate_simulator.py [seed ...]        # default config, seed 0

docs/simulator.md has the figures and the history.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from decaylm.simulate import SimulationConfig  # noqa: E402
from decaylm.simulate.calibration import calibrate, format_numbers, measure_real  # noqa: E402

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "utrseq"


def main(args: list[str]) -> None:
    if args[:1] == ["--real"]:
        folder = args[1] if len(args) > 1 else str(REAL_DATA)
        print(f"real data {folder}:\n" + format_numbers(measure_real(folder)))
    else:
        for seed_arg in args or ["0"]:
            print(f"seed {seed_arg}:\n" + format_numbers(calibrate(SimulationConfig(seed=int(seed_arg)))))


if __name__ == "__main__":
    main(sys.argv[1:])
