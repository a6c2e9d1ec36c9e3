"""Errors services raise; every message is Chinese and says what is wrong and where."""

from __future__ import annotations

from typing import Any

from desktop.validation.result import Issue


class ServiceError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(ServiceError):
    """Nothing was written: the listed fields are wrong."""

    def __init__(self, issues: list[Issue], warnings: list[Issue] | None = None) -> None:
        self.issues = list(issues)
        self.warnings = list(warnings or [])
        super().__init__(";".join(i.message for i in self.issues) or "数据校验未通过")

    def by_field(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for issue in self.issues:
            out.setdefault(issue.field, []).append(issue.message)
        return out


class NotFound(ServiceError):
    pass


class PermissionDenied(ServiceError):
    pass


class StaleRecord(ServiceError):
    """The record changed since the user opened it (optimistic locking)."""


class DuplicateRecord(ServiceError):
    """The same certificate number (or plate) already exists; `existing` describes that record."""

    def __init__(self, message: str, existing: dict[str, Any]) -> None:
        super().__init__(message)
        self.existing = existing


class IllegalTransition(ServiceError):
    pass


def require(subject: Any, ability: Any, *, act: str | None = None) -> None:
    """Raise PermissionDenied with the policy's sentence unless `subject` holds `ability`."""
    from desktop.policy import allows, denial

    if not allows(subject, ability):
        raise PermissionDenied(denial(ability, act=act))
