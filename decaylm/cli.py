"""The `decaylm` command. `decaylm predict` scores new sequences with trained models; `decaylm slurm-check`
and `decaylm slurm-run` check and run the workflow on a SLURM cluster (docs/slurm.md)."""

from __future__ import annotations

import argparse
import sys

PREDICT_HELP = """\
Score sequences with one or more trained models (folders results/models/NAME).

SEQUENCES is FASTA (any line width) or a TSV of id and sequence, with or without
a header (a header may name the columns id and sequence). RNA (U) and lower case
are accepted; letters other than A, C, G, T, U and N are an error.

Coordinates are 1-based and inclusive, like a genome browser: a sequence of the
training length (e.g. a 110-nt reporter) is one window, start 1, end 110. A
sequence shorter than that is scored as it is (down to the model's minimum
length). A longer one (a full-length 3'UTR) is cut into windows of the training
length every --stride nt; the last window ends at the sequence's end, so the
tail is scored too.

OUT has one row per window: id, start, end, then one column per model, named
by the model; an ensemble adds NAME_sd, its members' standard deviation (ddof 0)
beside their mean. Models of different input lengths cut different windows:
OUT is then long, one row per window and model (id, model, start, end,
prediction, sd).

The summary has one row per sequence and model: id, model, length, windows,
mean, min, and min_start, the start of the window with the lowest prediction:
lower means faster decay, so that is the most destabilizing window.

--variants scores each variant in the training-length window centred on it
(clipped to the sequence; a sequence of the training length or shorter is scored
whole), before (ref) and after (alt) the change. The alt window starts where the
ref window does and is cut to the training length, so after a deletion it takes
in the next bases. Output: id, position, ref, alt, then per model NAME_ref,
NAME_alt and NAME_delta (alt - ref).

Nothing is written unless every input is valid and every sequence was scored."""

VARIANTS_HELP = ("TSV with the header id, position, ref, alt: position 1-based, ref the bases the sequence "
                 "has there, alt the new bases; '-' is an empty allele (alt '-': a deletion)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="decaylm", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    predict = commands.add_parser("predict", help="score sequences, full-length 3'UTRs and variants",
                                  description=PREDICT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    predict.add_argument("model_dirs", nargs="+", metavar="MODEL_DIR", help="a trained model's folder")
    predict.add_argument("sequences", metavar="SEQUENCES", help="FASTA or TSV of id and sequence")
    predict.add_argument("-o", "--out", required=True, metavar="OUT.tsv", help="predictions, one row per window")
    predict.add_argument("--stride", type=int, default=10, help="nt between window starts (default: 10)")
    predict.add_argument("--summary", metavar="SUMMARY.tsv",
                         help="one row per sequence and model (default: OUT with .tsv replaced by .summary.tsv)")
    predict.add_argument("--variants", metavar="VARIANTS.tsv", help=VARIANTS_HELP)
    predict.add_argument("--variants-out", metavar="SCORES.tsv",
                         help="the scored variants (default: OUT with .tsv replaced by .variants.tsv)")
    predict.add_argument("--batch-size", type=int, metavar="N",
                         help="sequences per batch inside each model (default: the model's own)")
    predict.add_argument("--trust-remote-code", action="store_true",
                         help="load a model folder that runs Python files of its own (a pretrained model trained with "
                              "trust_remote_code: true); off by default: only for folders you trust (docs/predict.md)")
    predict.set_defaults(run=run_predict)

    # The SLURM commands take Snakemake's arguments as they are (any not listed here goes to Snakemake).
    check = commands.add_parser("slurm-check", help="can the cluster run every job? (one line per rule that it cannot)",
                                description=SLURM_CHECK_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
                                allow_abbrev=False)
    check.set_defaults(run=run_slurm_check, passes_args=True)
    run = commands.add_parser("slurm-run", help="slurm-check, then Snakemake, stopping on a job that can never start",
                              description=SLURM_RUN_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
                              allow_abbrev=False)
    run.add_argument("--no-check", action="store_true", help="skip the check before the run")
    run.add_argument("--watch-seconds", type=float, default=20.0, metavar="S",
                     help="seconds between looks at the run's pending jobs (default: 20)")
    run.set_defaults(run=run_slurm_run, passes_args=True)
    return parser


SLURM_CHECK_HELP = """\
decaylm slurm-check SNAKEMAKE_ARGS...: the jobs a `snakemake SNAKEMAKE_ARGS` run would submit (a dry run
with the same profiles, config and overrides) against what their SLURM partition offers (sinfo: CPUs,
memory and GPUs per node, time limit; scontrol: the partition's per-node limits). Prints one line per rule
that cannot be scheduled there (what it asks for, what the partition has, the override that fits) and exits
1; exits 0 when every job fits. Example:
  decaylm slurm-check --profile profiles/slurm --workflow-profile none --configfile my.yaml"""

SLURM_RUN_HELP = """\
decaylm slurm-run SNAKEMAKE_ARGS...: `decaylm slurm-check`, then `snakemake SNAKEMAKE_ARGS` (what `make slurm`
runs). While it runs, a job of the run that pends for a reason no wait resolves (PartitionConfig,
MaxMemPerLimit, PartitionTimeLimit, an invalid account or QOS, a node that does not exist) stops the run with
one line, and its jobs are cancelled; so does Ctrl-C."""


def run_slurm_check(args: argparse.Namespace) -> None:
    from decaylm.resources import preflight

    lines = preflight(args.snakemake_args)
    for line in lines:
        print(line, file=sys.stderr)
    if lines:
        sys.exit(1)
    print("decaylm slurm-check: every job fits its partition", file=sys.stderr)


def run_slurm_run(args: argparse.Namespace) -> None:
    from decaylm.resources import run_watched

    if not args.no_check:
        run_slurm_check(args)
    sys.exit(run_watched(args.snakemake_args, interval=args.watch_seconds))


def run_predict(args: argparse.Namespace) -> None:
    from decaylm.errors import InputError
    from decaylm.predict import predict_files

    if args.batch_size is not None and args.batch_size < 1:
        raise InputError("--batch-size", f"{args.batch_size} is not >= 1", "e.g. --batch-size 256")
    predict_files(args.model_dirs, args.sequences, args.out, stride=args.stride, summary_path=args.summary,
                  variants_path=args.variants, variants_out_path=args.variants_out, batch_size=args.batch_size,
                  trust_remote_code=args.trust_remote_code)


def main(argv: list[str] | None = None) -> None:
    """Run a command; bad input ends in one line on stderr and exit status 1."""
    from decaylm.errors import one_line_errors
    from decaylm.logs import setup_logging

    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if getattr(args, "passes_args", False):
        args.snakemake_args = rest
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    setup_logging()
    with one_line_errors():
        args.run(args)


if __name__ == "__main__":
    main()
