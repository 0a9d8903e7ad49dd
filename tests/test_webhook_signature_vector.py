"""The webhook signature against a known-answer vector.

The format (server/webhooks/signing.py's docstring, the contract with receivers):
``X-Proctor-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``.

EXPECTED was computed once, outside the project, from that format alone:

    printf '%s' '1700000000.{"event":"attempt.verified","id":"evt_1"}' \\
        | openssl dgst -sha256 -hmac 'whsec_test'

so a change of hash, of the signed string or of the header layout fails here even if sign() and verify() change
together.
"""

from __future__ import annotations

import hashlib
import hmac

from server.webhooks.signing import sign, verify

SECRET = "whsec_test"
BODY = b'{"event":"attempt.verified","id":"evt_1"}'
T = 1700000000
EXPECTED = "cbe1c5be01499e02e8934ab78898b97e39598bd9e1f39401426080c165faee4b"


def test_known_answer_vector_is_hmac_sha256_of_timestamp_dot_body():
    # the vector itself, recomputed with the standard library only
    assert hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest() == EXPECTED


def test_sign_gives_the_known_answer():
    assert sign(SECRET, BODY, timestamp=T) == f"t={T},v1={EXPECTED}"


def test_verify_accepts_the_known_answer_and_nothing_else():
    header = f"t={T},v1={EXPECTED}"
    assert verify(SECRET, BODY, header, now=T + 10)
    assert not verify("whsec_other", BODY, header, now=T + 10)
    assert not verify(SECRET, BODY + b" ", header, now=T + 10)
    assert not verify(SECRET, BODY, f"t={T + 1},v1={EXPECTED}", now=T + 10)  # the timestamp is signed too
    sha1 = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha1).hexdigest()
    assert not verify(SECRET, BODY, f"t={T},v1={sha1}", now=T + 10)
    assert not verify(SECRET, BODY, header, now=T + 301)  # older than the 300 s tolerance: a replay
