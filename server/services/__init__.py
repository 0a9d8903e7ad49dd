"""The application's operations, apart from HTTP: each takes a database session and runs inside the caller's
transaction (a request's, or the live side's own), applies the rules of ``server.domain`` and raises the
domain errors of :mod:`server.services.errors` (never an HTTP error). The routers of ``server.api``, the live
side and the review workspace all call them."""
