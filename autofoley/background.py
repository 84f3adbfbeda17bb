"""Work started in a thread of its own, its result collected later.

Used where a stage waits on something outside Python (ffmpeg encoding the
mix into the film) while the main thread has other work: the two then share
the machine's cores instead of taking turns.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Callable


def in_background(fn: Callable, *args, name: str | None = None) -> Future:
    """Run ``fn(*args)`` in a daemon thread; ``Future.result()`` returns its
    result or raises its exception in the caller's thread."""
    future: Future = Future()

    def run():
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # handed to whoever asks for the result
            future.set_exception(exc)

    threading.Thread(target=run, daemon=True,
                     name=name or getattr(fn, "__name__", "background")).start()
    return future
