"""Libraries as a dimension of the workflow: several count tables of the same reporters (for example the
A- and A+ poly(A) libraries of UTR-seq), each with its own expression table, target, models and
comparison, all on one shared split.

`data.libraries: {NAME: {counts: ..., sequences: ..., ...}}`: each entry overrides keys of `data`
for that library. With no entry or one entry the workflow is the single-library one (one entry is
merged into `data`); with two or more, every library gets `{results}/{library}/` (docs/libraries.md).
The split is assigned once on the reporters that pass the filters in every library (`joint_table`),
and each library's `split.tsv` is that assignment with the library's own target (`library_split`).
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd

from decaylm.errors import InputError

log = logging.getLogger(__name__)

# Folder names directly under {results} that a library may not take.
RESERVED = {"data", "models", "tokenizers", "pretrained", "figures", "logs", "benchmarks", "predict", "interpret"}
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# data keys a library entry may set (the rest: source, simulate, download are the run's).
LIBRARY_KEYS = ("path", "counts", "sequences", "expression", "require_sequences", "id_column", "sequence_column",
                "hours", "pseudocount", "min_reads", "filter_hours")


def fold_single_library(config: dict) -> None:
    """One library (or an empty mapping): merge the entry into `data` and remove the key, so that the
    config, the DAG and every path are those of a run without `data.libraries`."""
    data = config.get("data")
    if not isinstance(data, dict) or "libraries" not in data:
        return
    libraries = data["libraries"]
    if isinstance(libraries, dict) and len(libraries) <= 1:
        del data["libraries"]
        for entry in libraries.values():
            _check_entry_keys(next(iter(libraries)), entry)
            data.update(entry)


def _check_entry_keys(name: str, entry) -> None:
    if not isinstance(entry, dict):
        raise InputError(f"data.libraries.{name}", f"{entry!r} is not a mapping", "give e.g. {counts: file, sequences: file}")
    unknown = sorted(set(entry) - set(LIBRARY_KEYS))
    if unknown:
        raise InputError(f"data.libraries.{name}.{unknown[0]}", "not a key a library sets",
                         f"use one of {list(LIBRARY_KEYS)}")


def library_names(config: dict) -> list[str]:
    """The libraries of a multi-library run, in config order; [] for a single-library run."""
    return list((config.get("data") or {}).get("libraries") or {})


def library_data(config: dict, name: str) -> dict:
    """The `data` section of one library: the run's data keys, overridden by the library's entry."""
    data = {key: value for key, value in config["data"].items() if key != "libraries"}
    return {**data, **config["data"]["libraries"][name]}


def check_libraries(config: dict, check_data) -> None:
    """Start-up checks of a multi-library config; `check_data` checks one library's data section (and
    its target), as a single-library run checks `data`. Combinations not built are refused."""
    names = library_names(config)
    models = config.get("models") or {}
    if len(names) < 2:
        for model, spec in models.items():
            if (spec or {}).get("aux_libraries"):
                raise InputError(f"models.{model}.aux_libraries", "needs two or more data.libraries",
                                 "configure data.libraries, or remove aux_libraries")
        return
    if config["data"]["source"] not in ("utrseq", "table"):
        raise InputError("data.libraries", f"data.source {config['data']['source']!r} has one library",
                         "use data.source: utrseq (or table) with a counts (expression) file per library")
    for name in names:
        if not NAME.match(name) or name in RESERVED:
            raise InputError(f"data.libraries.{name}", "is not a usable library name",
                             f"use letters, digits and _ (starting with a letter), not one of {sorted(RESERVED)}")
        _check_entry_keys(name, config["data"]["libraries"][name])
        try:
            check_data(library_data(config, name))
        except InputError as error:
            raise InputError(f"data.libraries.{name}", str(error)) from None
    refused = [("split.folds", config["split"].get("folds", 1) > 1, "split.folds: 1"),
               ("repeats", any(_repeats(config, m) > 1 for m in models), "repeats: 1"),
               ("predict.models", bool((config.get("predict") or {}).get("models")), "predict: {models: []}"),
               ("interpret.models", bool((config.get("interpret") or {}).get("models")), "interpret: {models: []}")]
    for key, present, fix in refused:
        if present:
            raise InputError(key, "is not built for several data.libraries", f"set {fix}, or run one library")
    for model, spec in models.items():
        if spec.get("kind") == "repeat_ensemble":
            raise InputError(f"models.{model}", "kind repeat_ensemble is not built for several data.libraries",
                             f"remove it ({model}: null)")
        aux = spec.get("aux_libraries") or []
        if not isinstance(aux, list):
            raise InputError(f"models.{model}.aux_libraries", f"{aux!r} is not a list of libraries",
                             f"give a list like [{names[-1]}]")
        unknown = [lib for lib in aux if lib not in names]
        if unknown:
            raise InputError(f"models.{model}.aux_libraries", f"{unknown[0]!r} is not one of data.libraries",
                             f"use names from {names}")


def _repeats(config: dict, model: str) -> int:
    from decaylm.repeats import repeat_count

    return repeat_count(config, model)


def aux_libraries_of(spec: dict, library: str) -> list[str]:
    """The other libraries whose targets a model trained in `library` predicts as auxiliary outputs:
    its `aux_libraries` without the library itself (its own target is the main output)."""
    return [name for name in spec.get("aux_libraries") or [] if name != library]


def spec_in_library(spec: dict, library: str | None) -> dict:
    """A model's config entry as its job in `library` trains it (aux_libraries resolved)."""
    if not spec.get("aux_libraries") and "aux_libraries" not in spec:
        return spec
    resolved = dict(spec)
    others = aux_libraries_of(spec, library) if library else []
    if others:
        resolved["aux_libraries"] = others
    else:
        resolved.pop("aux_libraries")
    return resolved


