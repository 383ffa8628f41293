"""Scoring new sequences with trained models (`decaylm predict`).

A sequence of the training length, or shorter (down to the model's `min_length`), is scored as
it is. A longer one (a full-length 3'UTR) is cut into windows of the training length every
`stride` nt; the last window ends at the sequence's end, so the tail is scored too. Variants are
scored as the training-length window centred on them, before and after the change.

Coordinates are 1-based and inclusive (like a genome browser): a 110-nt reporter is one window,
start 1, end 110. A lower prediction means faster decay.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from decaylm.errors import InputError
from decaylm.io import write_tsv
from decaylm.sequences import LETTERS_FIX, first_bad_letter, normalize_sequence, read_lines, read_sequences

log = logging.getLogger(__name__)

VARIANT_COLUMNS = ["id", "position", "ref", "alt"]
DELETED = "-"  # an empty ref or alt
CHUNK = 8192  # windows per model.predict call: bounded memory, and a step of the progress bar
LONG_INPUT = 2048  # windows; fewer are scored too fast for a progress bar to be worth drawing
WINDOW_COLUMNS = ["id", "start", "end"]


# ------------------------------------------------------------------------------------------
# Reading variants (sequence files: decaylm.sequences.read_sequences)


def read_variants(path) -> pd.DataFrame:
    """Variants (a TSV with a header: id, position 1-based, ref, alt; `-` for an empty allele),
    alleles upper-case DNA; the index is the file's line number, which errors name."""
    lines = read_lines(path)
    if not any(line.strip() for line in lines):
        raise InputError(str(path), "holds no variants (the file is empty)",
                         f"give a TSV with the header {' '.join(VARIANT_COLUMNS)}")
    header = [name.strip().lower() for name in lines[0].split("\t")]
    missing = [column for column in VARIANT_COLUMNS if column not in header]
    if missing:
        raise InputError(str(path), f"has no column {', '.join(missing)} (header: {lines[0].strip()!r})",
                         f"give a tab-separated header with {', '.join(VARIANT_COLUMNS)}")
    rows, numbers = [], []
    for number, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        fields = [field.strip() for field in line.split("\t")]
        if len(fields) < len(header):
            raise InputError(f"{path} line {number}", f"has {len(fields)} column(s), the header {len(header)}",
                             "give id, position, ref and alt on every row, tab-separated")
        row = dict(zip(header, fields))
        rows.append(_parse_variant(f"{path} line {number}", row))
        numbers.append(number)
    if not rows:
        raise InputError(str(path), "holds a header and no variants", "add one row per variant")
    variants = pd.DataFrame(rows, columns=VARIANT_COLUMNS, index=pd.Index(numbers, name="line"))
    variants.attrs["source"] = str(path)
    return variants


def _parse_variant(where: str, row: dict) -> dict:
    try:
        position = int(row["position"])
    except ValueError:
        position = 0
    if position < 1:
        raise InputError(where, f"position {row['position']!r} is not a whole number >= 1",
                         "positions are 1-based: the first nucleotide is 1")
    alleles = {}
    for column in ("ref", "alt"):
        allele = normalize_sequence(row[column])
        if not allele:
            raise InputError(where, f"{column} is empty", f"write {DELETED!r} for an empty allele")
        bad = None if allele == DELETED else first_bad_letter(allele)
        if bad:
            raise InputError(where, f"{column} {row[column]!r} has the letter {bad!r}", LETTERS_FIX)
        alleles[column] = allele
    if alleles["ref"] == alleles["alt"] == DELETED:
        raise InputError(where, f"both ref and alt are {DELETED!r}", "give the deleted or inserted bases")
    return {"id": row["id"], "position": position, **alleles}


# ------------------------------------------------------------------------------------------
# Scoring


def window_starts(length: int, window: int, stride: int) -> np.ndarray:
    """0-based starts of windows of `window` nt every `stride` nt, the last one flush with the
    sequence's end; a sequence no longer than a window is one window, as it is."""
    if length <= window:
        return np.array([0])
    starts = np.arange(0, length - window + 1, stride)
    if starts[-1] != length - window:
        starts = np.append(starts, length - window)
    return starts


