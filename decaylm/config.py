"""Checks of the config that a JSON schema cannot express; each failure is one line naming the key."""

from __future__ import annotations

import tempfile
from pathlib import Path

from decaylm.errors import InputError
from decaylm.libraries import check_libraries, library_names
from decaylm.models.registry import SEEDED_KINDS, kinds_with_link, parse_model_spec, parse_pretraining_spec
from decaylm.repeats import repeat_count
from decaylm.sources import COUNTS_FILE, SEQUENCES_FILE
from decaylm.split import check_fractions, read_split_file
from decaylm.tokenizers.specs import resolve_spec


def check_config(config: dict) -> None:
    if library_names(config):  # several data.libraries: each library's data section, as `data` is checked
        check_libraries(config, lambda data: (_check_data(data), _check_target(config["target"], data)))
    else:
        check_libraries(config, None)
        _check_data(config["data"])
        _check_target(config["target"], config["data"])
    _check_simulation(config)
    check_fractions(config["split"]["fractions"])
    _check_split(config["split"])
    for name, spec in config["tokenizers"].items():
        resolve_spec(name, spec)  # bad tokenizer parameters fail before any job runs
    resolve_auto_members(config)
    _check_models(config)
    _check_results(config["results"])
    _check_predict(config)
    _check_interpret(config)


def schema_error(error) -> InputError:
    """A jsonschema ValidationError of the config as one line that names the key and the fix."""
    path = [str(part) for part in error.absolute_path]
    where = ".".join(path) or "config"
    problem = " ".join(error.message.split())
    kind, expected = error.validator, error.validator_value
    schema = "see schemas/config.schema.yaml"
    if kind == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        unexpected = sorted(set(error.instance) - set(known))
        where = ".".join(path + unexpected[:1])
        return InputError(where, "unknown key", f"remove it or check its spelling; known keys: {known}")
    if kind == "type":
        types = expected if isinstance(expected, list) else [expected]
        fix = {"object": "give a mapping (key: value)", "array": "give a list like [0, 2, 8]",
               "string": "give a text value", "boolean": "give true or false", "integer": "give a whole number",
               "number": "give a number"}.get(types[0], f"give a value of type {' or '.join(types)}")
        return InputError(where, f"{_short(error.instance)} is not of type {' or '.join(types)}", fix)
    if kind == "enum":
        return InputError(where, f"{_short(error.instance)} is not allowed", f"use one of {expected}")
    if kind == "required":
        return InputError(where, problem, "add it")
    if kind == "pattern" and path and path[-1] in ("tokenizers", "models", "pretraining"):
        return InputError(where, f"name {_short(error.instance)} is not allowed", "use letters, digits and _ only")
    if kind == "anyOf" and path[-1:] == ["members"]:
        return InputError(where, f"{_short(error.instance)} is neither two or more model names nor auto",
                          "give e.g. members: [CNN, HYBRID], or members: auto to choose them on valid")
    if kind == "minProperties":
        return InputError(where, "has no entries", "configure at least one")
    if kind == "minItems":
        return InputError(where, f"{_short(error.instance)} is too short", f"give at least {expected} items")
    if kind in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        bound = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}[kind]
        return InputError(where, f"{_short(error.instance)} is out of range", f"use a value {bound} {expected}")
    return InputError(where, problem, schema)


