"""Shared fixtures: the real media corpus in ../shared/data (never copied into the repo)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("PROCTOR_DATA", REPO_ROOT.parent / "shared" / "data"))
ARTIFACTS_DIR = Path(os.environ.get("PROCTOR_TEST_ARTIFACTS", REPO_ROOT / "test-artifacts"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA_DIR / "manifest.json").is_file():
        pytest.fail(f"the shared media corpus is not at {DATA_DIR} (set PROCTOR_DATA)")
    return DATA_DIR


@pytest.fixture(scope="session")
def manifest(data_dir: Path) -> dict:
    return json.loads((data_dir / "manifest.json").read_text())


@pytest.fixture(scope="session")
def manifest_files(manifest: dict) -> dict[str, dict]:
    """path -> manifest entry."""
    return {f["path"]: f for f in manifest["files"]}


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR
