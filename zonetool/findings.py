"""What validation reports: a code, a severity, a message and the place it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Where:
    """A place in a source: a file plus either a line/column or a path into the spec.

    The core only knows paths (keys and indices into the zone mapping); the YAML edge
    turns a path into a line and column when a finding is reported.
    """

    file: str | None = None
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    path: tuple[str | int, ...] = ()

    def __str__(self) -> str:
        parts = [self.file or "<zone>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def child(self, *keys: str | int) -> Where:
        return Where(self.file, None, None, self.path + keys)


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: Severity
    message: str
    where: Where = field(default_factory=Where)
    hint: str | None = None
    silenced: str | None = None  # the reason given by the zone's owner, if silenced

    def format(self) -> str:
        status = f"silenced {self.severity.value}" if self.silenced is not None else self.severity.value
        text = f"{self.where}: {status} {self.code}: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        if self.silenced:
            text += f"\n    silenced because: {self.silenced}"
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.where.file,
            "line": self.where.line,
            "column": self.where.column,
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "silenced": self.silenced,
        }


def error(code: str, message: str, where: Where, hint: str | None = None) -> Finding:
    return Finding(code, Severity.ERROR, message, where, hint)


def warning(code: str, message: str, where: Where, hint: str | None = None) -> Finding:
    return Finding(code, Severity.WARNING, message, where, hint)


def not_utf8(data: bytes, exc: UnicodeDecodeError, file: str | None, hint: str | None = None) -> Finding:
    """The one `not-text` finding (YAML, BIND, import, the editing commands): which byte, where."""
    start = exc.start
    line = data.count(b"\n", 0, start) + 1
    column = start - (data.rfind(b"\n", 0, start) + 1) + 1
    return error("not-text", f"not UTF-8 text: byte 0x{data[start]:02x} at offset {start} (line {line})",
                 Where(file, line, column), hint=hint)
