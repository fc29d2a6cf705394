"""The vendored front-end files are the ones their README names: the SHA-256 sums listed
there match the files served, and every served library has its licence beside it."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

VENDOR = Path(__file__).resolve().parent.parent / "app" / "ui" / "vendor"


def listed_sums() -> dict[str, str]:
    readme = (VENDOR / "README.md").read_text()
    return {name: digest for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", readme, re.M)}


def test_every_vendored_file_matches_its_listed_checksum() -> None:
    sums = listed_sums()
    served = {p.name for p in VENDOR.iterdir() if p.suffix in {".js", ".css"}}
    assert served == set(sums)
    for name, digest in sums.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


def test_every_library_has_its_licence() -> None:
    for library in ("cytoscape", "uplot", "swagger-ui", "redoc"):
        assert (VENDOR / f"LICENSE-{library}.txt").is_file(), library