def joint_table(targets: dict[str, pd.DataFrame], sources: dict[str, str]) -> pd.DataFrame:
    """id, sequence and each library's y (`y_NAME`) for the reporters that are in every library's
    target table (those that passed its filters), in the first library's order. Logged per library."""
    names = list(targets)
    first = targets[names[0]]
    shared = pd.Index(first["id"].astype(str))
    for name in names[1:]:
        shared = shared.intersection(pd.Index(targets[name]["id"].astype(str)), sort=False)
    for name in names:
        n = len(targets[name])
        log.info("library %s: %d reporters after its filters; %d in every library, %d only here (left out of the "
                 "shared split)", name, n, len(shared), n - int(targets[name]["id"].astype(str).isin(shared).sum()))
    if shared.empty:
        listed = ", ".join(f"{name} ({sources.get(name, '?')}, e.g. {targets[name]['id'].iloc[0]!r})" for name in names)
        raise InputError("data.libraries", f"the libraries share no reporter id after their filters: {listed}",
                         "give count tables of the same reporters (the same ids), or lower data.min_reads")
    table = first.assign(id=first["id"].astype(str))
    table = table[table["id"].isin(shared)][["id", "sequence"]].reset_index(drop=True)
    for name in names:
        other = targets[name].assign(id=targets[name]["id"].astype(str)).set_index("id")
        rows = other.loc[table["id"]]
        differ = rows["sequence"].to_numpy() != table["sequence"].to_numpy()
        if differ.any():
            rid = table["id"][differ].iloc[0]
            raise InputError(f"{sources.get(name, name)}", f"reporter {rid!r} has another sequence in library {name} "
                             f"than in {names[0]}", "give every library the same sequence file")
        table[f"y_{name}"] = rows["y"].to_numpy()
    return table


def library_split(shared_split: pd.DataFrame, target: pd.DataFrame) -> pd.DataFrame:
    """One library's split.tsv: its target table's columns for the shared split's reporters (in the
    shared split's order), with the shared split's `split` and `group`."""
    table = target.assign(id=target["id"].astype(str)).set_index("id")
    ids = shared_split["id"].astype(str)
    missing = ~ids.isin(table.index)
    if missing.any():
        raise InputError("split.tsv", f"reporter {ids[missing].iloc[0]!r} of the shared split is not in this library's "
                         "target table", "re-run the workflow: the shared split is made from every library's target")
    out = table.loc[ids].reset_index()
    out["split"] = shared_split["split"].to_numpy()
    out["group"] = shared_split["group"].to_numpy()
    return out


def library_summary(names: list[str], comparisons: dict[str, pd.DataFrame], targets: dict[str, pd.DataFrame],
                    splits: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(models x libraries table of test and valid R2, one row of figures per library)."""
    rows = []
    models = list(dict.fromkeys(m for name in names for m in comparisons[name]["model"]))
    for model in models:
        row = {"model": model}
        for name in names:
            table = comparisons[name].set_index("model")
            for column, out in (("r2", f"r2_{name}"), ("valid_r2", f"valid_r2_{name}")):
                row[out] = float(table.at[model, column]) if model in table.index and column in table.columns \
                    and pd.notna(table.at[model, column]) else np.nan
        rows.append(row)
    models_table = pd.DataFrame(rows)
    if len(models_table):
        models_table = models_table.sort_values(f"r2_{names[0]}", ascending=False, na_position="last")
    facts = []
    test_y = {}
    for name in names:
        target, split = targets[name], splits[name]
        test = split[split["split"] == "test"]
        test_y[name] = test.set_index(test["id"].astype(str))["y"]
        fact = {"library": name, "reporters_after_filters": len(target), "shared_split": len(split),
                "test": len(test), "target_mean": float(target["y"].mean()), "target_sd": float(target["y"].std())}
        if "onset_determined" in target.columns:
            determined = target["onset_determined"].astype(str).str.lower().isin(["true", "1"])
            fact.update(onset_determined=int(determined.sum()),
                        onset_determined_shared=int(determined[target["id"].astype(str).isin(split["id"].astype(str))].sum()))
        facts.append(fact)
    facts_table = pd.DataFrame(facts)
    first = test_y[names[0]]
    facts_table["test_target_r_vs_" + names[0]] = [float(np.corrcoef(first, test_y[n].loc[first.index])[0, 1])
                                                   for n in names]
    return models_table, facts_table


def summary_markdown(models_table: pd.DataFrame, facts_table: pd.DataFrame, names: list[str]) -> str:
    def fmt(value):
        if isinstance(value, float):
            return "" if np.isnan(value) else f"{value:.3f}"
        return str(value)

    def markdown(frame: pd.DataFrame) -> list[str]:
        lines = ["| " + " | ".join(frame.columns) + " |", "|" + " --- |" * len(frame.columns)]
        lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)]
        return lines

    links = ", ".join(f"[{name}]({name}/comparison.md)" for name in names)
    lines = ["# Libraries side by side", "",
             f"Test R² of each model in each library, on the same test reporters (one shared split). "
             f"Per-library tables with intervals: {links}.", ""]
    lines += markdown(models_table) + ["", "## The libraries", ""] + markdown(facts_table) + [""]
    return "\n".join(lines)
