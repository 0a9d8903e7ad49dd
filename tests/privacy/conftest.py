"""The backend tests' fixtures (both databases, the small world), with an app whose background jobs are off
so the tests run the retention job themselves."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from fastapi.testclient import TestClient

from backend.conftest import (  # noqa: F401  (the backend tests' fixtures)
    World, backend, build_world, db_url, empty_db_url, engine, factory, make_proctoring_session, pg_server,
    pg_template, sqlite_template,
)
from server.app import create_app
from server.settings import ServerSettings
from server.storage.blobs import LocalBlobStore


@pytest.fixture
def world(factory: Any) -> World:
    return build_world(factory)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> ServerSettings:
    return ServerSettings(database_url=db_url, data_dir=tmp_path / "data", seed_demo=False, webhooks_enabled=False,
                          auto_migrate=False, log_json=True, public_url="http://lms.test",
                          lti_deliverer_enabled=False, privacy_job_interval_s=0, live_workers=1)


@pytest.fixture
def client(settings: ServerSettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def blobs(settings: ServerSettings) -> LocalBlobStore:
    """The same blob store the app uses (recordings, evidence frames, enrolment photos)."""
    return LocalBlobStore(settings.recordings_dir)
