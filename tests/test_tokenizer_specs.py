"""Tokenizer config entries: a bad entry stops with an error naming its key; the seed key is accepted;
checking entries stays cheap to import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from decaylm.errors import InputError
from decaylm.tokenizers import train_tokenizer
from tests.helpers.paths import REPO


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"kind": "sentencepiece"},
         r"tokenizers\.x\.kind: unknown kind 'sentencepiece' "
         r"\(use one of nucleotide, kmer, bpe, wordpiece, morfessor, rbp_window, pretrained\)"),
        ({}, r"tokenizers\.x: has no kind"),
        ({"kind": "bpe", "vocab": 10},
         r"tokenizers\.x\.vocab: not a parameter of kind bpe \(accepted: vocab_size, min_frequency, max_sequences\)"),
        ({"kind": "morfessor", "max_sequences": 0}, r"tokenizers\.x\.max_sequences: 0 is not an integer >= 1"),
        ({"kind": "bpe", "max_sequences": 2.5}, r"tokenizers\.x\.max_sequences: 2\.5 is not an integer >= 1"),
        ({"kind": "wordpiece", "max_sequences": True}, r"tokenizers\.x\.max_sequences: True is not an integer >= 1"),
        ({"kind": "rbp_window", "max_sequences": 10}, r"tokenizers\.x\.max_sequences: not a parameter of kind rbp_window"),
        ({"kind": "kmer", "k": "6"}, r"tokenizers\.x\.k: '6' is not an integer >= 1"),
        ({"kind": "kmer", "k": 12}, r"tokenizers\.x\.k: 12 is too large"),
        ({"kind": "morfessor", "corpus_weight": 0}, r"tokenizers\.x\.corpus_weight: 0 is not a number > 0"),
        ({"kind": "pretrained"}, r"tokenizers\.x\.checkpoint: missing"),
    ],
)
def test_config_errors_name_the_key(tmp_path, spec, message):
    with pytest.raises(InputError, match=message):
        train_tokenizer(spec, ["ACGT"], None, tmp_path / "x", seed=1)


def test_seed_key_of_the_config_is_accepted(tmp_path):
    tok = train_tokenizer({"kind": "nucleotide", "seed": 9}, ["ACGT"], None, tmp_path / "n", seed=9)
    assert tok.kind == "nucleotide" and tok.meta["params"] == {}


def test_specs_import_is_light_and_hugging_face_tokenizers_is_not_shadowed():
    """The workflow checks tokenizer entries at start-up: that must not import transformers or torch.
    And decaylm.tokenizers must not hide the Hugging Face `tokenizers` library."""
    code = (
        "import sys; import decaylm.tokenizers, decaylm.tokenizers.specs;"
        "heavy = [m for m in ('transformers', 'torch', 'tokenizers') if m in sys.modules];"
        "assert not heavy, heavy;"
        "from decaylm.tokenizers import DnaTokenizer;"
        "from tokenizers import Tokenizer; import tokenizers;"
        "assert 'decaylm' not in tokenizers.__file__, tokenizers.__file__"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_the_schema_lists_exactly_the_tokenizer_kinds():
    """The schema's enum of tokenizer kinds (its one-line error at start-up) names the kinds that have builders."""
    import yaml

    from decaylm.tokenizers.specs import KINDS
    from tests.helpers.paths import REPO

    schema = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
    enum = schema["properties"]["tokenizers"]["additionalProperties"]["properties"]["kind"]["enum"]
    assert sorted(enum) == sorted(KINDS)
