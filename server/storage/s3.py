"""Blobs in an S3-compatible bucket (AWS S3, SeaweedFS, MinIO, Ceph RGW, a cloud's object storage in the
college's country) through boto3. Same interface and errors as :class:`~server.storage.blobs.LocalBlobStore`.

Every upload carries its SHA-256 as the S3 checksum (``x-amz-checksum-sha256``, per part for multipart
uploads), so the store refuses bytes that were altered on the way; blobs above ``multipart_threshold`` bytes go
up in parts (boto3's managed transfer). The digest is also kept as object metadata ``sha256``.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from typing import Any

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError

from server.settings import ServerSettings
from server.storage.blobs import StoreUnavailable, check_key

log = logging.getLogger("server.storage.s3")

MB = 1024 * 1024
_MISSING = {"404", "NoSuchKey", "NotFound"}
_TRANSIENT = {"500", "502", "503", "504", "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"}


@dataclass(frozen=True)
class S3Config:
    bucket: str
    region: str
    endpoint_url: str | None = None
    prefix: str = ""
    access_key_id: str | None = None
    secret_access_key: str | None = None
    addressing_style: str = "path"
    verify_tls: bool = True
    connect_timeout_s: float = 3.0
    read_timeout_s: float = 30.0
    multipart_threshold: int = 8 * MB
    multipart_part: int = 8 * MB

    @classmethod
    def from_settings(cls, s: ServerSettings) -> "S3Config":
        if not s.s3_region:
            raise ValueError("blob_backend is s3 but s3_region is not set: set PROCTOR_SERVER_S3_REGION to the "
                             "storage location (production data of Kazakh colleges must be stored in Kazakhstan)")
        return cls(bucket=s.s3_bucket, region=s.s3_region, endpoint_url=s.s3_endpoint_url, prefix=s.s3_prefix,
                   access_key_id=s.s3_access_key_id.get_secret_value() if s.s3_access_key_id else None,
                   secret_access_key=s.s3_secret_access_key.get_secret_value() if s.s3_secret_access_key else None,
                   addressing_style=s.s3_addressing_style, verify_tls=s.s3_verify_tls,
                   connect_timeout_s=s.s3_connect_timeout_s, read_timeout_s=s.s3_read_timeout_s,
                   multipart_threshold=max(5, s.s3_multipart_threshold_mb) * MB,
                   multipart_part=max(5, s.s3_multipart_part_mb) * MB)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


class S3BlobStore:
    def __init__(self, config: S3Config, client: Any | None = None):
        self.config = config
        self.bucket = config.bucket
        self.prefix = config.prefix.strip("/")
        self.client = client or boto3.session.Session().client(
            "s3", endpoint_url=config.endpoint_url, region_name=config.region,
            aws_access_key_id=config.access_key_id, aws_secret_access_key=config.secret_access_key,
            verify=config.verify_tls,
            config=Config(s3={"addressing_style": config.addressing_style}, connect_timeout=config.connect_timeout_s,
                          read_timeout=config.read_timeout_s, retries={"mode": "standard", "max_attempts": 2},
                          max_pool_connections=20))
        self.transfer = TransferConfig(multipart_threshold=config.multipart_threshold,
                                       multipart_chunksize=config.multipart_part, max_concurrency=4)

    @classmethod
    def from_settings(cls, settings: ServerSettings) -> "S3BlobStore":
        return cls(S3Config.from_settings(settings))

    def object_key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, what: str, key: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (BotoConnectionError, HTTPClientError) as exc:
            raise StoreUnavailable(f"object store unreachable ({what} {key}): {exc}") from exc
        except S3UploadFailedError as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, ClientError) and (_code(cause) in _TRANSIENT or _status(cause) >= 500):
                raise StoreUnavailable(f"object store failed ({what} {key}): {exc}") from exc
            if isinstance(cause, (BotoConnectionError, HTTPClientError)):
                raise StoreUnavailable(f"object store unreachable ({what} {key}): {exc}") from exc
            raise
        except ClientError as exc:
            if what in ("get", "head", "head_bucket") and (_code(exc) in _MISSING or _status(exc) == 404):
                raise FileNotFoundError(f"no blob {key!r}") from exc
            if _code(exc) in _TRANSIENT or _status(exc) >= 500:
                raise StoreUnavailable(f"object store failed ({what} {key}): {exc}") from exc
            raise
        except BotoCoreError as exc:  # other transport-level trouble
            raise StoreUnavailable(f"object store error ({what} {key}): {exc}") from exc

    # --- BlobStore ---------------------------------------------------------------------------------------
    def put(self, key: str, data: bytes) -> None:
        okey = self.object_key(key)
        digest = hashlib.sha256(data).hexdigest()
        self._call("put", key, self.client.upload_fileobj, io.BytesIO(data), self.bucket, okey,
                   ExtraArgs={"ChecksumAlgorithm": "SHA256", "Metadata": {"sha256": digest}}, Config=self.transfer)

    def get(self, key: str) -> bytes:
        okey = self.object_key(key)

        def read() -> bytes:
            return self.client.get_object(Bucket=self.bucket, Key=okey)["Body"].read()
        return self._call("get", key, read)

    def exists(self, key: str) -> bool:
        okey = self.object_key(key)
        try:
            self._call("head", key, self.client.head_object, Bucket=self.bucket, Key=okey)
        except FileNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        self._call("delete", key, self.client.delete_object, Bucket=self.bucket, Key=self.object_key(key))

    # --- set-up --------------------------------------------------------------------------------------------
    def ensure_bucket(self) -> None:
        """Create the bucket in the configured region if it is not there (scripts/cluster, tests; production
        buckets are usually made by the storage's owner)."""
        try:
            self._call("head_bucket", self.bucket, self.client.head_bucket, Bucket=self.bucket)
            return
        except FileNotFoundError:
            pass
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if self.config.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.config.region}
        try:
            self._call("create_bucket", self.bucket, self.client.create_bucket, **kwargs)
        except ClientError as exc:
            if _code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