def _short(value, limit: int = 60) -> str:
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _check_data(data: dict) -> None:
    hours = data["hours"]
    if any(b <= a for a, b in zip(hours, hours[1:])):
        raise InputError("data.hours", f"{hours} must increase strictly", "list each hour once, in order")
    if data["source"] in ("simulated", "utrseq"):
        missing = [h for h in data["filter_hours"] if h not in hours]
        if missing:
            raise InputError("data.filter_hours", f"hour(s) {missing} not in data.hours", "choose hours from data.hours")
    if data["source"] == "utrseq":
        named = {key: data.get(key) for key in ("counts", "sequences") if data.get(key)}
        for key, path in named.items():
            if not Path(path).is_file():
                raise InputError(f"data.{key}", f"file '{path}' not found", "check the path")
        if len(named) < 2:  # a file not named comes from the folder
            if not data["path"]:
                raise InputError("data.path", "empty, but data.source is utrseq",
                                 "set it to the folder with reporter_counts.txt and reporter_seq.txt, "
                                 "or name the files with data.counts and data.sequences")
            if not Path(data["path"]).is_dir() and not data["download"]:
                raise InputError("data.path", f"folder '{data['path']}' not found",
                                 "point it at the UTR-seq files, or set data.download: true to fetch them")
            if Path(data["path"]).is_dir() and not data["download"]:
                for key, name in (("counts", COUNTS_FILE), ("sequences", SEQUENCES_FILE)):
                    if key not in named and not (Path(data["path"]) / name).is_file():
                        raise InputError("data.path", f"folder '{data['path']}' has no {name}",
                                         f"add the file, name it with data.{key}, or set data.download: true "
                                         "to fetch the public ones")
    if data["source"] == "table":
        for key in ("expression", "sequences"):
            if not data[key]:
                raise InputError(f"data.{key}", "empty, but data.source is table", "name the CSV file")
            if not Path(data[key]).is_file():
                raise InputError(f"data.{key}", f"file '{data[key]}' not found", "check the path")


def _check_split(split: dict) -> None:
    """split.method: file: the split file is read and checked now (columns, parts, repeated ids), before any job."""
    if split["method"] != "file":
        return
    if not split.get("file"):
        raise InputError("split.file", "empty, but split.method is file", "name the TSV of reporter id and part")
    if split.get("folds", 1) != 1:
        raise InputError("split.folds", f"{split['folds']} folds, but split.method file gives one fixed split",
                         "set split.folds: 1, or use split.method overlap")
    read_split_file(split["file"], split["id_column"], split["part_column"])


def _check_simulation(config: dict) -> None:
    """The simulator's settings, checked now rather than in the first job (as rule simulate_data passes them)."""
    if config["data"]["source"] != "simulated":
        return
    from decaylm.simulate import config_from_params

    data, target = config["data"], config["target"]
    config_from_params({"hours": data["hours"], "from_hour": target["from_hour"], "to_hour": target["to_hour"],
                        **data["simulate"]})


def _check_target(target: dict, data: dict) -> None:
    if target["to_hour"] <= target["from_hour"]:
        raise InputError("target.to_hour", f"{target['to_hour']:g} is not after target.from_hour {target['from_hour']:g}",
                         "swap them")
    if data["source"] in ("simulated", "utrseq"):
        for key in ("from_hour", "to_hour"):
            if target[key] not in data["hours"]:
                raise InputError(f"target.{key}", f"hour {target[key]:g} is not in data.hours {data['hours']}",
                                 "choose one of the measured hours")
    if target.get("kind") == "kinetic":
        _check_kinetic(target, data)


def _check_kinetic(target: dict, data: dict) -> None:
    """kind kinetic: three or more hours to fit, an onset range inside them, ordered bounds."""
    lo, hi = target.get("onset_range", [2, 6])
    if hi < lo:
        raise InputError("target.onset_range", f"[{lo:g}, {hi:g}] is not [lowest, highest]", "swap them")
    if lo < target["from_hour"] or hi > target["to_hour"]:
        raise InputError("target.onset_range", f"[{lo:g}, {hi:g}] is not within target.from_hour..to_hour "
                         f"({target['from_hour']:g}..{target['to_hour']:g}), the hours the kinetic fit uses",
                         "narrow it or widen from_hour..to_hour")
    rate_lo, rate_hi = target.get("rate_range", [0, 10])
    if rate_hi <= rate_lo:
        raise InputError("target.rate_range", f"[{rate_lo:g}, {rate_hi:g}] is not [lowest, highest]", "swap them")
    if data["source"] in ("simulated", "utrseq"):
        fitted = [h for h in data["hours"] if target["from_hour"] <= h <= target["to_hour"]]
        if len(fitted) < 3:
            key = "data.hours" if len(data["hours"]) < 3 else "target.from_hour"
            raise InputError(key, f"target.kind kinetic needs three or more hours from target.from_hour to "
                             f"target.to_hour; there are {len(fitted)} ({fitted})",
                             "measure more hours, widen from_hour..to_hour, or use kind difference")


