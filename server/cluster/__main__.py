"""``python -m server.cluster [--nodes N]`` (what ``scripts/cluster`` runs): start the stack, print where
everything is, wait for Ctrl+C (or SIGTERM), stop it all."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from server.cluster.stack import Cluster


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="scripts/cluster", description=__doc__.split("\n\n")[0])
    p.add_argument("--nodes", type=int, default=2, help="server processes behind the proxy (default 2)")
    p.add_argument("--workers", type=int, default=1, help="analysis worker processes per node (default 1)")
    p.add_argument("--dir", type=Path, help="where the cluster keeps its files (default: a new temporary directory)")
    p.add_argument("--keep", action="store_true", help="keep the files when stopping")
    args = p.parse_args(argv)
    if args.nodes < 1:
        p.error("--nodes must be at least 1")

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)  # while starting, SIGTERM stops like Ctrl+C (start() cleans up)
    cluster = Cluster.create(args.dir, nodes_count=args.nodes, workers=args.workers)
    print(f"starting PostgreSQL, SeaweedFS, {args.nodes} nodes and HAProxy in {cluster.root} ...", flush=True)
    try:
        cluster.start()
    except KeyboardInterrupt:
        print("interrupted; stopped what had started", file=sys.stderr)
        if not args.keep:
            cluster.stop(remove=True)
        return 130
    except Exception as exc:  # noqa: BLE001
        print(f"the cluster did not start: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(cluster.describe(), flush=True)
    print("Ctrl+C stops everything.", flush=True)
    try:
        while not stop.wait(1.0):
            dead = [n.name for n in cluster.nodes if n.proc and not n.proc.alive()]
            if dead:
                print(f"note: {', '.join(dead)} exited (see its node.log); the proxy sends traffic to the others",
                      flush=True)
                for n in cluster.nodes:
                    if n.name in dead:
                        n.proc.popen = None  # reported once
    finally:
        print("stopping ...", flush=True)
        cluster.stop(remove=not args.keep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
