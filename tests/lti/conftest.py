"""The tool (our server) and an LMS (tests/lti/platform.py) each on a loopback port, a browser (an httpx client
with a cookie jar) that goes through the launches, and the backend tests' database fixtures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from backend.conftest import (  # noqa: F401  (the backend tests' fixtures: both databases, the small world)
    World, backend, build_world, db_url, empty_db_url, engine, factory, pg_server, pg_template, sqlite_template,
)
from server.app import create_app
from server.lti.deliverer import LtiDeliverer
from server.settings import ServerSettings

from .platform import INSTRUCTOR, LEARNER, Lms, LmsUser, Scenario, ThreadServer, form_fields, free_port


@pytest.fixture
def world(factory: Any) -> World:
    return build_world(factory)


@dataclass
class Setup:
    tool: ThreadServer
    lms: Lms
    app: Any
    settings: ServerSettings
    world: World
    factory: Any

    @property
    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.tool.base, headers={"X-API-Key": self.world.api_key}, timeout=30)

    def as_person(self, who: str) -> httpx.Client:
        return httpx.Client(base_url=self.tool.base, headers=self.world.h(who), timeout=30)

    def deliver(self) -> int:
        d = LtiDeliverer(self.factory, self.settings)
        try:
            return d.run_once()
        finally:
            d.stop()


class Browser:
    """A student's or teacher's browser: follows the LMS -> tool -> LMS -> tool hops and posts the forms."""

    def __init__(self) -> None:
        self.http = httpx.Client(timeout=30, follow_redirects=False)
        self.page: httpx.URL | None = None  # the page whose form is posted next: a browser sends its Origin

    def _origin(self) -> dict[str, str]:
        if self.page is None:
            return {}
        port = f":{self.page.port}" if self.page.port else ""
        return {"Origin": f"{self.page.scheme}://{self.page.host}{port}"}

    def close(self) -> None:
        self.http.close()

    def login(self, lms: Lms, scenario: Scenario) -> tuple[str, dict[str, str]]:
        """Up to the platform's signed launch form: (tool launch URL, {id_token, state})."""
        r = self.http.get(lms.login_url(scenario))
        assert r.status_code == 302, r.text
        r = self.http.get(r.headers["location"])  # the platform's OIDC authorisation endpoint
        assert r.status_code == 200, r.text
        self.page = r.url
        return form_fields(r.text)

    def post(self, url: str, fields: dict[str, str]) -> httpx.Response:
        """A form post from the current page (its Origin, as browsers send), which the answer then replaces."""
        r = self.http.post(url, data=fields, headers=self._origin())
        self.page = r.url
        return r

    def launch(self, lms: Lms, scenario: Scenario) -> httpx.Response:
        url, fields = self.login(lms, scenario)
        return self.post(url, fields)


@pytest.fixture
def setup(db_url: str, tmp_path: Path, factory: Any, world: World) -> Iterator[Setup]:
    port = free_port()
    settings = ServerSettings(database_url=db_url, data_dir=tmp_path / "data", seed_demo=False,
                              webhooks_enabled=False, auto_migrate=False, log_json=True,
                              public_url=f"http://127.0.0.1:{port}", lti_allow_private_platforms=True,
                              lti_deliverer_enabled=False, privacy_job_interval_s=0, live_workers=1,
                              webhook_backoff_base_s=60.0, webhook_max_attempts=3)
    app = create_app(settings)
    tool = ThreadServer(app, port).start()
    lms = Lms(tool.base).start()
    try:
        yield Setup(tool, lms, app, settings, world, factory)
    finally:
        lms.stop()
        tool.stop()


def register(s: Setup) -> dict[str, Any]:
    with s.api as api:
        r = api.post("/api/v1/lti/registrations", json=s.lms.registration_body())
        assert r.status_code == 201, r.text
        return r.json()


TEACHER = LmsUser("lms-teacher-7", "Aigerim Teacher", "teacher@test.kz", [INSTRUCTOR])
STUDENT = LmsUser("lms-student-9", "Daniyar Student", "daniyar@lms.kz", [LEARNER])

__all__ = ["Browser", "Scenario", "Setup", "STUDENT", "TEACHER", "register"]