def _check_models(config: dict) -> None:
    """Every entry parsed as its job will parse it (unknown keys, types), then the links between entries."""
    tokenizers = config["tokenizers"]
    pretraining = config.get("pretraining", {})
    for name, spec in config["models"].items():
        parsed = parse_model_spec(name, spec, config.get("seed", 0))  # keys and types
        if spec["kind"] in kinds_with_link("tokenizer"):
            tokenizer = spec.get("tokenizer")
            if tokenizer is None:
                raise InputError(f"models.{name}.tokenizer", "missing", f"name one of the tokenizers: {sorted(tokenizers)}")
            if tokenizer not in tokenizers:
                raise InputError(f"models.{name}.tokenizer", f"'{tokenizer}' is not a configured tokenizer",
                                 f"use one of {sorted(tokenizers)} or add it under tokenizers")
            source = spec.get("init_from")
            if source is not None and source not in pretraining:
                raise InputError(f"models.{name}.init_from", f"'{source}' is not under pretraining",
                                 f"use one of {sorted(pretraining)}")
        if spec["kind"] == "ensemble":
            members = spec.get("members") or []
            bad = [m for m in members if m not in config["models"] or config["models"][m]["kind"] in ENSEMBLE_KINDS]
            if len(members) < 2 or bad:
                raise InputError(f"models.{name}.members", f"needs two or more trained models, got {members}",
                                 f"name models from {sorted(m for m in config['models'] if m != name)}")
            # max_size is unused with a hand-written list; no error, because an override file that
            # lists members over config.yaml's `members: auto, max_size: 3` inherits max_size
        _check_repeats(name, spec, config)
        _check_aux_hours(name, getattr(parsed.architecture, "aux_hours", []), config["data"])
        if spec["kind"] == "pretrained" and not spec.get("checkpoint"):
            raise InputError(f"models.{name}.checkpoint", "missing", "give a hub id or a local directory")
    for name, spec in pretraining.items():
        parse_pretraining_spec(name, spec, config.get("seed", 0))
        if spec.get("tokenizer") not in tokenizers:
            raise InputError(f"pretraining.{name}.tokenizer", f"'{spec.get('tokenizer')}' is not a configured tokenizer",
                             f"use one of {sorted(tokenizers)}")


def _check_repeats(name: str, spec: dict, config: dict) -> None:
    """`repeats` is a whole number >= 1; a repeat_ensemble names a model that has repeats; repeats
    and folds do not combine (each model row would be a mean of pooled repeats: not built)."""
    repeats = spec.get("repeats")
    if repeats is not None and (not isinstance(repeats, int) or isinstance(repeats, bool) or repeats < 1):
        raise InputError(f"models.{name}.repeats", f"{repeats!r} is not a whole number >= 1", "give e.g. repeats: 3")
    if config["split"].get("folds", 1) > 1 and repeat_count(config, name) > 1:
        raise InputError(f"models.{name}.repeats" if repeats else "repeats", "repeats and split.folds > 1 together",
                         "use one of them: repeats: 1, or split.folds: 1")
    if spec["kind"] == "repeat_ensemble":
        of = spec.get("of")
        if of not in config["models"] or config["models"][of]["kind"] not in SEEDED_KINDS:
            raise InputError(f"models.{name}.of", f"{of!r} is not a configured cnn, bert or pretrained model",
                             f"name one of {sorted(m for m, s in config['models'].items() if s['kind'] in SEEDED_KINDS)}")
        if repeat_count(config, of) < 2:
            raise InputError(f"models.{name}.of", f"{of} trains once", f"set repeats: 3 (global or models.{of}.repeats)")


