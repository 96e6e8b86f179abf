"""Reading whitespace-separated number files with errors that name the file and the token."""

from __future__ import annotations

from pathlib import Path

from allocopt.errors import InstanceError


class TokenReader:
    """Numbers from a text file, one at a time, with the token position for error messages."""

    def __init__(self, path: Path, text: str | None = None) -> None:
        self.path = path
        try:
            self.tokens = (text if text is not None else path.read_text(encoding="utf-8")).split()
        except (OSError, UnicodeDecodeError) as exc:
            raise InstanceError(path, (), f"cannot be read: {exc}") from None
        self.pos = 0

    def remaining(self) -> int:
        return len(self.tokens) - self.pos

    def number(self, what: str) -> float:
        if self.pos >= len(self.tokens):
            raise InstanceError(self.path, (), f"file ends early: expected {what} at token {self.pos + 1}")
        tok = self.tokens[self.pos]
        try:
            value = float(tok)
        except ValueError:
            raise InstanceError(self.path, (), f"token {self.pos + 1} {tok!r}: expected {what} (a number)") from None
        self.pos += 1
        return value

    def integer(self, what: str) -> int:
        start = self.pos
        value = self.number(what)
        if not value.is_integer() or value < 0:
            raise InstanceError(self.path, (), f"token {start + 1} {self.tokens[start]!r}: expected {what} (a count)")
        return int(value)

    def numbers(self, count: int, what: str) -> list[float]:
        return [self.number(what) for _ in range(count)]


def as_json_number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x
