"""Ingest through connectors into the catalog: profile, contract, snapshot; nothing partial."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from iml4e.config import Settings
from iml4e.data import ContractViolation, credit_applications
from iml4e.data.catalog import list_dataset_versions, read_dataset_version
from iml4e.data.contract_files import contract_from_yaml, infer_contract, save_contract
from iml4e.data.contracts import validate_frame
from iml4e.data.diff import diff_dataset_versions
from iml4e.data.errors import DatasetNotFound, DataSourceError
from iml4e.data.ingest import ingest_dataset, load_data
from iml4e.store import Store


def test_ingest_keeps_profile_contract_and_an_exact_snapshot(
    backend_settings: Settings, store: Store, tmp_path: Path
) -> None:
    frame = credit_applications(2000, seed=3)
    path = tmp_path / "applications.csv"
    frame.to_csv(path, index=False)
    info = ingest_dataset(backend_settings, store, str(path), name="applications", target="default")
    assert info.version == 1
    assert info.n_rows == 2000
    assert info.profile is not None and info.profile["n_rows"] == 2000
    assert info.profile["target"] == "default"
    assert info.snapshot_uri is not None and info.content_hash in info.snapshot_uri
    snapshot = read_dataset_version(info)
    pd.testing.assert_frame_equal(snapshot, pd.read_csv(path))
    contract = contract_from_yaml(info.contract or "", where="stored")
    validate_frame(frame.drop(columns=["default"]), contract, source="serving-like")

    again = ingest_dataset(backend_settings, store, str(path), name="applications")
    assert again.version == 1  # same content, same version

    credit_applications(2000, seed=3, drift=1.0).to_csv(path, index=False)
    drifted = ingest_dataset(backend_settings, store, str(path), name="applications")
    assert drifted.version == 2
    diff = diff_dataset_versions(info, drifted)
    shifted = {shift.column for shift in diff.shifts if shift.shifted}
    assert {"income", "debt_ratio", "purpose", "default"} <= shifted
    purpose = next(shift for shift in diff.shifts if shift.column == "purpose")
    assert "crypto" in purpose.new_categories
    assert diff.schema_changes == []


def test_a_contract_violation_or_a_bad_source_leaves_no_version(
    backend_settings: Settings, store: Store, tmp_path: Path
) -> None:
    contract = save_contract(
        infer_contract(credit_applications(1000, seed=1)), tmp_path / "contract.yaml"
    )
    drifted = tmp_path / "drifted.csv"
    credit_applications(1000, seed=2, drift=1.0).to_csv(drifted, index=False)
    with pytest.raises(ContractViolation):
        ingest_dataset(backend_settings, store, str(drifted), name="guarded", contract=contract)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataSourceError):
        ingest_dataset(backend_settings, store, str(empty), name="guarded")
    with pytest.raises(DatasetNotFound):
        list_dataset_versions(store, "guarded")


def test_load_data_reads_catalog_references_and_sources(
    backend_settings: Settings, store: Store
) -> None:
    ingest_dataset(backend_settings, store, "builtin:wine", name="wine")
    by_reference = load_data(store, "wine@1")
    assert by_reference.version is not None and by_reference.label == "wine@1"
    by_source = load_data(store, "builtin:wine")
    assert by_source.version is None
    pd.testing.assert_frame_equal(by_reference.frame, by_source.frame)
    with pytest.raises(DatasetNotFound):
        load_data(store, "wine@7")
