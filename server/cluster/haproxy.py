"""HAProxy (Debian's ``haproxy`` package) in front of the nodes: one address for the browsers and the API.

Why HAProxy: active health checks (a dead node is out of rotation within ~2 s, nginx's free edition only notices
on failed requests), consistent hashing on a path field (``balance hash``), WebSocket and streamed responses
(Server-Sent Events, long polls) without buffering, and a stats page that shows each node's state.

Routing:
* ``/api/live/sessions/<id>/...`` and ``/api/review/sessions/<id>/...`` are hashed on ``<id>`` (consistent
  hashing): the offer, the resumed offer and the proctor's commands of one session reach the same node, the one
  that answered the offer and holds its WebRTC connection (the media, UDP, go straight to that node's ICE
  candidates, not through the proxy). When that node is down the same hash picks another node, which takes the
  session over from the store.
* Everything else: round robin over the nodes that pass ``GET /healthz``.
* A request with ``X-Proctor-Node: <name>`` goes to that node while it is up (tests, operators); every answer says
  which node served it in ``X-Proctor-Node``.
"""

from __future__ import annotations

import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from server.cluster.procs import Proc, StartFailed, wait_for


class HaproxyUnavailable(StartFailed):
    pass


def find_haproxy() -> Path:
    for cand in (shutil.which("haproxy") or "", "/usr/sbin/haproxy"):
        if cand and Path(cand).is_file():
            return Path(cand)
    raise HaproxyUnavailable("HAProxy was not found: install Debian's `haproxy` package (apt-get install -y haproxy)")


def render_config(port: int, stats_port: int, nodes: list[tuple[str, int]], host: str = "127.0.0.1") -> str:
    servers = "\n".join(f"    server {name} {host}:{p} check" for name, p in nodes)
    pins = "\n".join(f"    use-server {name} if {{ req.hdr(x-proctor-node) -m str {name} }}" for name, _ in nodes)
    return f"""# written by server/cluster/haproxy.py
global
    log stdout format raw local0 info
    maxconn 4000

defaults
    mode http
    log global
    option httplog
    option forwardfor
    timeout connect 2s
    timeout http-request 30s
    timeout queue 10s
    # long polls and Server-Sent Events (a comment every 10 s keeps them alive), WebSocket tunnels
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
    timeout client-fin 10s
    timeout server-fin 10s
    # a request that could not reach a node (connection refused: the node died) goes to another one: the
    # refused connection marks the node down at once (observe layer4), the retry is redispatched, and the
    # consistent hash then avoids the dead node (a session's resumed offer reaches the node that takes it over).
    # No `on-marked-down shutdown-sessions`: it would cut the very requests being redispatched; the streams of a
    # node that died are closed by its kernel anyway.
    retries 2
    retry-on conn-failure
    option redispatch 1
    default-server inter 1s fall 2 rise 2 observe layer4 error-limit 1 on-error mark-down

frontend proctor
    bind {host}:{port}
    http-request set-header X-Forwarded-Proto http
    acl session_path path_reg ^/api/(live|review)/sessions/[^/]+
    use_backend by_session if session_path
    default_backend nodes

backend nodes
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
{pins}
    http-response set-header X-Proctor-Node %[srv_name]
{servers}

backend by_session
    balance hash path,field(5,/)
    hash-type consistent
    option httpchk GET /healthz
    http-check expect status 200
{pins}
    http-response set-header X-Proctor-Node %[srv_name]
{servers}

frontend stats
    bind {host}:{stats_port}
    stats enable
    stats uri /
    stats refresh 2s
"""


@dataclass
class Haproxy:
    root: Path
    port: int
    stats_port: int
    nodes: list[tuple[str, int]]
    proc: Proc | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stats_url(self) -> str:
        return f"http://127.0.0.1:{self.stats_port}/"

    def start(self, timeout: float = 30.0) -> "Haproxy":
        exe = find_haproxy()
        cfg = self.root / "haproxy.cfg"
        cfg.write_text(render_config(self.port, self.stats_port, self.nodes))
        check = Proc("haproxy-check", [str(exe), "-c", "-f", str(cfg)], self.root / "haproxy-check.log").start()
        check.popen.wait(30)
        if check.popen.returncode != 0:
            raise HaproxyUnavailable(f"haproxy -c refused the configuration: {check.tail()}")
        check.stop()
        self.proc = Proc("haproxy", [str(exe), "-db", "-f", str(cfg)], self.root / "haproxy.log").start()
        wait_for(lambda: self.server_states() is not None, timeout, "HAProxy", self.proc)
        return self

    def server_states(self) -> dict[str, dict[str, str]] | None:
        """``{backend: {node: status}}`` from the stats page's CSV (UP, DOWN, ...), or None if it does not answer."""
        try:
            with urllib.request.urlopen(self.stats_url + ";csv", timeout=2) as r:
                lines = r.read().decode().splitlines()
        except OSError:
            return None
        header = lines[0].lstrip("# ").split(",")
        out: dict[str, dict[str, str]] = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(",")))
            if row.get("svname") not in ("FRONTEND", "BACKEND", None) and row.get("pxname") in ("nodes", "by_session"):
                out.setdefault(row["pxname"], {})[row["svname"]] = row.get("status", "")
        return out

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop(timeout=5)
