"""A throw-away PostgreSQL server for the tests and ``scripts/cluster``: initdb + pg_ctl as the ``postgres`` user
(the server refuses to run as root), a free port on 127.0.0.1, the unix socket inside its own temporary directory.
Debian's binaries (``/usr/lib/postgresql/<version>/bin``) or ``PROCTOR_PG_BIN``.

``durable=False`` (the tests) turns fsync off for speed; the cluster keeps PostgreSQL's defaults."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from server.cluster.procs import free_port

PG_BIN_CANDIDATES = [os.environ.get("PROCTOR_PG_BIN", ""), "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin"]


class PostgresUnavailable(RuntimeError):
    pass


def find_pg_bin() -> Path:
    for cand in PG_BIN_CANDIDATES:
        if cand and (Path(cand) / "initdb").is_file() and (Path(cand) / "pg_ctl").is_file():
            return Path(cand)
    found = shutil.which("pg_ctl")
    if found and (Path(found).parent / "initdb").is_file():
        return Path(found).parent
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found in "
        + ", ".join(c for c in PG_BIN_CANDIDATES if c)
        + ": install Debian's `postgresql` package (apt-get install -y postgresql) or set PROCTOR_PG_BIN"
    )


@dataclass
class PgServer:
    bin_dir: Path
    root: Path
    port: int
    run_as: str | None
    durable: bool = False

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def _cmd(self, *args: str) -> list[str]:
        return (["runuser", "-u", self.run_as, "--"] if self.run_as else []) + list(args)

    def _run(self, *args: str) -> None:
        proc = subprocess.run(self._cmd(*args), capture_output=True, text=True)
        if proc.returncode != 0:
            raise PostgresUnavailable(f"{' '.join(args[:2])} failed ({proc.returncode}): {proc.stderr or proc.stdout}")

    def start(self) -> None:
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", "postgres", "-A", "trust",
                  "--no-sync", "-E", "UTF8", "--locale=C")
        self._pg_start()

    def _pg_start(self) -> None:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=60"
        if not self.durable:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.root / "log"),
                  "-o", opts, "-w", "-t", "60", "start")

    def restart(self, down_s: float = 0.0) -> None:
        """Stop the server (``-m fast``: every connection is cut, as in a fail-over), stay down ``down_s``
        seconds, start it again on the same port with the same data (the fault tests)."""
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        time.sleep(down_s)
        self._pg_start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            subprocess.run(self._cmd(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w",
                                     "stop"), capture_output=True, timeout=60)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_server(durable: bool = False, parent: Path | None = None) -> PgServer:
    bin_dir = find_pg_bin()
    run_as = None
    root = Path(tempfile.mkdtemp(prefix="proctor-pg-", dir=parent))
    if os.geteuid() == 0:
        run_as = "postgres"
        try:
            pw = pwd.getpwnam(run_as)
        except KeyError as exc:
            raise PostgresUnavailable("running as root and there is no `postgres` user to run the server") from exc
        os.chown(root, pw.pw_uid, pw.pw_gid)
    os.chmod(root, 0o700)
    server = PgServer(bin_dir, root, free_port(), run_as, durable)
    try:
        server.start()
    except Exception:
        log = root / "log"
        detail = log.read_text()[-2000:] if log.is_file() else ""
        server.stop()
        raise PostgresUnavailable(f"PostgreSQL did not start: {detail}")
    # wait until it accepts TCP connections
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1):
                return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise PostgresUnavailable("PostgreSQL started but does not accept connections")
