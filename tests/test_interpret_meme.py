"""decaylm.interpret.meme: the known 3'UTR elements' MEME file, and malformed MEME files refused in one line
that names the file and line."""

from __future__ import annotations

import numpy as np
import pytest

from decaylm.errors import InputError
from decaylm.interpret.meme import known_elements_path, read_meme


def test_known_elements_file_parses():
    known = {m.name: m for m in read_meme(known_elements_path())}
    assert list(known) == ["miR-430", "ARE", "Pumilio", "poly-U", "GC-rich"]
    assert known["miR-430"].consensus == "AGCACTTA"
    assert known["ARE"].consensus == "TATTTAT"
    assert known["Pumilio"].consensus.startswith("TGTA") and known["Pumilio"].pwm.shape == (4, 8)
    assert all(np.allclose(m.pwm.sum(axis=0), 1) for m in known.values())


@pytest.mark.parametrize("body, line, words", [
    ("MOTIF a\nletter-probability matrix: alength= 4 w= 2\n 0.25 0.25 0.25 0.25\n 0.1 x 0.4 0.5\n", 4, "not four numbers"),
    ("MOTIF a\nletter-probability matrix: alength= 4 w= 3\n 0.25 0.25 0.25 0.25\n\n", 4, "w= 3"),
    ("MOTIF a\nletter-probability matrix: alength= 4 w= 1\n 0.5 0.5 0.5 0.5\n", 3, "sums to 2"),
    ("MOTIF a\nMOTIF b\n", 2, "no letter-probability matrix"),
])
def test_malformed_meme_names_file_and_line(tmp_path, body, line, words):
    path = tmp_path / "bad.meme"
    path.write_text("MEME version 4\n\n" + body)
    with pytest.raises(InputError) as error:
        read_meme(path)
    message = str(error.value)
    assert f"{path}:{line + 2}" in message and words in message and "\n" not in message


def test_unreadable_or_empty_meme(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        read_meme(tmp_path / "missing.meme")
    (tmp_path / "empty.meme").write_text("MEME version 4\n")
    with pytest.raises(InputError, match="holds no MOTIF"):
        read_meme(tmp_path / "empty.meme")


def test_config_check_refuses_a_bad_meme_file_in_one_line(tmp_path):
    from decaylm.config import _check_interpret

    bad = tmp_path / "bad.meme"
    bad.write_text("MOTIF x\nletter-probability matrix: alength= 4 w= 1\n 1 2\n")
    with pytest.raises(InputError, match=r"bad\.meme:3"):
        _check_interpret({"interpret": {"meme": [str(bad)]}})
    _check_interpret({"interpret": {"models": ["NOT_A_MODEL"], "meme": []}})  # not an error at start-up
