"""``python -m server.evidence {show,rotate}``: the server's evidence signing keys (configured by the same
``PROCTOR_SERVER_*`` settings as the server). ``rotate`` makes a new key; the old public key stays listed as
retired so checkpoints it signed still verify; a running server signs with the new key from its next checkpoint."""

from __future__ import annotations

import argparse
import json
import sys

from server.evidence.keys import EvidenceKeyError, Keyring
from server.settings import ServerSettings


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m server.evidence", description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=["show", "rotate"], help="show the public keys, or rotate the signing key")
    args = p.parse_args(argv)
    settings = ServerSettings()
    key = settings.evidence_signing_key.get_secret_value() if settings.evidence_signing_key else None
    keyring = Keyring(settings.resolved_evidence_key_file(), key)
    try:
        if args.action == "rotate":
            old = keyring.current().key_id
            new = keyring.rotate()
            print(f"evidence signing key rotated: {old} (retired) -> {new.key_id}", file=sys.stderr)
        print(json.dumps({"current": keyring.current().key_id,
                          "key_file": str(keyring.key_file) if not key else "(from the settings)",
                          "keys": [k.to_dict() for k in keyring.public_keys()]}, indent=2))
    except EvidenceKeyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
