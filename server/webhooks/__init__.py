"""Outgoing webhooks to colleges: HMAC-SHA256 signatures, an outbox written in the same transaction as the
change it reports, and a background deliverer that retries with exponential back-off and logs every try."""
