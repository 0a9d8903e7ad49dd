"""Signed evidence: the server's Ed25519 signing key (:mod:`.keys`), the signed checkpoints of each session
(:mod:`.signing`) and the evidence export (:mod:`.bundle`). ``python -m server.evidence rotate`` makes a new key."""
