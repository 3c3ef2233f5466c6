"""Browser code from the npm registry for tests (a widget we did not write, an accessibility checker): fetched once
with `npm pack`, checked against the integrity pinned here, and cached in var/test-cache (never committed)."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import tarfile
import tempfile
from pathlib import Path

__all__ = ["AXE_CORE", "RASA_WEBCHAT", "Package", "fetch"]

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "var" / "test-cache"


class Package:
    def __init__(self, spec: str, integrity: str, file: str) -> None:
        self.spec, self.integrity, self.file = spec, integrity, file  # file: the one wanted, inside the tarball


RASA_WEBCHAT = Package(
    "rasa-webchat@1.0.1",
    "sha512-Ld1zVJvTAaTrs6A5p8t70agNNrKYRyXlvqXZRgBoDvKKUXbA0jhJKECi5bdPGlaR6jsmqWtVylHS+YqIqo0x8w==",
    "package/lib/index.js",
)
AXE_CORE = Package(
    "axe-core@4.14.1",
    "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==",
    "package/axe.min.js",
)


def fetch(package: Package) -> bytes:
    """The package's file, from the cache or the registry (a test fails when npm cannot fetch it or the tarball is
    not the one pinned)."""
    cached = CACHE / package.spec / Path(package.file).name
    if not cached.exists():
        with tempfile.TemporaryDirectory() as folder:
            packed = subprocess.run(
                ["npm", "pack", package.spec, "--pack-destination", folder, "--silent"],
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert packed.returncode == 0, f"npm pack {package.spec} failed: {packed.stderr}"
            tarball = Path(folder) / packed.stdout.split()[-1]
            digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
            assert f"sha512-{digest}" == package.integrity, f"{package.spec}: the tarball is not the one pinned"
            with tarfile.open(tarball) as archive:
                member = archive.extractfile(package.file)
                assert member is not None, f"{package.spec} has no {package.file}"
                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.write_bytes(member.read())
    return cached.read_bytes()