def score_windows(models: list, sequences: pd.DataFrame, stride: int = 10, batch_size: int | None = None
                  ) -> pd.DataFrame:
    """One row per window: id, start, end (1-based, inclusive) and one prediction column per model
    (named by the model, with `{name}_sd`, the members' standard deviation, after an ensemble's).

    Models of different input lengths cut different windows; then the table is long instead:
    id, model, start, end, prediction (and sd)."""
    if not isinstance(stride, (int, np.integer)) or isinstance(stride, bool) or stride < 1:
        raise InputError("--stride", f"{stride!r} is not a whole number >= 1", "e.g. --stride 10")
    if not models or sequences.empty:
        raise InputError("predict", "nothing to score: no models or no sequences", "give both")
    _check_names(models)
    _check_lengths(models, sequences)
    texts = sequences["sequence"].tolist()
    tilings = {}
    for length in dict.fromkeys(model.input_length for model in models):
        starts = [window_starts(len(text), length, stride) for text in texts]
        rows = np.repeat(np.arange(len(texts)), [len(s) for s in starts])
        starts = np.concatenate(starts)
        ends = np.minimum(starts + length, np.array([len(texts[row]) for row in rows]))
        tilings[length] = (rows, starts, ends)
    total = sum(len(tilings[model.input_length][0]) for model in models)
    began = time.perf_counter()
    frames = []
    with _progress(total) as bar:
        for model in models:
            rows, starts, ends = tilings[model.input_length]
            windows = (texts[row][start:end] for row, start, end in zip(rows, starts, ends))
            mean, sd = _predict(model, windows, batch_size, bar)
            frame = pd.DataFrame({"id": sequences["id"].to_numpy()[rows], "model": model.name,
                                  "start": starts + 1, "end": ends, "prediction": mean})
            if sd is not None:
                frame["sd"] = sd
            frames.append(frame)
    elapsed = time.perf_counter() - began
    log.info("scored %d sequences in %d windows with %d model(s): %d predictions in %.1f s (%.0f windows/s)",
             len(texts), len(tilings[models[0].input_length][0]), len(models), total, elapsed,
             total / max(elapsed, 1e-9))
    if len(tilings) > 1:
        return pd.concat(frames, ignore_index=True)
    wide = frames[0][WINDOW_COLUMNS].copy()
    for model, frame in zip(models, frames):
        wide[model.name] = frame["prediction"].to_numpy()
        if "sd" in frame:
            wide[f"{model.name}_sd"] = frame["sd"].to_numpy()
    return wide


def summarize(windows: pd.DataFrame, lengths) -> pd.DataFrame:
    """One row per sequence and model: id, model, length, windows, mean, min and min_start (the
    start of the lowest-scoring, i.e. fastest-decaying, window; the first one on a tie).

    `windows` is score_windows' table (wide or long); `lengths` maps id to length (a dict or a
    Series), or is the sequences table."""
    if isinstance(lengths, pd.DataFrame):
        lengths = dict(zip(lengths["id"], lengths["sequence"].str.len()))
    long = _long_windows(windows)
    # Number sequences and models in order of appearance, so the summary keeps the input order.
    long["sequence_order"] = pd.factorize(long["id"])[0]
    long["model_order"] = pd.factorize(long["model"])[0]
    grouped = long.groupby(["sequence_order", "model_order"], sort=True)
    lowest = long.loc[grouped["prediction"].idxmin()]
    summary = pd.DataFrame({
        "id": lowest["id"].to_numpy(),
        "model": lowest["model"].to_numpy(),
        "length": [int(lengths[name]) for name in lowest["id"]],
        "windows": grouped.size().to_numpy(),
        "mean": grouped["prediction"].mean().to_numpy(),
        "min": lowest["prediction"].to_numpy(),
        "min_start": lowest["start"].to_numpy(),
    })
    return summary


def _long_windows(windows: pd.DataFrame) -> pd.DataFrame:
    """id, model, start, end, prediction per window and model, from either table layout."""
    if "model" in windows.columns:
        return windows[["id", "model", "start", "end", "prediction"]].reset_index(drop=True)
    names = [column for column in windows.columns if column not in WINDOW_COLUMNS
             and not (column.endswith("_sd") and column[:-3] in windows.columns)]
    long = windows.melt(id_vars=WINDOW_COLUMNS, value_vars=names, var_name="model", value_name="prediction")
    return long[["id", "model", "start", "end", "prediction"]]


