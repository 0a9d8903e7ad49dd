"""Authentication and authorisation: argon2 passwords, bearer tokens for people (also as a cookie),
per-college API keys (stored hashed, shown once, revocable), and role checks."""
