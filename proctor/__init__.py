"""Proctoring engine: frames and audio in, signals and events out.

The engine imports no web framework and no database; the server puts it together with the store.
"""

__version__ = "0.1.0"