def score_variants(models: list, sequences: pd.DataFrame, variants: pd.DataFrame,
                   batch_size: int | None = None) -> pd.DataFrame:
    """id, position, ref, alt, then per model `{name}_ref`, `{name}_alt` and `{name}_delta` (alt - ref).

    Each model scores the window of its input length centred on the variant (clipped to the
    sequence; a sequence no longer than that is scored whole). The alternative window starts
    where the reference window does and is cut to the input length, so after a deletion it
    takes in the next bases (or ends short at the sequence's end)."""
    _check_names(models)
    _check_lengths(models, sequences)
    located = locate_variants(sequences, variants)
    out = variants[VARIANT_COLUMNS].reset_index(drop=True)
    for model in models:
        length = model.input_length
        references, alternatives = [], []
        for where, sequence, index, ref, alt in located:
            if len(ref) > length and len(sequence) > length:  # no window holds the whole ref
                raise InputError(where, f"ref of {len(ref)} nt is longer than the {length}-nt window of model "
                                 f"{model.name}", "score the two sequences as separate records instead")
            start = 0 if len(sequence) <= length else int(np.clip(index + len(ref) // 2 - length // 2, 0,
                                                                   len(sequence) - length))
            changed = sequence[:index] + alt + sequence[index + len(ref):]
            alternative = changed[start:start + length]
            if len(alternative) < model.min_length:
                raise InputError(where, f"the changed sequence has {len(alternative)} nt, shorter than the "
                                 f"{model.min_length} nt model {model.name} scores", "give a longer sequence")
            references.append(sequence[start:start + length])
            alternatives.append(alternative)
        scores, _ = _predict(model, references + alternatives, batch_size)
        out[f"{model.name}_ref"] = scores[:len(located)]
        out[f"{model.name}_alt"] = scores[len(located):]
        out[f"{model.name}_delta"] = out[f"{model.name}_alt"] - out[f"{model.name}_ref"]
    return out


def locate_variants(sequences: pd.DataFrame, variants: pd.DataFrame) -> list[tuple[str, str, int, str, str]]:
    """(where, sequence, 0-based index, ref, alt) per variant, with empty alleles for `-`; an
    InputError names the variants line whose id is unknown, position is past the end or ref differs."""
    by_id = dict(zip(sequences["id"], sequences["sequence"]))
    source = variants.attrs.get("source", "variants")
    numbered = variants.index.name == "line"  # read_variants' table: the index is the file's line
    located = []
    for row_number, (line, row) in enumerate(variants.iterrows(), 1):
        where = f"{source} line {line}" if numbered else f"{source} row {row_number}"
        if row["id"] not in by_id:
            raise InputError(where, f"id {row['id']!r} is not among the sequences", "use an id of SEQUENCES")
        sequence = by_id[row["id"]]
        ref, alt = ("" if allele == DELETED else allele for allele in (row["ref"], row["alt"]))
        index = int(row["position"]) - 1
        if index >= len(sequence) or index + len(ref) > len(sequence):
            raise InputError(where, f"position {row['position']} (ref {row['ref']}) is past the end of "
                             f"{row['id']!r} ({len(sequence)} nt)", "positions are 1-based, within the sequence")
        found = sequence[index:index + len(ref)]
        if found != ref:
            raise InputError(where, f"ref {row['ref']} does not match {row['id']!r}, which has {found} at position "
                             f"{row['position']}", "check the position (1-based) and the strand")
        located.append((where, sequence, index, ref, alt))
    return located


def _predict(model, windows, batch_size: int | None, bar=None) -> tuple[np.ndarray, np.ndarray | None]:
    """Predictions for an iterable of windows, CHUNK windows per call (the model batches inside);
    for an ensemble, the members' mean and standard deviation (numpy's, ddof 0), else sd None."""
    options = {} if batch_size is None else {"batch_size": batch_size}
    windows = iter(windows)
    means, sds = [], []
    while chunk := [window for _, window in zip(range(CHUNK), windows)]:
        if model.members:
            members = np.asarray(model.predict_members(chunk, **options), dtype=float)
            means.append(members.mean(axis=0))
            sds.append(members.std(axis=0))
        else:
            means.append(np.asarray(model.predict(chunk, **options), dtype=float))
        if bar is not None:
            bar.update(len(chunk))
    mean = np.concatenate(means) if means else np.empty(0)
    return mean, (np.concatenate(sds) if sds else None)


