"""Result types shared by every checker in :mod:`desktop.validation`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Issue:
    """One problem found in a value.

    ``field`` is the Chinese field label shown to the user, ``code`` a stable English
    identifier (for tests, filters and translations), ``message`` a complete Chinese
    sentence that names the field and, where it helps, the position or character.
    """

    field: str
    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class CheckResult:
    """Outcome of checking one raw value.

    ``normalized`` is the cleaned value whenever the input has the right shape (even when a
    semantic error such as a wrong check character remains); it is ``None`` when the text
    cannot be brought into shape at all. Only ``ok`` says whether the value is valid.
    """

    raw: str
    normalized: str | None
    errors: tuple[Issue, ...] = ()
    warnings: tuple[Issue, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def issue_codes(self) -> tuple[str, ...]:
        """Codes of all errors then all warnings (handy in tests and logs)."""
        return tuple(i.code for i in self.errors) + tuple(i.code for i in self.warnings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "raw": self.raw,
            "normalized": self.normalized,
            "ok": self.ok,
            "errors": [i.to_dict() for i in self.errors],
            "warnings": [i.to_dict() for i in self.warnings],
            "details": dict(self.details),
        }


class Findings:
    """What one check finds, collected as it goes; `done()` turns it into the CheckResult."""

    def __init__(self, raw: str, field: str) -> None:
        self.raw = raw
        self.field = field
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []

    def err(self, code: str, message: str, on: str | None = None) -> None:
        self.errors.append(Issue(on or self.field, code, message))

    def warn(self, code: str, message: str, on: str | None = None) -> None:
        self.warnings.append(Issue(on or self.field, code, message))

    def done(self, normalized: str | None, details: dict[str, Any] | None = None) -> CheckResult:
        return CheckResult(self.raw, normalized, tuple(self.errors), tuple(self.warnings), details or {})
