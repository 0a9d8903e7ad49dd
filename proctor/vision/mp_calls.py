"""Calling a MediaPipe task's C functions on the calling thread.

MediaPipe's Tasks API (1.2.x) hands every C call of a task object to that object's own one-thread executor (its
``SerialDispatcher``) and waits for the result: two thread switches per call, two per result freed. The engine
calls each task object from one thread only (a session's analyser lives on one worker thread), which is the
serial use the dispatcher exists to guarantee, so it may make the same call itself. On a loaded server the
switches matter: every hand-over waits for the dispatcher's thread to be scheduled (bench_live at 20 sessions:
~16 ms of wall time per 12.6 ms of CPU per analysed frame before this, and idle CPU in between).

:func:`call` falls back to the dispatcher whenever the wrapper's internals are not those of the pinned mediapipe.
"""

from __future__ import annotations

import ctypes
from typing import Any


def _raw_lib(task: Any) -> Any | None:
    dispatcher = getattr(task, "_lib", None)
    return getattr(dispatcher, "_lib", None)


def call(task: Any, name: str, *args: Any, status: bool = True) -> None:
    """``task._lib.<name>(*args)`` on this thread. ``status``: the function returns an MpStatus and takes an error
    message pointer last (MediaPipe's ``CStatusFunction``); a status other than OK raises as MediaPipe's own
    wrapper does. Functions that return nothing (``...CloseResult``) pass ``status=False``."""
    raw = _raw_lib(task)
    fn = getattr(raw, name, None) if raw is not None else None
    if fn is None or fn.argtypes is None:  # not the pinned layout: MediaPipe's own (dispatched) call
        getattr(task._lib, name)(*args)
        return
    if not status:
        fn(*args)
        return
    from mediapipe.tasks.python.core.mediapipe_c_utils import handle_status

    error = ctypes.c_char_p()
    code = fn(*args, ctypes.byref(error))
    try:
        handle_status(code, error)
    finally:
        if error.value is not None:
            raw.MpErrorFree(error)