def _progress(total: int):
    from tqdm import tqdm

    # disable=None: drawn only when stderr is a terminal (not in logs or pipes)
    return tqdm(total=total, unit="window", disable=None if total >= LONG_INPUT else True, leave=False)


def _check_names(models: list) -> None:
    """Model names become column names: they must be unique and not clash with other columns."""
    seen = set(WINDOW_COLUMNS) | {"model", "position", "ref", "alt"}
    for model in models:
        taken = {model.name, f"{model.name}_sd", f"{model.name}_ref", f"{model.name}_alt", f"{model.name}_delta"}
        if taken & seen:
            raise InputError(f"model {model.name}", "two models (or a model and a column) share this name",
                             "give each model folder its own name")
        seen |= taken


def _check_lengths(models: list, sequences: pd.DataFrame, source: str | None = None) -> None:
    for model in models:
        short = sequences["sequence"].str.len() < model.min_length
        if short.any():
            name, sequence = sequences.loc[short.idxmax(), ["id", "sequence"]]
            where = f"{source}: sequence {name!r}" if source else f"sequence {name!r}"
            raise InputError(where, f"has {len(sequence)} nt, shorter than the {model.min_length} nt that model "
                             f"{model.name} scores", "lengthen it or leave it out")


# ------------------------------------------------------------------------------------------
# The command


def default_path(out_path, suffix: str) -> Path:
    """OUT.tsv -> OUT{suffix}, e.g. windows.tsv -> windows.summary.tsv."""
    out_path = Path(out_path)
    stem = out_path.name[:-4] if out_path.name.endswith(".tsv") else out_path.name
    return out_path.with_name(stem + suffix)


def predict_files(model_dirs: list, sequences_path, out_path, stride: int = 10, summary_path=None,
                  variants_path=None, variants_out_path=None, batch_size: int | None = None,
                  trust_remote_code: bool = False) -> None:
    """The whole `decaylm predict`: read, check, score, then write OUT, the summary and (with
    variants) the variant table. Every input is checked before any model runs, and nothing is
    written unless everything was scored. A folder whose model runs Python files of its own (a
    pretrained model trained with trust_remote_code) is refused unless `trust_remote_code`."""
    from decaylm.models import load_model

    summary_path = summary_path or default_path(out_path, ".summary.tsv")
    outputs = {"-o": out_path, "--summary": summary_path}
    if variants_path:
        outputs["--variants-out"] = variants_out_path or default_path(out_path, ".variants.tsv")
    _check_outputs(outputs, [sequences_path, variants_path, *model_dirs])
    sequences = read_sequences(sequences_path)
    variants = read_variants(variants_path) if variants_path else None
    if variants is not None:
        locate_variants(sequences, variants)  # a wrong ref stops the command before models load
    models = [load_model(folder, trust_remote_code=trust_remote_code) for folder in model_dirs]
    _check_names(models)
    _check_lengths(models, sequences, str(sequences_path))
    scored_variants = score_variants(models, sequences, variants, batch_size) if variants is not None else None
    windows = score_windows(models, sequences, stride, batch_size)
    summary = summarize(windows, sequences)
    write_tsv(windows, out_path)
    write_tsv(summary, summary_path)
    if scored_variants is not None:
        write_tsv(scored_variants, outputs["--variants-out"])


def _check_outputs(outputs: dict, inputs: list) -> None:
    """Two outputs on one path, or an output over an input, would lose data."""
    inputs = {Path(path).resolve() for path in inputs if path}
    seen = {}
    for option, path in outputs.items():
        resolved = Path(path).resolve()
        if resolved in inputs:
            raise InputError(f"{option} {path}", "is one of the inputs", "write the output to another file")
        if resolved in seen:
            raise InputError(f"{option} {path}", f"is also the {seen[resolved]} output",
                             "give each output its own path")
        seen[resolved] = option
