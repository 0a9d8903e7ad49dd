"""One settings object for the server (``PROCTOR_SERVER_*`` environment variables).

``ServerSettings()`` reads the environment; ``ServerSettings(database_url=..., data_dir=...)`` in tests.
The secret key, unless given, is generated on first start and kept in ``data_dir/secret_key`` (mode 0600)
so tokens and signatures survive restarts.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROCTOR_SERVER_", env_nested_delimiter="__")

    # --- storage -------------------------------------------------------------------------------------
    data_dir: Path = Path("var")
    database_url: str | None = None  # default: sqlite:///<data_dir>/proctor.db
    database_echo: bool = False
    auto_migrate: bool = True  # run `alembic upgrade head` when the app starts
    secret_key: SecretStr | None = None  # default: generated once, persisted in data_dir/secret_key

    # --- serving -------------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None  # default: http://<host>:<port>
    log_level: str = "INFO"
    log_json: bool = True  # structured (one JSON object per line) logs

    # --- people and keys -----------------------------------------------------------------------------
    token_ttl_hours: float = 12.0
    cookie_name: str = "proctor_session"
    cookie_secure: bool = False
    seed_demo: bool = True  # create the demo college, people and exam on first start

    # --- attempts ------------------------------------------------------------------------------------
    deadline_grace_s: float = 30.0  # answers arriving this long after the deadline are still accepted

    # --- webhooks ------------------------------------------------------------------------------------
    webhooks_enabled: bool = True  # run the background deliverer
    webhook_timeout_s: float = 10.0
    webhook_max_attempts: int = 8
    webhook_backoff_base_s: float = 5.0  # delay after the n-th failure: base * 2**(n-1), capped
    webhook_backoff_max_s: float = 3600.0
    webhook_poll_interval_s: float = 2.0
    webhook_user_agent: str = "proctor-webhooks/0.1"
    webhook_allow_private_targets: bool = False  # True lets webhooks go to loopback/private or plain-http URLs (dev, tests)

    # --- signed evidence -----------------------------------------------------------------------------
    # the Ed25519 key that signs each session's checkpoints: a PEM given here (e.g. from a secret store), else
    # the file below (mode 0600, created on first start). Never in the database.
    evidence_signing_key: SecretStr | None = None
    evidence_key_file: Path | None = None  # default: data_dir/evidence/signing-key.pem
    evidence_checkpoint_every: int = 50  # a checkpoint at least every this many chain entries ...
    evidence_checkpoint_interval_s: float = 60.0  # ... or this long after the last one, when entries were added

    # --- live exams (added by the live-exam work) ----------------------------------------------------
    # (keep live-exam fields in this section)
    # analysis worker processes (0: one per CPU core; measured best at 16 sessions with benchmarks/bench_live.py:
    # more processes than cores cost ~5-10 % more CPU per analysed frame in switching between them)
    live_workers: int = 0
    live_analyzer: str = "server.live.worker:default_analyzer"  # "module:function" building a session's analyser
    live_grace_s: float = 120.0  # a dropped student may reconnect this long; then the session ends
    live_media_timeout_s: float = 4.0  # no video for this long means the stream is lost
    live_segment_s: float = 10.0  # recording segment length (each starts at a keyframe)
    live_video_max_kbps: int = 500  # the camera stream's ceiling, sent to the browser in the SDP answer (b=AS)
    live_room_scan_s: float = 20.0  # how long the room scan asks the student to turn the camera
    live_rescan_after_events: list[str] = ["multiple_faces", "speech"]  # these events make the server ask for a re-scan
    live_rescan_min_interval_s: float = 300.0  # at most one such re-scan request per session this often
    live_identity_check_s: float = 8.0  # the identity step looks at live frames this long for a matching face
    live_retention_days: int = 365  # how long recordings are kept (told to the student on the consent screen)
    live_max_body_bytes: int = 65536  # offers and other live requests larger than this get 413
    live_max_photo_bytes: int = 5_000_000  # one enrolment photo
    live_max_sessions: int = 0  # a node serves at most this many live sessions (0: no limit); more get 503
    live_ice_loopback: bool = False  # offer 127.0.0.1 as an ICE candidate (tests, single-machine benchmarks)
    live_node_id: str | None = None  # default: <hostname>:<port>

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'proctor.db').resolve()}"

    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def resolved_evidence_key_file(self) -> Path:
        return self.evidence_key_file or self.data_dir / "evidence" / "signing-key.pem"

    @property
    def recordings_dir(self) -> Path:
        return self.data_dir / "recordings"

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir

    def resolved_secret_key(self) -> str:
        """The configured key, else the one persisted in data_dir, else a new one written there."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.ensure_data_dir() / "secret_key"
        if path.is_file():
            key = path.read_text().strip()
            if key:
                return key
        key = secrets.token_urlsafe(48)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process wrote it first: use theirs
            return path.read_text().strip()
        try:
            os.write(fd, key.encode())
        finally:
            os.close(fd)
        self.secret_key = SecretStr(key)
        return key
