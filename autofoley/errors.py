"""Errors a user can cause, each with the path involved and the remedy.

The CLI prints ``str(error)`` on one line and exits with ``error.exit_code``;
anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class AutofoleyError(Exception):
    """Base of the errors caused by input, models or the environment."""

    exit_code = 1

    def __init__(self, message: str, path: str | Path | None = None, remedy: str | None = None):
        self.message = message
        self.path = None if path is None else str(path)
        self.remedy = remedy
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        if self.remedy:
            text += f" ({self.remedy})"
        return " ".join(text.split())  # always one line


class UsageError(AutofoleyError):
    """Flags that do not go together (argparse cannot tell)."""

    exit_code = 2


class InputError(AutofoleyError):
    """A film or other input file is missing, unreadable or not what it claims."""

    exit_code = 3


class LibraryError(AutofoleyError):
    """The SFX library is missing, empty or holds nothing usable."""

    exit_code = 4


class ModelError(AutofoleyError):
    """A model name, config or checkpoint cannot be resolved or loaded."""

    exit_code = 5


class OutputError(AutofoleyError):
    """An output cannot be written."""

    exit_code = 6


class ToolError(AutofoleyError):
    """An external program (ffmpeg, ffprobe) is missing or failed."""

    exit_code = 7


def skip_reason(exc: BaseException) -> str:
    """One line saying why a file was skipped (for the lists of skipped files)."""
    if isinstance(exc, AutofoleyError):
        text = exc.message + (f" ({exc.remedy})" if exc.remedy else "")
    elif isinstance(exc, OSError) and exc.strerror:
        text = f"cannot be read ({exc.strerror})"
    else:
        text = f"cannot be decoded ({type(exc).__name__}: {exc})"
    return " ".join(text.split())
