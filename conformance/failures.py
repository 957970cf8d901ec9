"""Findings: the target broke the contract (exit code 1).

A check raises (or records) a `Violation`; reporters read its fields and never parse its text.
A `Skip` is not a finding: it says why a check could not apply to this target.
Whatever a finding quotes of the target is escaped on the way in (`escaping.printable`).
"""

from __future__ import annotations

from .escaping import printable

__all__ = ["BudgetExhausted", "PreconditionFailed", "Skip", "Violation"]


class Violation(AssertionError):
    """The target answered something the contract forbids."""

    def __init__(self, *, title: str, message: str = "", repro: tuple[str, ...] = (), documented: bool = True) -> None:
        # Findings quote what the target sent: escaped here, the one door to every report.
        title = printable(title)
        super().__init__(title)
        self.title = title
        self.message = printable(message, keep_newlines=True)
        # curl commands that reproduce the finding, in order (setup first).
        self.repro = tuple(printable(line) for line in repro)
        # False when the rule judged is one of this project's choices (only judged with --strict).
        self.documented = documented

    def __str__(self) -> str:
        return f"{self.title}\n{self.message}" if self.message else self.title

    def to_dict(self) -> dict[str, object]:
        return {"title": self.title, "message": self.message, "repro": list(self.repro), "documented": self.documented}


class Skip(Exception):
    """Raised by a check that does not apply to this target or configuration; the message says why."""


class BudgetExhausted(Skip):
    """Raised when a create would pass `--max-events`: the check needing it is skipped, never failed."""


class PreconditionFailed(Exception):
    """Raised when an operation every check builds on broke (create answered no event id, publish
    refused a fresh draft): one violation of that operation, reported once for the run, and the
    checks that needed it are not judged (listed under it) instead of each failing with its copy.
    """

    def __init__(self, operation: str, violation: Violation) -> None:
        super().__init__(violation.title)
        self.operation = operation
        self.violation = violation
