"""One settings object for the server (``PROCTOR_SERVER_*`` environment variables).

``ServerSettings()`` reads the environment; ``ServerSettings(database_url=..., data_dir=...)`` in tests.
The secret key, unless given, is generated on first start and kept in ``data_dir/secret_key`` (mode 0600)
so tokens and signatures survive restarts.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class LiveVideo(BaseModel):
    """The camera stream the student page asks for (served to it by ``GET /api/live/config``)."""

    width: int = 640
    height: int = 480
    frame_rate: int = 15
    # VP8 in three temporal layers (W3C webrtc-svc): every second frame refers to no other, so the server decodes
    # only the other half (7.5 a second) for the 5 analysed ones, all of them during a room scan; the recording
    # keeps every frame. "" asks for one layer (a browser without the mode sends one layer anyway).
    scalability_mode: str = "L1T3"


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
    cookie_secure: bool = False  # Secure cookies; also on whenever public_url is https
    seed_demo: bool = False  # create the demo college, people and exam (`proctor serve --demo`); never in production
    demo_passwords: dict[str, str] = {}  # role -> password for the demo people (tests); default: generated, printed once

    # --- security (issue 12) -------------------------------------------------------------------------
    max_body_bytes: int = 1_048_576  # every request body larger than this gets 413 (live photos: their own limit)
    signin_max_failures: int = 5  # failed sign-ins per account (e-mail) before it is locked
    signin_lockout_s: float = 900.0  # how long an account stays locked (a college admin can lift it sooner)
    signin_address_max_failures: int = 20  # failed sign-ins per client address within the window, then 429
    signin_window_s: float = 900.0  # failures older than this are forgotten
    signin_refusal_delay_s: float = 2.0  # a 429 is answered after this long (never longer than Retry-After): a
    # flood that is refused at once would otherwise come straight back and keep the server busy
    signin_hash_concurrency: int = 2  # argon2 verifications at once (each takes ~64 MB and a core for ~50 ms)
    csrf_trusted_origins: list[str] = []  # extra origins allowed to post with the cookie (the public URL always is)
    content_security_policy: str = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: "
                                    "blob:; media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; "
                                    "base-uri 'none'; form-action 'self'; object-src 'none'")

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
    webhook_allow_private_targets: bool = False  # True lets webhooks go to private/plain-http URLs (dev, tests)
    webhook_allow_loopback: bool = False  # True lets webhooks go to 127.0.0.0/8 and ::1 (tests only)

    # --- blob storage: recordings, evidence frames, enrolment photos ---------------------------
    blob_backend: Literal["local", "s3"] = "local"  # local: files under data_dir/recordings; s3: a bucket (below)
    s3_endpoint_url: str | None = None  # e.g. https://s3.example.kz (None: the AWS endpoint of s3_region)
    s3_bucket: str = "proctor"
    s3_region: str | None = None  # required for s3: the storage location (Kazakh colleges: a location in Kazakhstan)
    s3_prefix: str = ""  # keys go under this prefix inside the bucket (several deployments in one bucket)
    s3_access_key_id: SecretStr | None = None  # None: boto3's usual chain (AWS_ACCESS_KEY_ID env, ~/.aws, role)
    s3_secret_access_key: SecretStr | None = None
    s3_addressing_style: Literal["path", "virtual", "auto"] = "path"  # path suits SeaweedFS, MinIO, Ceph
    s3_verify_tls: bool = True
    s3_connect_timeout_s: float = 3.0
    s3_read_timeout_s: float = 30.0
    s3_multipart_threshold_mb: int = 8  # larger blobs go up in parts of s3_multipart_part_mb (S3's minimum is 5)
    s3_multipart_part_mb: int = 8
    blob_spool_dir: Path | None = None  # s3 only: blobs wait here while the store is unreachable (default data_dir/spool)
    blob_spool_retry_base_s: float = 0.5  # upload retry delay after the n-th failure: base * 2**(n-1), capped
    blob_spool_retry_max_s: float = 30.0

    # --- signed evidence -----------------------------------------------------------------------------
    # the Ed25519 key that signs each session's checkpoints: a PEM given here (e.g. from a secret store), else
    # the file below (mode 0600, created on first start). Never in the database.
    evidence_signing_key: SecretStr | None = None
    evidence_key_file: Path | None = None  # default: data_dir/evidence/signing-key.pem
    evidence_checkpoint_every: int = 50  # a checkpoint at least every this many chain entries ...
    evidence_checkpoint_interval_s: float = 60.0  # ... or this long after the last one, when entries were added

    # --- live exams: analysis workers, media, reconnection, recordings -------------------------------------
    # analysis worker processes (0: one per CPU core; measured best at 16 sessions with benchmarks/bench_live.py:
    # more processes than cores cost ~5-10 % more CPU per analysed frame in switching between them)
    live_workers: int = 0
    # with one analysis worker per core (the default), each keeps to its core (worker i on the i-th core this server
    # may use): its threads keep their caches and stop migrating (bench_live at 20 sessions: ~5 % more analysed
    # frames). Other worker counts (several nodes on one machine) leave the placement to the kernel.
    live_pin_workers: bool = True
    # the cores the analysis workers keep to, worker i on the i-th (several nodes sharing one machine, as
    # scripts/cluster runs them, give each node its own); empty: as live_pin_workers says
    live_worker_cores: list[int] = []
    live_analyzer: str = "server.live.worker:default_analyzer"  # "module:function" building a session's analyser
    live_grace_s: float = 120.0  # a dropped student may reconnect this long; then the session ends
    # every node looks this often for sessions whose node died and whose student did not come back within the grace
    # period, and ends them (server.live.orphans; once across nodes); 0: never (then only the attempt's end ends them)
    live_orphan_sweep_s: float = 15.0
    live_media_timeout_s: float = 4.0  # no video for this long means the stream is lost
    live_segment_s: float = 10.0  # recording segment length (each starts at a keyframe)
    live_video: LiveVideo = LiveVideo()  # what the page asks of the camera (the analysis is tuned for it)
    live_video_max_kbps: int = 500  # the camera stream's ceiling, sent to the browser in the SDP answer (b=AS)
    # the microphone's packet length asked in the SDP answer (a=ptime, ms; 0: the browser's default of 20 ms):
    # 60 ms packets carry a third of the headers on the student's uplink and a third of the packets to the server
    live_audio_ptime_ms: int = 60
    live_room_scan_s: float = 20.0  # how long the room scan asks the student to turn the camera
    live_rescan_after_events: list[str] = ["multiple_faces", "speech"]  # these events make the server ask for a re-scan
    live_rescan_min_interval_s: float = 300.0  # at most one such re-scan request per session this often
    live_identity_check_s: float = 8.0  # the identity step looks at live frames this long for a matching face
    live_signal_burst_s: float = 5.0  # browser signals of one kind within this window become one event with a count
    live_signal_detail_chars: int = 200  # each text in a browser signal's details is cut to this many characters
    live_check_requests_per_min: int = 6  # the page may ask for the identity step / a room scan this often a minute
    live_provisional_score_s: float = 15.0  # a running session's provisional score is recomputed this often
    # the camera stream as it arrives, measured each heartbeat (server/live/quality.py): a stretch of at least
    # live_stream_poor_s below any of these is a stream_poor event, context for the proctor, never scored. The
    # defaults are the lowest variant benchmarks/bench_bitrate.py measured the engine to hold at (100 kbit/s,
    # 320x240) and the analysis' own 5 frames a second
    live_stream_min_kbps: float = 100.0
    live_stream_min_fps: float = 5.0
    live_stream_min_width: int = 320
    live_stream_poor_s: float = 8.0  # heartbeats are 5 s apart: two poor windows in a row
    live_retention_days: int = 365  # how long recordings are kept (told to the student on the consent screen)
    live_max_body_bytes: int = 65536  # offers and other live requests larger than this get 413
    live_max_photo_bytes: int = 5_000_000  # one enrolment photo
    live_max_sessions: int = 0  # a node serves at most this many live sessions (0: no limit); more get 503
    live_ice_loopback: bool = False  # offer 127.0.0.1 as an ICE candidate (tests, single-machine benchmarks)
    live_node_id: str | None = None  # default: <hostname>:<port>
    # ICE: remote candidates outside these ranges are never checked (no STUN to internal hosts). Default: the
    # server's own networks and globally routable addresses; loopback only with live_ice_loopback.
    live_ice_allowed_networks: list[str] = []  # extra CIDRs the server may send STUN to (e.g. a college LAN)

    # --- LTI 1.3 and personal data -------------------------------------------------------------------------
    lti_deliverer_enabled: bool = True  # run the background sender of grades and proctoring controls (and key rotation)
    lti_key_max_age_days: float = 90.0  # the signing key is replaced after this long
    lti_key_prepublish_days: float = 7.0  # the next key is in the JWKS this long before it signs
    lti_key_retired_days: float = 7.0  # a replaced key stays in the JWKS this long (tokens it signed stay checkable)
    lti_state_ttl_s: int = 600  # an OIDC login must come back to /lti/launch within this time
    lti_launch_ttl_s: int = 7200  # a Deep Linking selection must be made within this time of its launch
    lti_http_timeout_s: float = 10.0  # calls to a platform (JWKS, token, AGS, ACS, NRPS)
    lti_poll_interval_s: float = 5.0  # the deliverer looks for due service calls and new incident events this often
    lti_flag_min_severity: float = 0.5  # engine events at least this severe (0..1) are sent as ACS flags
    lti_allow_private_platforms: bool = False  # True lets platform URLs be loopback/private or plain http (dev, tests)
    privacy_notice_version: str = "2026-01"  # the consent text version the student pages show
    privacy_default_recordings_days: int = 365  # a college without its own policy keeps recordings this long
    privacy_default_evidence_days: int = 365
    privacy_default_face_templates_days: int = 365
    privacy_job_interval_s: float = 3600.0  # the retention job runs this often on every node (0: never)
    # Law 94-V art. 12 (localisation): personal data of people in Kazakhstan must be stored in databases on
    # the territory of Kazakhstan. database_url and the blob store MUST point at servers located there; this
    # value is shown in /api/v1/privacy/notice so a college can state where its data is.
    privacy_data_location: str = "Republic of Kazakhstan"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'proctor.db').resolve()}"

    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def resolved_evidence_key_file(self) -> Path:
        return self.evidence_key_file or self.data_dir / "evidence" / "signing-key.pem"

    @property
    def secure_cookies(self) -> bool:
        """Secure cookies when asked or when the public URL is https."""
        return self.cookie_secure or self.resolved_public_url().lower().startswith("https://")

    @property
    def recordings_dir(self) -> Path:
        return self.data_dir / "recordings"

    @property
    def resolved_blob_spool_dir(self) -> Path:
        return self.blob_spool_dir or self.data_dir / "spool"

    def ensure_data_dir(self) -> Path:
        """The data directory, owner-only (0700): the database, keys and recordings live here."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        mode = self.data_dir.stat().st_mode & 0o777
        if mode & 0o077:
            os.chmod(self.data_dir, mode & 0o700)
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
