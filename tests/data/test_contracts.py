"""Data contracts: the reference data passes, drifted or malformed data fails with the facts."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pandera.pandas as pa
import pytest

from iml4e.data import (
    TARGET,
    ContractViolation,
    InvalidArgument,
    Violation,
    credit_application_schema,
    credit_applications,
    validate_frame,
)
from iml4e.data.contracts import WORKING_LIFE_CHECK
from iml4e.errors import CheckFailed


def _violation(error: ContractViolation, column: str | None, check_prefix: str) -> Violation:
    matches = [
        v for v in error.violations if v.column == column and v.check.startswith(check_prefix)
    ]
    assert len(matches) == 1, error.violations
    return matches[0]


def _violations_of(frame: pd.DataFrame, **schema_options: bool) -> ContractViolation:
    with pytest.raises(ContractViolation) as raised:
        validate_frame(frame, credit_application_schema(**schema_options), source="test-frame")
    return raised.value


def test_reference_data_passes_and_comes_back_unchanged() -> None:
    frame = credit_applications(5_000, seed=9)
    validated = validate_frame(frame, credit_application_schema(), source="reference")
    pd.testing.assert_frame_equal(validated, frame)


def test_serving_inputs_may_leave_out_the_label() -> None:
    frame = credit_applications(500, seed=9)
    schema = credit_application_schema(with_target=False)
    validate_frame(frame.drop(columns=[TARGET]), schema, source="request")
    validate_frame(frame, schema, source="request-with-label")
    error = _violations_of(frame.drop(columns=[TARGET]))
    assert [(v.column, v.check) for v in error.violations] == [(TARGET, "column_in_dataframe")]
    assert "column 'default' is missing" in str(error)


def test_drifted_data_violates_the_contract_on_the_drifted_columns() -> None:
    frame = credit_applications(4_000, seed=9, drift=1.0)
    error = _violations_of(frame)
    assert isinstance(error, CheckFailed)
    assert error.where == "test-frame"
    assert {(v.column, v.check.split("(")[0]) for v in error.violations} == {
        ("income", "not_nullable"),
        ("employment_years", "not_nullable"),
        ("debt_ratio", "not_nullable"),
        ("purpose", "isin"),
    }
    for column in ("income", "employment_years", "debt_ratio"):
        nulls = _violation(error, column, "not_nullable")
        assert nulls.failure_count == frame[column].isna().sum() > 0
        assert set(nulls.sample_rows) <= set(frame.index[frame[column].isna()])
        assert nulls.sample_values == (None,)
    crypto = _violation(error, "purpose", "isin")
    assert crypto.sample_values == ("crypto",)
    assert crypto.failure_count == (frame["purpose"] == "crypto").sum()
    assert crypto.sample_rows == tuple(frame.index[frame["purpose"] == "crypto"][:5])
    message = str(error)
    assert message.startswith("test-frame: 4 data contract violations")
    assert "'crypto'" in message and "not_nullable" in message


def test_mild_drift_without_the_new_category_fails_only_on_missing_values() -> None:
    error = _violations_of(credit_applications(4_000, seed=9, drift=0.3))
    assert {v.check for v in error.violations} == {"not_nullable"}


def test_out_of_range_values_and_wrong_dtypes_are_reported_with_their_rows() -> None:
    frame = credit_applications(200, seed=9)
    frame.loc[17, "age"] = 17
    frame.loc[40, TARGET] = 2
    frame.loc[41, "sex"] = "unknown"
    frame["loan_duration_months"] = frame["loan_duration_months"].astype("float64")
    error = _violations_of(frame)
    age = _violation(error, "age", "in_range")
    assert (age.failure_count, age.sample_values, age.sample_rows) == (1, (17,), (17,))
    assert _violation(error, TARGET, "isin").sample_rows == (40,)
    assert _violation(error, "sex", "isin").sample_values == ("unknown",)
    dtype = _violation(error, "loan_duration_months", "dtype")
    assert dtype.sample_values == ("float64",)


def test_employment_longer_than_working_life_is_one_frame_level_violation() -> None:
    frame = credit_applications(200, seed=9)
    frame.loc[5, ["age", "employment_years"]] = [30, 20.0]
    error = _violations_of(frame)
    assert error.violations == (Violation(None, WORKING_LIFE_CHECK, 1, (), (5,)),)
    assert "the frame fails employment_years_within_working_life" in str(error)


def test_unexpected_and_missing_columns_are_named() -> None:
    frame = credit_applications(50).drop(columns=["income"]).assign(note="x")
    error = _violations_of(frame)
    assert {(v.column, v.check) for v in error.violations} == {
        ("income", "column_in_dataframe"),
        ("note", "column_in_schema"),
    }


def test_pandera_errors_never_escape() -> None:
    def explode(series: pd.Series) -> pd.Series:
        raise RuntimeError("check crashed")

    schema = pa.DataFrameSchema({"a": pa.Column(int, pa.Check(explode, name="explodes"))})
    with pytest.raises(ContractViolation) as raised:
        validate_frame(pd.DataFrame({"a": [1, 2]}), schema, source="custom")
    assert [v.check for v in raised.value.violations] == ["explodes"]
    with pytest.raises(InvalidArgument):
        validate_frame([1, 2], schema, source="custom")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        validate_frame(pd.DataFrame({"a": [1]}), schema, source=" ")


def test_importing_the_data_room_does_not_import_pandera_or_sklearn() -> None:
    code = (
        "import sys, iml4e.data\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'pandera', 'sklearn'})\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == ""


def test_wine_contract_holds_on_the_bundled_data_and_catches_bad_values() -> None:
    from iml4e.data import ContractViolation, validate_frame, wine, wine_schema

    frame = wine()
    validate_frame(frame, wine_schema(), source="wine")
    broken = frame.assign(alcohol=-frame["alcohol"])
    broken.loc[3, "target"] = 7
    with pytest.raises(ContractViolation) as raised:
        validate_frame(broken, wine_schema(), source="wine")
    assert {v.column for v in raised.value.violations} >= {"alcohol", "target"}
    validate_frame(frame.drop(columns=["target"]), wine_schema(with_target=False), source="x")
