"""The `decaylm` command. `decaylm predict` scores new sequences with trained models."""

from __future__ import annotations

import argparse

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
    predict.set_defaults(run=run_predict)
    return parser


def run_predict(args: argparse.Namespace) -> None:
    from decaylm.errors import InputError
    from decaylm.predict import predict_files

    if args.batch_size is not None and args.batch_size < 1:
        raise InputError("--batch-size", f"{args.batch_size} is not >= 1", "e.g. --batch-size 256")
    predict_files(args.model_dirs, args.sequences, args.out, stride=args.stride, summary_path=args.summary,
                  variants_path=args.variants, variants_out_path=args.variants_out, batch_size=args.batch_size)


def main(argv: list[str] | None = None) -> None:
    """Run a command; bad input ends in one line on stderr and exit status 1."""
    from decaylm.errors import one_line_errors
    from decaylm.logs import setup_logging

    args = build_parser().parse_args(argv)
    setup_logging()
    with one_line_errors():
        args.run(args)


if __name__ == "__main__":
    main()
