"""Which addresses webhook deliveries (and the other URLs the server calls on a college's say-so) may reach:
public ones only, unless ``webhook_allow_private_targets`` (tests and development) also allows private and
loopback ones. The URL check at registration is ``server.services.integrations.url_problem``; the deliverer
checks again on every try (``server.security.netcheck.pin_url``)."""

from __future__ import annotations

from server.security.netcheck import AddressPolicy


def target_policy(allow_private: bool) -> AddressPolicy:
    return AddressPolicy.of(allow_private=allow_private, allow_loopback=allow_private)


def policy_for(settings: object) -> AddressPolicy:
    return target_policy(bool(getattr(settings, "webhook_allow_private_targets", False)))
