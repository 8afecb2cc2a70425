"""Data contracts: pandera schemas, and validation that reports every broken rule at once.

pandera is imported inside the functions, so importing :mod:`iml4e.data` does not pay for it.
:func:`validate_frame` turns pandera's errors into :class:`~iml4e.data.errors.ContractViolation`
so callers (and the CLI and HTTP edges) deal with one iml4e error type.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from iml4e.data.errors import ContractViolation, InvalidArgument, Violation
from iml4e.data.synthetic import (
    HOUSING,
    LOAN_DURATIONS_MONTHS,
    MAX_DEBT_RATIO,
    MIN_LOAN_AMOUNT,
    MIN_WORKING_AGE,
    PURPOSES,
    SEXES,
    TARGET,
)

if TYPE_CHECKING:
    import pandera.pandas as pa

SAMPLE_SIZE = 5
WORKING_LIFE_CHECK = "employment_years_within_working_life"


def credit_application_schema(
    *, with_target: bool = True, evolved: bool = False
) -> pa.DataFrameSchema:
    """The contract of the reference credit-application data (``credit_applications(drift=0)``).

    Every column has its exact dtype (``int64``, ``float64``, or ``str`` for object columns of
    strings), no nulls, and its range or allowed values: age 18-80, positive income,
    ``0 <= employment_years <= age - 16``, debt ratio 0-1.5, loan amount ≥ 500, loan durations
    from 6…72 months, ``n_open_credits >= 0``, the six known purposes, the four housing kinds,
    the two sexes, and ``default`` in {0, 1}. Drifted data breaks it (missing values, the unseen
    ``crypto`` purpose, out-of-range values).

    The schema is ``strict``: columns it does not name are violations. With
    ``with_target=False`` (serving-time inputs) the ``default`` column may be absent; when it is
    present it is still checked. ``evolved=True`` is the contract a data owner agrees to once
    the population has moved: ``income``, ``employment_years`` and ``debt_ratio`` may be
    missing (the models impute them, and serving already accepts them missing) and ``crypto``
    is a known purpose.
    """
    import pandera.pandas as pa

    if not isinstance(with_target, bool):
        raise InvalidArgument(f"must be True or False, got {with_target!r}", where="with_target")
    columns = {
        "age": pa.Column("int64", pa.Check.in_range(18, 80)),
        "income": pa.Column("float64", pa.Check.gt(0), nullable=evolved),
        "employment_years": pa.Column("float64", pa.Check.ge(0), nullable=evolved),
        "debt_ratio": pa.Column("float64", pa.Check.in_range(0, MAX_DEBT_RATIO), nullable=evolved),
        "loan_amount": pa.Column("float64", pa.Check.ge(MIN_LOAN_AMOUNT)),
        "loan_duration_months": pa.Column("int64", pa.Check.isin(LOAN_DURATIONS_MONTHS)),
        "n_open_credits": pa.Column("int64", pa.Check.ge(0)),
        "purpose": pa.Column(str, pa.Check.isin([*PURPOSES, *(["crypto"] if evolved else [])])),
        "housing": pa.Column(str, pa.Check.isin(HOUSING)),
        "sex": pa.Column(str, pa.Check.isin(SEXES)),
        TARGET: pa.Column("int64", pa.Check.isin([0, 1]), required=with_target),
    }
    working_life = pa.Check(_employment_within_working_life, name=WORKING_LIFE_CHECK)
    return pa.DataFrameSchema(
        columns, checks=[working_life], strict=True, name="credit_application"
    )


def wine_schema(*, with_target: bool = True) -> pa.DataFrameSchema:
    """The contract of scikit-learn's wine data (:func:`iml4e.data.wine`).

    Thirteen chemical measurements, each a positive ``float64`` without nulls, and the
    cultivar ``target`` in {0, 1, 2} (optional with ``with_target=False``). ``strict``.
    """
    import pandera.pandas as pa

    from iml4e.data.bundled import TARGET_COLUMN, WINE_FEATURES

    columns = {name: pa.Column("float64", pa.Check.gt(0)) for name in WINE_FEATURES}
    columns[TARGET_COLUMN] = pa.Column("int64", pa.Check.isin([0, 1, 2]), required=with_target)
    return pa.DataFrameSchema(columns, strict=True, name="wine")


def validate_frame(frame: pd.DataFrame, schema: pa.DataFrameSchema, *, source: str) -> pd.DataFrame:
    """Check ``frame`` against ``schema`` and return the validated frame.

    Every rule is evaluated (pandera's lazy mode) before anything is reported. On failure this
    raises :class:`~iml4e.data.errors.ContractViolation` with one
    :class:`~iml4e.data.errors.Violation` per broken rule (column, check, number of failing
    values, a few failing values and row labels) and ``where=source`` (a file, a table, a
    deployment), so the message says what was wrong and where. A schema that cannot be applied
    raises :class:`~iml4e.data.errors.InvalidArgument`. pandera's own exceptions never escape.
    """
    import pandera.errors as pa_errors

    if not isinstance(frame, pd.DataFrame):
        raise InvalidArgument(
            f"expected a pandas DataFrame, got {type(frame).__name__}", where=source
        )
    if not isinstance(source, str) or not source.strip():
        raise InvalidArgument("must name where the frame comes from", where="source")
    try:
        return schema.validate(frame, lazy=True)
    except pa_errors.SchemaErrors as exc:
        frame_checks = {check.name for check in getattr(schema, "checks", [])}
        violations = violations_from_failure_cases(exc.failure_cases, frame_checks)
    except pa_errors.SchemaError as exc:
        violations = [_violation_from_schema_error(exc)]
    except (
        pa_errors.SchemaDefinitionError,
        pa_errors.SchemaInitError,
        pa_errors.BackendNotFoundError,
    ) as exc:
        raise InvalidArgument(f"the schema cannot be applied: {exc}", where=source) from None
    raise ContractViolation(violations, where=source)


def violations_from_failure_cases(
    failure_cases: pd.DataFrame, frame_checks: set[str] | frozenset[str] = frozenset()
) -> list[Violation]:
    """Summarise pandera's failure-case table into one :class:`Violation` per broken rule.

    Rules about the frame's shape (a missing column, an unexpected column) are reported on the
    column they name. Rules named in ``frame_checks`` (checks over whole rows) are reported with
    ``column=None`` and count failing rows rather than failing cells.
    """
    violations = []
    checks = failure_cases["check"].astype(str)
    over_rows = checks.isin(list(frame_checks))
    for check, group in failure_cases[over_rows].groupby(checks[over_rows], sort=False):
        rows = _sorted_if_possible(_distinct(group["index"], drop_missing=True))
        violations.append(Violation(None, str(check), len(rows), (), tuple(rows[:SAMPLE_SIZE])))
    per_column = failure_cases[~over_rows]
    grouped = per_column.groupby(["column", checks[~over_rows]], dropna=False, sort=False)
    for (column_key, check_key), group in grouped:
        check = str(check_key)
        values = _distinct(group["failure_case"], drop_missing=False)
        if check in ("column_in_dataframe", "column_in_schema"):
            violations.extend(Violation(str(name), check, 1, (), ()) for name in values)
            continue
        rows = _sorted_if_possible(_distinct(group["index"], drop_missing=True))
        column = None if pd.isna(column_key) else str(column_key)
        violations.append(
            Violation(
                column, check, len(group), tuple(values[:SAMPLE_SIZE]), tuple(rows[:SAMPLE_SIZE])
            )
        )
    return sorted(violations, key=lambda v: (v.column is None, v.column or "", v.check))


def _employment_within_working_life(frame: pd.DataFrame) -> pd.Series | bool:
    """``employment_years <= age - 16`` per row; missing values and columns are other rules."""
    if "employment_years" not in frame or "age" not in frame:
        return True
    employment = frame["employment_years"]
    return employment.isna() | (employment <= frame["age"] - MIN_WORKING_AGE)


def _violation_from_schema_error(exc: Exception) -> Violation:
    check = getattr(exc, "check", None)
    check_name = getattr(check, "name", None) or str(check or "schema")
    column = getattr(getattr(exc, "schema", None), "name", None)
    failure_cases = getattr(exc, "failure_cases", None)
    values: list[object] = []
    if isinstance(failure_cases, pd.DataFrame) and "failure_case" in failure_cases:
        values = _distinct(failure_cases["failure_case"], drop_missing=False)
    return Violation(
        None if column is None else str(column),
        check_name,
        max(len(values), 1),
        tuple(values[:SAMPLE_SIZE]),
        (),
    )


def _distinct(series: pd.Series, *, drop_missing: bool) -> list[object]:
    """Distinct values in order of appearance, as plain Python values (NaN becomes ``None``)."""
    seen: dict[object, None] = {}
    for value in series.tolist():
        plain = _plain(value)
        if plain is None and drop_missing:
            continue
        seen.setdefault(_hashable(plain), None)
    return list(seen)


def _sorted_if_possible(values: list[object]) -> list[object]:
    try:
        return sorted(values)  # type: ignore[type-var]
    except TypeError:
        return values


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT or value is pd.NA:
        return None
    return value


def _hashable(value: object) -> object:
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value
