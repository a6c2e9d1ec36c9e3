"""The values of one record being validated, with the issues found so far.

Below both desktop.services.records (which builds a Draft from the caller's data and writes it)
and desktop.services.rules (whose per-kind hooks check and complete it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from desktop.kinds import field_label
from desktop.validation.result import Issue


@dataclass
class Draft:
    """Values being validated, with the issues found so far."""

    kind: str
    values: dict[str, Any]
    existing: dict[str, Any] | None
    issues: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    def get(self, key: str) -> Any:
        if key in self.values:
            return self.values[key]
        return (self.existing or {}).get(key)

    def error(self, fld: str, code: str, message: str) -> None:
        self.issues.append(Issue(field_label(self.kind, fld), code, message))

    def warn(self, fld: str, code: str, message: str) -> None:
        self.warnings.append(Issue(field_label(self.kind, fld), code, message))
