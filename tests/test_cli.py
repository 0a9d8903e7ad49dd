"""The ``proctor`` command: the engine's subcommands, and ``serve`` added by the server through the
``proctor.commands`` entry-point group (the engine's CLI imports no server module)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from proctor import cli


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "proctor.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args, expect", [
    ((), ["models", "analyze", "roomscan", "serve"]),
    (("serve",), ["--host", "--port"]),
    (("analyze",), ["--reference", "--out", "--settings"]),
])
def test_help_of_each_command(args: tuple[str, ...], expect: list[str]) -> None:
    r = run(*args, "--help")
    assert r.returncode == 0, r.stderr
    assert all(word in r.stdout for word in expect), r.stdout
    assert "unavailable" not in r.stderr


def test_serve_comes_from_the_server_package() -> None:
    sub = cli.build_parser()._subparsers._group_actions[0]  # type: ignore[union-attr]
    assert sub.choices["serve"].get_default("func").__module__ == "server.cli"


def test_the_engine_commands_stand_without_any_registered_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "entry_points", lambda group: [])
    parser = cli.build_parser()
    assert parser.parse_args(["models", "list"]).command == "models"
    with pytest.raises(SystemExit):
        parser.parse_args(["serve"])
