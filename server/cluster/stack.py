"""The whole stack on one machine: PostgreSQL, SeaweedFS (S3), N server nodes, HAProxy in front, all on loopback
ports, every file under one directory. ``scripts/cluster`` and ``tests/cluster/`` both use :class:`Cluster`.

Every node is ``proctor serve`` with ``PROCTOR_SERVER_*`` environment settings: the same database URL, object
store and secret key, its own port, data directory (blob spool, logs) and ``live_node_id``. On separate machines
the same variables apply, with the addresses of the machines instead of 127.0.0.1 (README: Scale-out).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from server.cluster.haproxy import Haproxy
from server.cluster.postgres import PgServer, start_server
from server.cluster.procs import Proc, StartFailed, free_ports, wait_for
from server.cluster.seaweed import SeaweedServer, start_seaweed


def _others_can_enter(path: Path) -> bool:
    """PostgreSQL runs as ``postgres`` when we are root: it must be able to walk down to its directory."""
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents])


@dataclass
class Node:
    name: str
    port: int
    data_dir: Path
    env: dict[str, str]
    proc: Proc | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def start(self) -> "Node":
        proctor = Path(sys.executable).parent / "proctor"
        # `proctor serve`'s --host/--port win over the environment: give them
        argv = ([str(proctor), "serve", "--host", "127.0.0.1", "--port", str(self.port)] if proctor.is_file() else
                [sys.executable, "-c", f"from server.main import serve; serve('127.0.0.1', {self.port})"])
        self.proc = Proc(self.name, argv, self.data_dir / "node.log", env=self.env).start()
        return self

    def wait(self, timeout: float) -> None:
        wait_for(self.healthy, timeout, f"node {self.name}", self.proc, interval=0.25)


@dataclass
class Cluster:
    root: Path
    nodes_count: int = 2
    workers: int = 1  # analysis worker processes per node
    extra_env: dict[str, str] = field(default_factory=dict)
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    pg: PgServer | None = None
    s3: SeaweedServer | None = None
    nodes: list[Node] = field(default_factory=list)
    proxy: Haproxy | None = None
    database_url: str = ""

    @classmethod
    def create(cls, root: Path | None = None, **kwargs) -> "Cluster":
        root = Path(root) if root else Path(tempfile.mkdtemp(prefix="proctor-cluster-"))
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o755)  # PostgreSQL runs as `postgres` below it
        return cls(root, **kwargs)

    def node_env(self, name: str, port: int, data_dir: Path, first: bool, index: int = 0) -> dict[str, str]:
        assert self.s3 is not None and self.proxy is not None
        # the nodes share this machine: each node's analysis workers keep to cores of their own, in turn
        usable = sorted(os.sched_getaffinity(0))
        cores = [usable[(index * self.workers + j) % len(usable)] for j in range(self.workers)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROCTOR_SERVER_")}
        env.update({
            "PROCTOR_SERVER_HOST": "127.0.0.1",
            "PROCTOR_SERVER_PORT": str(port),
            "PROCTOR_SERVER_PUBLIC_URL": self.proxy.url,
            "PROCTOR_SERVER_DATA_DIR": str(data_dir),
            "PROCTOR_SERVER_DATABASE_URL": self.database_url,
            "PROCTOR_SERVER_SECRET_KEY": self.secret_key,
            "PROCTOR_SERVER_LIVE_NODE_ID": name,
            "PROCTOR_SERVER_LIVE_WORKERS": str(self.workers),
            "PROCTOR_SERVER_LIVE_WORKER_CORES": json.dumps(cores),
            "PROCTOR_SERVER_LIVE_ICE_LOOPBACK": "true",  # browsers on this machine reach each node on 127.0.0.1
            # the first node migrates and seeds the database before the others start
            "PROCTOR_SERVER_AUTO_MIGRATE": "true" if first else "false",
            "PROCTOR_SERVER_SEED_DEMO": "true" if first else "false",
            # every node delivers webhooks: each delivery is claimed with FOR UPDATE SKIP LOCKED and a lease
            # (tests/cluster/test_background_once.py), so no two nodes send the same one
            "PROCTOR_SERVER_WEBHOOKS_ENABLED": "true",
            **self.s3.settings_env(),
        })
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 180.0) -> "Cluster":
        try:
            self.pg = start_server(durable=True, parent=self.root if _others_can_enter(self.root) else None)
            self.database_url = self.pg.create_database("proctor")
            self.s3 = start_seaweed(parent=self.root)
            ports = free_ports(self.nodes_count + 2)
            names = [f"node-{i + 1}" for i in range(self.nodes_count)]
            self.proxy = Haproxy(self.root, ports[0], ports[1], list(zip(names, ports[2:])))
            for i, (name, port) in enumerate(zip(names, ports[2:])):
                data_dir = self.root / name
                data_dir.mkdir(exist_ok=True)
                self.nodes.append(Node(name, port, data_dir, self.node_env(name, port, data_dir, i == 0, i)))
            self.nodes[0].start().wait(timeout)
            for node in self.nodes[1:]:
                node.start()
            for node in self.nodes[1:]:
                node.wait(timeout)
            self.proxy.start()
            wait_for(self.all_up, 30, "HAProxy health checks of every node", self.proxy.proc)
        except BaseException:
            self.stop()
            raise
        return self

    def all_up(self) -> bool:
        states = self.proxy.server_states() if self.proxy else None
        return bool(states) and all(
            len(states.get(b, {})) == len(self.nodes) and all(s.startswith("UP") for s in states[b].values())
            for b in ("nodes", "by_session"))

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def demo_logins(self) -> list[str]:
        if not self.nodes:
            return []
        return [line.strip() for line in self.nodes[0].proc.tail(20000).splitlines()
                if "password:" in line or "API key" in line] if self.nodes[0].proc else []

    def describe(self) -> str:
        assert self.pg and self.s3 and self.proxy
        lines = [
            f"Proctor cluster: {len(self.nodes)} nodes behind HAProxy, all on loopback (files in {self.root})",
            f"  open this:        {self.proxy.url}/student/   {self.proxy.url}/review/   {self.proxy.url}/docs",
            f"  HAProxy stats:    {self.proxy.stats_url}   (config {self.root / 'haproxy.cfg'})",
            f"  PostgreSQL:       {self.database_url}",
            f"  S3 (SeaweedFS):   {self.s3.endpoint}  bucket {self.s3.bucket}  region {self.s3.region}  "
            f"key {self.s3.access_key}",
        ]
        for n in self.nodes:
            lines.append(f"  {n.name}:           {n.url}   pid {n.proc.pid if n.proc else '-'}   log {n.data_dir / 'node.log'}")
        logins = self.demo_logins()
        if logins:
            lines.append("  demo sign-ins (seeded by node-1):")
            lines += [f"    {line}" for line in logins]
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps({
            "root": str(self.root), "proxy": self.proxy.url if self.proxy else None,
            "stats": self.proxy.stats_url if self.proxy else None, "database_url": self.database_url,
            "s3": self.s3.endpoint if self.s3 else None,
            "nodes": [{"name": n.name, "url": n.url, "pid": n.proc.pid if n.proc else None} for n in self.nodes]})

    def stop(self, remove: bool = True) -> None:
        for part in [self.proxy, *reversed(self.nodes)]:
            if part is None:
                continue
            try:
                (part.stop() if isinstance(part, Haproxy) else part.proc and part.proc.stop())
            except Exception:  # noqa: BLE001 - stop everything we can
                pass
        if self.s3 is not None:
            self.s3.stop()
        if self.pg is not None:
            self.pg.stop()  # removes its own directory
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)


__all__ = ["Cluster", "Node", "StartFailed"]