ENSEMBLE_KINDS = ("ensemble", "repeat_ensemble")  # rows that average other rows: never candidates of members: auto


def resolve_auto_members(config: dict) -> None:
    """`members: auto` becomes the candidate list, every other row that is not itself an average of
    rows, with choose: valid; the ensemble's job picks among them on valid (rows that did not run are
    left out there). The rules then see a list, as for hand-written members. Idempotent."""
    for name, spec in config["models"].items():
        if not isinstance(spec, dict) or spec.get("kind") != "ensemble" or spec.get("members") != "auto":
            continue
        candidates = sorted(m for m, other in config["models"].items() if m != name and other.get("kind") not in ENSEMBLE_KINDS)
        if len(candidates) < 2:
            raise InputError(f"models.{name}.members", f"auto needs two or more other rows to choose from, "
                             f"found {candidates}", "configure more models, or list the members by hand")
        if spec.get("choose", "valid") != "valid":
            raise InputError(f"models.{name}.choose", f"{spec['choose']!r} contradicts members: auto",
                             "remove choose (auto chooses on valid)")
        spec.update(members=candidates, choose="valid")


def _check_aux_hours(name: str, hours: list, data: dict) -> None:
    """Auxiliary hours (a list of numbers: decaylm.models.specs checked that) are measured hours, where
    the source says which hours it has."""
    key = f"models.{name}.aux_hours"
    missing = [h for h in hours if data["source"] in ("simulated", "utrseq") and h not in data["hours"]]
    if missing:
        raise InputError(key, f"hour(s) {missing} are not in data.hours {data['hours']}", "choose measured hours")


def _check_results(results: str) -> None:
    """Refuse a results folder that can't be written before any job starts."""
    path = Path(results)
    existing = next((p for p in [path, *path.parents] if p.exists()), Path("."))
    try:
        if not existing.is_dir():
            raise OSError(f"'{existing}' is not a folder")
        tempfile.TemporaryFile(dir=existing).close()  # a real write: root passes os.access everywhere
    except OSError as error:
        raise InputError("results", f"cannot write under '{existing}' ({error.strerror or error})",
                         "choose a writable folder")


SIMULATED_SEQUENCES = "simulated"  # predict.sequences value: the simulator's long 3'UTRs (made by the workflow)


def _check_predict(config: dict) -> None:
    """predict.models name configured models; the files to score exist (except the simulator's, made by the workflow)."""
    predict = config.get("predict") or {}
    models = config["models"]
    for name in predict.get("models") or []:
        if name not in models:
            raise InputError("predict.models", f"'{name}' is not a configured model", f"use one of {sorted(models)}")
    sequences = predict.get("sequences") or {}
    for name, path in sequences.items():
        if path != SIMULATED_SEQUENCES and not Path(path).is_file():
            raise InputError(f"predict.sequences.{name}", f"file '{path}' not found",
                             f"check the path (FASTA or id<TAB>sequence), or remove the entry with `{name}: null`")
    for name, spec in (predict.get("variants") or {}).items():
        if spec["sequences"] not in sequences:
            raise InputError(f"predict.variants.{name}.sequences", f"'{spec['sequences']}' is not under predict.sequences",
                             f"use one of {sorted(sequences)}")
        if not Path(spec["file"]).is_file():
            raise InputError(f"predict.variants.{name}.file", f"file '{spec['file']}' not found",
                             "check the path (a TSV of id, position, ref, alt)")
        if f"variants_{name}" in sequences:
            raise InputError(f"predict.variants.{name}", f"its table variants_{name}.tsv would overwrite that of "
                             f"predict.sequences.variants_{name}", "rename one of them")


def _check_interpret(config: dict) -> None:
    """interpret.meme files exist and parse (one line naming file and line). A name in interpret.models
    that is not a configured model is not an error: its row in interpret/elements.tsv says why."""
    meme = (config.get("interpret") or {}).get("meme") or []
    if meme:
        from decaylm.interpret.pipeline import check_settings

        check_settings(config["interpret"])
