"""Fetch a public data file by URL, check its sha256, and write it atomically."""

from __future__ import annotations

import hashlib
import logging
import urllib.error
import urllib.request

from decaylm.errors import InputError
from decaylm.io import atomic_path

log = logging.getLogger(__name__)

UTRSEQ_BASE = "https://raw.githubusercontent.com/rabanilab/UTR-Seq/master/example/"
UTRSEQ_SHA256 = {  # file -> sha256 of the UTR-Seq example data (Rabani et al. 2017)
    "reporter_counts.txt": "686a5e5b424c9e19edbcd24b1c27ac977b61f1810cefe6b9cac70297c89567de",
    "reporter_seq.txt": "a0210cea0ff94775b62f6b45a2b0fa3e10de90fa7e9dcbff6cef08b3ec11f0e9",
}


def utrseq_url(name: str, base: str = UTRSEQ_BASE) -> str:
    return base.rstrip("/") + "/" + name


def fetch(url: str, sha256: str, destination, timeout: float = 30) -> None:
    """Download `url` to `destination`; refuse it (and write nothing) if the checksum differs."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            payload = response.read()
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise InputError(url, f"cannot download ({reason})",
                         f"offline? copy the file to {destination} yourself, or set data.download: false "
                         "and data.path to a folder that holds it")
    digest = hashlib.sha256(payload).hexdigest()
    if digest != sha256:
        raise InputError(url, f"sha256 {digest} differs from the expected {sha256}",
                         "the file changed upstream or the download was corrupted; fetch it again or check the source")
    with atomic_path(destination) as tmp:
        tmp.write_bytes(payload)
    log.info("downloaded %s (%d bytes, sha256 ok) to %s", url, len(payload), destination)
