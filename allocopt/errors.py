"""The exceptions allocopt raises at its users.

Every error a user can cause (a bad file, an unknown name, a missing optional solver) is an
``AllocoptError`` whose message says what was wrong and how to fix it; the command line prints the
message and exits with status 2, never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class AllocoptError(Exception):
    """Base class of the errors caused by input or usage, not by a bug."""


class UsageError(AllocoptError):
    """An unknown method, solver, option or command-line argument."""


class DataError(AllocoptError):
    """A value inside a problem's ``data`` is invalid.

    ``path`` is the JSON path inside ``data`` (a tuple of keys and indices), so that the envelope
    reader can report ``data.weights[3]``.
    """

    def __init__(self, path: Iterable[str | int], expected: str) -> None:
        self.path = tuple(path)
        self.expected = expected
        super().__init__(f"{format_json_path(('data', *self.path))}: {expected}")


class InstanceError(AllocoptError):
    """An instance or solution file is invalid: names the file, the JSON path and what was expected."""

    def __init__(self, file: str | Path | None, path: Iterable[str | int], expected: str) -> None:
        self.file = None if file is None else str(file)
        self.path = tuple(path)
        self.expected = expected
        where = format_json_path(self.path) or "(document)"
        prefix = f"{self.file}: " if self.file else ""
        super().__init__(f"{prefix}{where}: {expected}")


def format_json_path(path: Iterable[str | int]) -> str:
    """``('data', 'weights', 3)`` -> ``data.weights[3]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
