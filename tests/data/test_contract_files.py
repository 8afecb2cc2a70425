"""Contracts inferred from reference data, kept as editable YAML, and applied to new data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from iml4e.data import ContractViolation, credit_applications, validate_frame
from iml4e.data.contract_files import infer_contract, load_contract, save_contract
from iml4e.data.errors import ContractFileError


def test_inferred_contract_round_trips_and_holds_on_its_reference(tmp_path: Path) -> None:
    reference = credit_applications(3000, seed=1)
    path = save_contract(infer_contract(reference, name="credit"), tmp_path / "c" / "credit.yaml")
    text = path.read_text()
    assert "purpose:" in text and "isin:" in text and "in_range:" in text
    validate_frame(reference, load_contract(path), source="reference")


def test_inferred_contract_catches_drift_unseen_categories_and_missing_values(
    tmp_path: Path,
) -> None:
    contract = infer_contract(credit_applications(3000, seed=1), name="credit")
    drifted = credit_applications(3000, seed=2, drift=1.0)
    with pytest.raises(ContractViolation) as raised:
        validate_frame(drifted, contract, source="drifted.csv")
    broken = {(v.column, v.check.split("(")[0]) for v in raised.value.violations}
    assert ("purpose", "isin") in broken  # the unseen "crypto"
    assert ("income", "not_nullable") in broken or ("debt_ratio", "not_nullable") in broken
    assert raised.value.where == "drifted.csv"


def test_optional_columns_may_be_absent_and_unknown_columns_may_not() -> None:
    reference = credit_applications(500)
    contract = infer_contract(reference, optional=("default",))
    validate_frame(reference.drop(columns=["default"]), contract, source="serving")
    with pytest.raises(ContractViolation):
        validate_frame(reference.assign(extra=1), contract, source="x")


def test_a_hand_edited_contract_is_honoured(tmp_path: Path) -> None:
    frame = pd.DataFrame({"age": [20, 30, 40], "city": ["a", "b", "a"]})
    path = save_contract(infer_contract(frame), tmp_path / "c.yaml")
    path.write_text(path.read_text().replace("max_value: 40", "max_value: 35"))
    with pytest.raises(ContractViolation) as raised:
        validate_frame(frame, load_contract(path), source="edited")
    assert raised.value.violations[0].column == "age"


@pytest.mark.parametrize(
    "text", ["columns: [unclosed", "just a string", "columns:\n  a:\n    dtype: no-such-type\n"]
)
def test_bad_contract_files_name_the_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ContractFileError) as raised:
        load_contract(path)
    assert raised.value.where == str(path)
    with pytest.raises(ContractFileError):
        load_contract(tmp_path / "missing.yaml")
