"""Reading motif files in MEME format (the shipped known elements, or any file the user names).

Only what a motif database export needs is read: `MOTIF id [alternate name]` lines, each followed
by a `letter-probability matrix:` header and its rows of four numbers (A C G T, or A C G U). Anything
malformed stops with one line that names the file and line (decaylm.errors.InputError).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from decaylm.errors import InputError
from decaylm.sequences import BASES

KNOWN_ELEMENTS = "known_elements.meme"


@dataclass
class Motif:
    name: str  # the MOTIF identifier
    pwm: np.ndarray  # (4, width) letter probabilities, ACGT rows, columns summing to 1
    source: str  # the file it came from
    description: str = ""

    @property
    def consensus(self) -> str:
        return consensus(self.pwm)


def consensus(pwm: np.ndarray) -> str:
    """IUPAC-free consensus: the most probable base of each column (ties: the first of ACGT)."""
    return "".join(BASES[i] for i in np.asarray(pwm).argmax(axis=0))


def known_elements_path() -> Path:
    return Path(str(resources.files("decaylm.interpret").joinpath(KNOWN_ELEMENTS)))


def read_meme(path) -> list[Motif]:
    """The motifs of a MEME file, in file order; an InputError names the file and line of a problem."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not a text file"
        raise InputError(str(path), f"cannot read the MEME file ({reason})", "check the path in interpret.meme") from None
    motifs: list[Motif] = []
    names: set[str] = set()
    alphabet_ok = True
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("ALPHABET"):
            letters = line.split("=", 1)[-1].strip().upper()
            alphabet_ok = letters in (BASES, BASES.replace("T", "U"))
            if not alphabet_ok:
                raise InputError(f"{path}:{i + 1}", f"alphabet {letters!r} is not nucleotides",
                                 "give a DNA or RNA motif file (ALPHABET= ACGT or ACGU)")
        if not line.startswith("MOTIF"):
            i += 1
            continue
        parts = line.split()
        if len(parts) < 2:
            raise InputError(f"{path}:{i + 1}", "MOTIF line without an identifier", "write MOTIF <id> [name]")
        name, description = parts[1], " ".join(parts[2:])
        if name in names:
            raise InputError(f"{path}:{i + 1}", f"motif {name!r} appears twice", "give each MOTIF a unique id")
        names.add(name)
        i += 1
        while i < len(lines) and not lines[i].strip().startswith("letter-probability matrix"):
            if lines[i].strip().startswith("MOTIF"):
                break
            i += 1
        if i >= len(lines) or not lines[i].strip().startswith("letter-probability matrix"):
            raise InputError(f"{path}:{min(i + 1, len(lines))}", f"motif {name!r} has no letter-probability matrix",
                             "add 'letter-probability matrix: alength= 4 w= N' and N rows of four numbers")
        header_line = i + 1
        header = _header_fields(lines[i])
        width = header.get("w")
        if header.get("alength", 4) != 4:
            raise InputError(f"{path}:{header_line}", f"alength= {header['alength']} for motif {name!r}",
                             "nucleotide motifs have alength= 4")
        rows = []
        i += 1
        while i < len(lines) and (width is None or len(rows) < width):
            text = lines[i].strip()
            if not text or text.startswith(("MOTIF", "URL")):
                break
            try:
                values = [float(v) for v in text.split()]
            except ValueError:
                raise InputError(f"{path}:{i + 1}", f"motif {name!r}: {_short(text)!r} is not four numbers",
                                 "each matrix row holds the probabilities of A, C, G and T") from None
            if len(values) != 4 or any(v < 0 for v in values) or not np.isfinite(values).all():
                raise InputError(f"{path}:{i + 1}", f"motif {name!r}: {_short(text)!r} is not four non-negative numbers",
                                 "each matrix row holds the probabilities of A, C, G and T")
            if abs(sum(values) - 1) > 0.02:
                raise InputError(f"{path}:{i + 1}", f"motif {name!r}: the row sums to {sum(values):.3g}, not 1",
                                 "give probabilities (a count matrix must be normalized first)")
            rows.append(values)
            i += 1
        if not rows or (width is not None and len(rows) != width):
            raise InputError(f"{path}:{i + 1 if i < len(lines) else len(lines)}",
                             f"motif {name!r} has {len(rows)} matrix rows, the header says w= {width}",
                             "make w= match the number of rows")
        pwm = np.asarray(rows, dtype=np.float64).T
        motifs.append(Motif(name, pwm / pwm.sum(axis=0, keepdims=True), str(path), description))
    if not motifs:
        raise InputError(str(path), "holds no MOTIF", "give a MEME-format file (MOTIF lines with letter-probability "
                         "matrices), e.g. an ATtRACT or CISBP-RNA export converted to MEME")
    return motifs


def _header_fields(line: str) -> dict[str, int]:
    """alength= 4 w= 8 nsites= 20 E= 0 -> {'alength': 4, 'w': 8, ...} (integers only)."""
    text = line.split(":", 1)[-1].replace("= ", "=").split()
    fields = {}
    for item in text:
        key, _, value = item.partition("=")
        try:
            fields[key] = int(float(value))
        except ValueError:
            continue
    return fields


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def write_meme(motifs: list[Motif], path) -> None:
    """Write motifs (e.g. the discovered ones) as a MEME file, atomically."""
    from decaylm.io import write_text

    out = ["MEME version 4", "", f"ALPHABET= {BASES}", "", "strands: + -", ""]
    for motif in motifs:
        out.append(f"MOTIF {motif.name} {motif.description}".rstrip())
        out.append(f"letter-probability matrix: alength= 4 w= {motif.pwm.shape[1]} nsites= 20 E= 0")
        out += [" " + " ".join(f"{v:.4f}" for v in column) for column in motif.pwm.T]
        out.append("")
    write_text("\n".join(out) + "\n", path)
