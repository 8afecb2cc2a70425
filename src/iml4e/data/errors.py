"""Errors of the data room.

Each error says what was wrong and where (``where``): a generator argument, a dataset name, the
source of a frame that broke its contract. The edges map them to exit and status codes through
their bases (:class:`~iml4e.errors.BadInput`, :class:`~iml4e.errors.CheckFailed`,
:class:`~iml4e.store.NotFound`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from iml4e.errors import BadInput, CheckFailed, Iml4eError
from iml4e.store.errors import NotFound


class DataError(Iml4eError):
    """Base class of the data room's errors."""


class InvalidArgument(BadInput, DataError):
    """An argument of a data-room function is out of range or of the wrong kind."""


class UnknownDataset(BadInput, DataError):
    """A bundled dataset was asked for by a name that does not exist; ``known`` lists the names."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(
            f"unknown bundled dataset {name!r}; known: {', '.join(known)}", where="dataset"
        )
        self.name = name
        self.known = tuple(known)


class DatasetNotFound(NotFound, DataError):
    """The catalog holds no dataset (or no such version of it) under the requested name."""


_SHAPE_CHECKS = {
    "column_in_dataframe": "is missing",
    "column_in_schema": "is not in the contract",
}


@dataclass(frozen=True)
class Violation:
    """One broken rule of a data contract, summarised over all rows that break it.

    ``column`` is the column the rule is about (``None`` for rules over the whole frame);
    ``check`` names the rule as pandera reports it (``isin([...])``, ``not_nullable``,
    ``column_in_schema``, ``dtype('int64')``…); ``failure_count`` counts failing values;
    ``sample_values`` and ``sample_rows`` hold a few failing values and their row labels
    (rows are empty for rules about the frame's shape or dtypes).
    """

    column: str | None
    check: str
    failure_count: int
    sample_values: tuple[object, ...]
    sample_rows: tuple[object, ...]

    def describe(self) -> str:
        """One line for people: which column broke which rule, how often, with examples."""
        subject = f"column {self.column!r}" if self.column is not None else "the frame"
        if self.check in _SHAPE_CHECKS:
            return f"{subject} {_SHAPE_CHECKS[self.check]}"
        line = f"{subject} fails {self.check} ({self.failure_count} failing)"
        if self.sample_values:
            line += f", e.g. {', '.join(repr(value) for value in self.sample_values)}"
        if self.sample_rows:
            line += f" at rows {', '.join(str(row) for row in self.sample_rows)}"
        return line


class ContractViolation(CheckFailed, DataError):
    """A frame broke its data contract; ``violations`` lists every broken rule."""

    def __init__(self, violations: Sequence[Violation], *, where: str) -> None:
        self.violations = tuple(violations)
        count = len(self.violations)
        lines = "; ".join(violation.describe() for violation in self.violations)
        super().__init__(
            f"{count} data contract violation{'s' if count != 1 else ''}: {lines}", where=where
        )


class ContractFileError(BadInput, DataError):
    """A contract file cannot be read, parsed or turned into a schema; ``where`` is the file."""


class DataSourceError(BadInput, DataError):
    """A data source cannot be opened or read.

    ``where`` is the source as the connector describes it (passwords masked); the message says
    what is wrong with it: a missing file, an unknown table, an HTTP status, a malformed line.
    """
