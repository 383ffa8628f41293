"""The catalogue of malformed inputs, one `Case` each, that tests/test_bad_input.py checks.

Every case is a config layer (merged on top of tests.helpers.configs.minimal_config) and, for the
file-based sources, a small valid data folder (tests.helpers.data.small_utrseq and small_table)
that the case then breaks. `expect` lists what the one error line must say: the key or file and the
fix. `target` is the output to build: empty for errors that must stop Snakemake while it parses the
config. `{dir}` in the config, the expected words and `results` stands for the case's own folder.
END_TO_END names the few cases that also run through Snakemake itself.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.configs import merged
from tests.helpers.data import SMALL_HOURS


@dataclass(frozen=True)
class Case:
    name: str
    config: dict
    expect: tuple[str, ...]
    target: str = ""  # under results; "" = a parse-time error
    data: Callable[[Path], None] | None = None  # breaks the case folder's valid data
    kept: tuple[str, ...] = ()  # outputs of earlier stages that may remain (under results)
    results: str = ""  # the results folder, if not the case's own


# the case folder's valid data: {dir}/utrseq (30 reporters at 0, 2 and 8 h) and {dir}/table (1, 2 and 6 h)
UTRSEQ = {"data": {"source": "utrseq", "path": "{dir}/utrseq", "hours": SMALL_HOURS, "filter_hours": [2]},
          "target": {"from_hour": 2, "to_hour": 8}}
TABLE = {"data": {"source": "table", "expression": "{dir}/table/expression.csv",
                  "sequences": "{dir}/table/sequences.csv"},
         "target": {"from_hour": 1, "to_hour": 6}}
COUNTS, SEQS = "{dir}/utrseq/reporter_counts.txt", "{dir}/utrseq/reporter_seq.txt"
EXPR, SEQCSV = "{dir}/table/expression.csv", "{dir}/table/sequences.csv"
EXPRESSION = "data/expression.tsv"


# ---------------------------------------------------------------------------------------------
# ways to break a file

def replace(relative: str, old, new, count: int = 1) -> Callable[[Path], None]:
    """Replace the first `count` occurrences of `old` (str or bytes) in a file of the case folder."""
    def apply(folder: Path) -> None:
        path = folder / relative
        raw = path.read_bytes()
        old_b, new_b = (x.encode() if isinstance(x, str) else x for x in (old, new))
        assert old_b in raw, f"{old!r} not in {path}"
        path.write_bytes(raw.replace(old_b, new_b, count))
    return apply


def rewrite(relative: str, change: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        path = folder / relative
        path.write_bytes(change(path.read_bytes()))
    return apply


def drop_lines(relative: str, keep: Callable[[str], bool]) -> Callable[[Path], None]:
    return rewrite(relative, lambda raw: "".join(
        line for line in raw.decode().splitlines(keepends=True) if keep(line)).encode())


def remove(relative: str) -> Callable[[Path], None]:
    return lambda folder: (folder / relative).unlink()


def cut_mid_line(raw: bytes) -> bytes:
    """Cut the file inside the second field of its middle line, as an interrupted copy would."""
    lines = raw.splitlines(keepends=True)
    middle = len(lines) // 2
    head = b"".join(lines[:middle])
    second_field = lines[middle].replace(b",", b"\t").index(b"\t") + 2
    return head + lines[middle][:second_field]


def set_field(relative: str, line: int, column: int, value: str, sep: str = ",") -> Callable[[Path], None]:
    """Set field `column` of line `line` (0 = the first line, the header if there is one)."""
    def apply(folder: Path) -> None:
        path = folder / relative
        lines = path.read_text().splitlines()
        fields = lines[line].split(sep)
        fields[column] = value
        lines[line] = sep.join(fields)
        path.write_text("\n".join(lines) + "\n")
    return apply


def keep_reporters(n: int) -> Callable[[Path], None]:
    """Keep only the first `n` reporters (and the header and spike-ins) in both UTR-seq files."""
    ids = {f"R{i}" for i in range(n)}

    def apply(folder: Path) -> None:
        drop_lines(CTS, lambda line: not line.startswith("R") or line.split("\t")[0] in ids)(folder)
        drop_lines(SEQ, lambda line: line.split("\t")[0] in ids)(folder)
    return apply


CTS, SEQ, EXP, SCS = "utrseq/reporter_counts.txt", "utrseq/reporter_seq.txt", "table/expression.csv", "table/sequences.csv"


def _cases() -> list[Case]:
    u = lambda extra=None: merged(UTRSEQ, extra or {})
    t = lambda extra=None: merged(TABLE, extra or {})
    return [
        # --- the config: schema (types, names, enums) ---------------------------------------
        Case("seed_not_an_integer", {"seed": "abc"}, ("config error: seed:", "'abc'", "give a whole number")),
        Case("unknown_top_level_key", {"modles": {"X": {"kind": "cnn"}}}, ("config error: modles:", "unknown key", "check its spelling")),
        Case("unknown_data_key", {"data": {"hour": [0, 2]}}, ("config error: data.hour:", "unknown key", "check its spelling")),
        Case("unknown_data_source", {"data": {"source": "fasta"}}, ("config error: data.source:", "'fasta'", "use one of")),
        Case("data_download_not_boolean", {"data": {"download": "yes"}}, ("config error: data.download:", "give true or false")),
        Case("hours_not_a_list", {"data": {"hours": "0,2,8"}}, ("config error: data.hours:", "give a list")),
        Case("hours_too_few", {"data": {"hours": [2]}}, ("config error: data.hours:", "give at least 2 items")),
        Case("pseudocount_zero", {"data": {"pseudocount": 0}}, ("config error: data.pseudocount:", "use a value > 0")),
        Case("target_hour_negative", {"target": {"from_hour": -1}}, ("config error: target.from_hour:", "use a value >= 0")),
        Case("target_kind_unknown", {"target": {"kind": "ratio"}}, ("config error: target.kind:", "use one of")),
        Case("split_method_unknown", {"split": {"method": "kfold"}}, ("config error: split.method:", "use one of")),
        Case("split_fraction_misspelt", {"split": {"fractions": {"tset": 0.1}}},
             ("config error: split.fractions.tset:", "unknown key", "known keys: ['test', 'train', 'valid']")),
        Case("tokenizer_kind_unknown", {"tokenizers": {"tok": {"kind": "sentencepiece"}}},
             ("config error: tokenizers.tok.kind:", "'sentencepiece'", "use one of")),
        Case("tokenizer_without_kind", {"tokenizers": {"tok": {"k": 3}}}, ("config error: tokenizers.tok:", "'kind'", "add it")),
        Case("tokenizer_unknown_parameter", {"tokenizers": {"tok": {"kind": "kmer", "size": 3}}},
             ("config error: tokenizers.tok.size:", "not a parameter of kind kmer", "accepted: k, overlapping")),
        Case("tokenizer_k_too_large", {"tokenizers": {"tok": {"kind": "kmer", "k": 12}}}, ("config error: tokenizers.tok.k:", "use k <= 8")),
        Case("tokenizers_not_a_mapping", {"tokenizers": 5}, ("config error: tokenizers:", "give a mapping")),
        Case("aux_hours_not_measured", {"models": {"C": {"kind": "cnn", "aux_hours": [4, 9]}}},
             ("config error: models.C.aux_hours:", "[9] are not in data.hours", "choose measured hours")),
        Case("aux_hours_not_a_list", {"models": {"C": {"kind": "cnn", "aux_hours": 4}}},
             ("config error: models.C.aux_hours:", "not a list of hours", "give a list like")),
        Case("model_kind_unknown", {"models": {"M": {"kind": "transformer"}}}, ("config error: models.M.kind:", "use one of")),
        Case("model_name_with_space", {"models": {"my model": {"kind": "cnn"}}}, ("config error: models:", "'my model'", "letters, digits and _")),
        Case("model_seed_not_integer", {"models": {"KMER_RIDGE": {"seed": 1.5}}}, ("config error: models.KMER_RIDGE.seed:", "give a whole number")),
        Case("no_models_left", {"models": {"KMER_RIDGE": None}}, ("config error: models:", "has no entries", "configure at least one")),
        Case("simulate_not_a_mapping", {"data": {"simulate": 5}}, ("config error: data.simulate:", "give a mapping")),
        # --- the config: meaning ------------------------------------------------------------
        Case("hours_not_increasing", {"data": {"hours": [0, 8, 2]}}, ("config error: data.hours:", "list each hour once, in order")),
        Case("filter_hour_not_measured", {"data": {"filter_hours": [5.5]}}, ("config error: data.filter_hours:", "choose hours from data.hours")),
        Case("target_hours_reversed", {"target": {"from_hour": 8, "to_hour": 2}}, ("config error: target.to_hour:", "swap them")),
        Case("target_hour_not_measured", {"target": {"to_hour": 9}}, ("config error: target.to_hour:", "choose one of the measured hours")),
        Case("split_fractions_do_not_add_up", {"split": {"fractions": {"train": 0.5, "valid": 0.1, "test": 0.1}}},
             ("config error: split.fractions:", "add up to 1")),
        Case("model_names_missing_tokenizer", {"models": {"BERT_X": {"kind": "bert", "tokenizer": "nope"}}},
             ("config error: models.BERT_X.tokenizer:", "'nope' is not a configured tokenizer", "add it under tokenizers")),
        Case("bert_model_without_tokenizer", {"models": {"BERT_X": {"kind": "bert"}}}, ("config error: models.BERT_X.tokenizer:", "missing", "name one of")),
        Case("model_init_from_unknown_pretraining",
             {"tokenizers": {"tok": {"kind": "nucleotide"}}, "models": {"BERT_X": {"kind": "bert", "tokenizer": "tok", "init_from": "nope"}}},
             ("config error: models.BERT_X.init_from:", "'nope' is not under pretraining", "use one of")),
        Case("pretraining_names_missing_tokenizer", {"pretraining": {"MLM": {"tokenizer": "nope"}}},
             ("config error: pretraining.MLM.tokenizer:", "'nope'", "use one of")),
        Case("pretrained_model_without_checkpoint", {"models": {"D": {"kind": "pretrained"}}},
             ("config error: models.D.checkpoint:", "give a hub id or a local directory")),
        Case("results_not_writable", {}, ("config error: results:", "choose a writable folder"), results="/proc/decaylm-results"),
        Case("results_under_a_file", {}, ("config error: results:", "not a folder", "choose a writable folder"),
             results="{dir}/utrseq/reporter_seq.txt/results"),
        # --- simulated source: data.simulate (checked while parsing, as the simulator will) ---
        Case("simulate_unknown_key", {"data": {"simulate": {"n_reporter": 100}}}, ("config error: data.simulate.n_reporter:", "unknown setting", "known:")),
        Case("simulate_n_reporters_zero", {"data": {"simulate": {"n_reporters": 0}}}, ("config error: data.simulate.n_reporters:", "must be at least 1")),
        Case("simulate_n_reporters_text", {"data": {"simulate": {"n_reporters": "many"}}}, ("config error: data.simulate.n_reporters:", "must be an integer")),
        Case("simulate_base_probs_sum", {"data": {"simulate": {"base_probs": {"A": 0.5, "C": 0.5, "G": 0.5, "T": 0.5}}}},
             ("config error: data.simulate.base_probs:", "sum to 1")),
        Case("simulate_unknown_element", {"data": {"simulate": {"element_probs": {"let7": 0.2}}}},
             ("config error: data.simulate.element_probs.let7:", "unknown element kind", "use one of")),
        # --- utrseq source: the folder ------------------------------------------------------
        Case("utrseq_path_empty", u({"data": {"path": ""}}), ("config error: data.path:", "set it to the folder")),
        Case("utrseq_folder_missing", u({"data": {"path": "{dir}/nowhere"}}), ("config error: data.path:", "'{dir}/nowhere' not found", "point it at")),
        Case("utrseq_counts_file_missing", u(), ("config error: data.path:", "reporter_counts.txt", "add the file"), data=remove(CTS)),
        # --- utrseq source: reporter_counts.txt (fails in the first job) ----------------------
        Case("counts_truncated_mid_line", u(), (COUNTS, "is empty", "restore the complete file"), EXPRESSION, rewrite(CTS, cut_mid_line)),
        Case("counts_not_numeric", u(), (COUNTS + " row 4", "column AR02 holds 'abc'", "counts must be non-negative numbers"), EXPRESSION,
             set_field(CTS, 3, 2, "abc", "\t")),
        Case("counts_negative", u(), (COUNTS + " row 4", "column AR01 holds '-5'", "counts must be non-negative numbers"), EXPRESSION,
             set_field(CTS, 3, 1, "-5", "\t")),
        Case("counts_infinite", u(), (COUNTS + " row 5", "column AR03 holds 'inf'", "counts must be non-negative numbers"), EXPRESSION,
             set_field(CTS, 4, 3, "inf", "\t")),
        Case("counts_without_spike_ins", u(), (COUNTS, "no spike-in rows", "add the spike-in rows"), EXPRESSION,
             drop_lines(CTS, lambda line: not line.startswith("SPIKE_"))),
        Case("spike_ins_without_reads", u(), (COUNTS, "no reads in column AR02", "check the spike-in counts"), EXPRESSION,
             rewrite(CTS, lambda raw: raw.replace(b"\t500\t500\t500", b"\t500\t0\t500"))),
        Case("counts_id_without_sequence", u(), (COUNTS, "have no sequence", "'R0'", "add their sequences"), EXPRESSION,
             drop_lines(SEQ, lambda line: not line.startswith("R0\t"))),
        Case("sequence_id_without_counts", u(), (SEQS, "have no counts", "'R0'", "add their counts"), EXPRESSION,
             drop_lines(CTS, lambda line: not line.startswith("R0\t"))),
        Case("counts_duplicate_id", u(), (COUNTS + " row 3", "duplicate id 'R0'", "make ids unique"), EXPRESSION, replace(CTS, "R1\t", "R0\t")),
        Case("sequences_duplicate_id", u(), (SEQS + " row 2", "duplicate id 'R0'", "make ids unique"), EXPRESSION, replace(SEQ, "R1\t", "R0\t")),
        Case("counts_empty_file", u(), (COUNTS, "counts file is empty", "supply a non-empty file"), EXPRESSION, rewrite(CTS, lambda raw: b"")),
        Case("counts_comma_delimited", u(), (COUNTS, "header must be", "check the delimiter is a tab"), EXPRESSION,
             rewrite(CTS, lambda raw: raw.replace(b"\t", b","))),
        Case("counts_without_header", u(), (COUNTS, "header must be", "the header is present"), EXPRESSION,
             rewrite(CTS, lambda raw: raw.split(b"\n", 1)[1])),
        Case("counts_extra_field", u(), (COUNTS, "Expected 4 fields in line 3, saw 5", "expect tab-separated columns"), EXPRESSION,
             replace(CTS, "R1\t", "R1\t7\t")),
        Case("counts_gzipped", u(), (COUNTS, "is not UTF-8 text", "decompress it"), EXPRESSION, rewrite(CTS, gzip.compress)),
        Case("hours_that_the_data_lacks", u({"data": {"hours": [0, 2, 8, 12]}}),
             (COUNTS, "3 time columns but data.hours has 4 entries", "set data.hours to one hour per AR column"), EXPRESSION),
        Case("no_reporter_passes_read_filter", u({"data": {"min_reads": 100000}}), ("data.min_reads:", "lower data.min_reads"), EXPRESSION),
        # --- utrseq source: reporter_seq.txt ------------------------------------------------
        Case("sequence_with_iupac_code", u(), (SEQS + " row 2", "letter 'R' outside ACGTUN", "replace ambiguity codes by N"), EXPRESSION,
             set_field(SEQ, 1, 1, "ACGTRACGT", "\t")),
        Case("sequence_with_other_letter", u(), (SEQS + " row 3", "letter 'X' outside ACGTUN", "drop the row"), EXPRESSION,
             set_field(SEQ, 2, 1, "ACGTACXGT", "\t")),
        Case("sequence_empty", u(), (SEQS + " row 1", "'R0' has an empty sequence", "add its sequence"), EXPRESSION,
             set_field(SEQ, 0, 1, "", "\t")),
        Case("sequences_empty_file", u(), (SEQS, "sequence file is empty", "supply a non-empty file"), EXPRESSION, rewrite(SEQ, lambda raw: b"")),
        Case("sequences_blank_lines_only", u(), (SEQS, "only blank lines", "supply the table"), EXPRESSION, rewrite(SEQ, lambda raw: b"\n\n\n")),
        Case("sequences_comma_delimited", u(), (SEQS, "expected 2 tab-separated columns", "write one 'id<TAB>sequence' pair per line"), EXPRESSION,
             rewrite(SEQ, lambda raw: raw.replace(b"\t", b","))),
        Case("sequences_with_header_line", u(), (SEQS + " row 1", "letter 'S'", "drop the row"), EXPRESSION,
             rewrite(SEQ, lambda raw: b"id\tsequence\n" + raw)),
        # --- table source ---------------------------------------------------------------
        Case("table_expression_missing", t({"data": {"expression": "{dir}/table/nope.csv"}}), ("config error: data.expression:", "not found", "check the path")),
        Case("table_sequences_unset", t({"data": {"sequences": ""}}), ("config error: data.sequences:", "empty", "name the CSV file")),
        Case("table_tab_delimited", t(), (EXPR, "no 'id' column", "comma-separated"), EXPRESSION, rewrite(EXP, lambda raw: raw.replace(b",", b"\t"))),
        Case("table_not_a_number", t(), (EXPR + " row 3", "column 2h is not a finite number", "fill or remove the row"), EXPRESSION,
             set_field(EXP, 2, 2, "high")),
        Case("table_infinite", t(), (EXPR + " row 2", "column 1h is not a finite number", "fill or remove the row"), EXPRESSION,
             set_field(EXP, 1, 1, "inf")),
        Case("table_truncated_mid_line", t(), (EXPR, "is not a finite number", "fill or remove the row"), EXPRESSION, rewrite(EXP, cut_mid_line)),
        Case("table_column_not_an_hour", t(), (EXPR, "['late'] are not hours", "name expression columns by hour"), EXPRESSION,
             replace(EXP, "6h", "late")),
        Case("table_header_only", t(), (EXPR, "no rows", "add one row per reporter"), EXPRESSION,
             rewrite(EXP, lambda raw: raw.split(b"\n", 1)[0] + b"\n")),
        Case("table_sequences_missing_column", t(), (SEQCSV, "missing column(s) ['Sequence']", "needs columns 'id' and 'Sequence'"), EXPRESSION,
             replace(SCS, "Sequence", "seq")),
        Case("table_id_without_sequence", t(), (EXPR, "have no sequence", "'R0'", "add their sequences"), EXPRESSION,
             drop_lines(SCS, lambda line: not line.startswith("R0,"))),
        Case("table_duplicate_id", t(), (EXPR + " row 3", "duplicate id 'R0'", "make ids unique"), EXPRESSION, replace(EXP, "R1,", "R0,")),
        Case("table_sequence_iupac", t(), (SEQCSV + " row 2", "letter 'Y' outside ACGTUN", "replace ambiguity codes by N"), EXPRESSION,
             set_field(SCS, 1, 1, "ACGTY")),
        Case("table_lacks_target_hour", t({"target": {"to_hour": 8}}), ("target.to_hour:", "hour 8 is not in the data's hours", "choose one of those hours"),
             "data/target.tsv", kept=(EXPRESSION,)),
        # --- too little data to split -------------------------------------------------------
        Case("too_few_reporters_to_split", u(), ("split:", "part is empty", "supply more reporters"), "data/split.tsv",
             keep_reporters(3), kept=(EXPRESSION, "data/target.tsv")),
    ]


CASES = _cases()

# Every case is checked in-process; these also run through Snakemake, one per way the line reaches
# the user: a schema error and a semantic error while Snakemake parses the config, and an error
# inside the first, the second (table source) and the third job, the earlier jobs' outputs kept.
END_TO_END = ("unknown_top_level_key", "model_names_missing_tokenizer", "counts_not_numeric",
              "table_lacks_target_hour", "too_few_reporters_to_split")
