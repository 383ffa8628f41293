"""Which simulated elements the interpretation stage recovers, over seeds and modisco-lite settings
(decaylm.interpret.validation; the record of the seqlet share in decaylm.interpret.motifs).

    .venv/bin/python benchmarks/bench_interpret_simulator.py --seeds 12 13 14 15 16 \\
        --min-passing-windows-frac 0.03 0.05 0.08 0.1

Per seed and setting: the known elements missed (no motif of the planted sign, or more seqlets in
motifs of the other sign), whether UUAG came out as a new stabilizing motif, the number of patterns,
and the seqlets of each element's planted-sign motifs. The test (tests/test_interpret_validation.py) uses seed
11, so settings are chosen on the other seeds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from decaylm.interpret import validation  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[12, 13, 14, 15, 16])
    parser.add_argument("--min-passing-windows-frac", type=float, nargs="+", default=[0.03, 0.05, 0.08, 0.1])
    parser.add_argument("--reporters", type=int, default=6000)
    parser.add_argument("--sequences", type=int, default=600)
    args = parser.parse_args()
    passed = {f: 0 for f in args.min_passing_windows_frac}
    for seed in args.seeds:
        for fraction in args.min_passing_windows_frac:
            result = validation.recover_planted(seed, args.reporters, args.sequences,
                                                modisco={"min_passing_windows_frac": fraction}, effects=False)
            counts = result.seqlets_by_sign()
            ok = not result.missing() and bool(result.novel())
            passed[fraction] += ok
            seqlets = ", ".join(f"{k} {counts[k][s]}" for k, s in validation.PLANTED_SIGNS.items())
            print(f"seed {seed} min_passing_windows_frac {fraction}: {'all recovered' if ok else 'not all'}; "
                  f"missing {result.missing() or '-'}; UUAG new: {bool(result.novel())}; {len(result.found)} patterns; "
                  f"planted-sign seqlets: {seqlets}; ridge test R2 {result.test_r2:.3f}", flush=True)
    for fraction, n in passed.items():
        print(f"min_passing_windows_frac {fraction}: every element recovered on {n} of {len(args.seeds)} seeds")


if __name__ == "__main__":
    main()
