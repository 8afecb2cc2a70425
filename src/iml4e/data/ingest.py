"""Ingest: read a source through its connector, profile it, hold it to its contract, version it.

Nothing is written until the data has been read and checked, so a source that fails (an empty
file, a failing query, a truncated download) or data that breaks its contract leaves no
version behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from iml4e.config import Settings
from iml4e.data.catalog import (
    DatasetVersionInfo,
    check_dataset_name,
    get_dataset_version,
    read_dataset_version,
    register_dataset_version,
)
from iml4e.data.contract_files import contract_to_yaml, infer_contract, load_contract
from iml4e.data.contracts import validate_frame
from iml4e.data.errors import DatasetNotFound
from iml4e.data.snapshots import snapshot_store_for
from iml4e.store import Store

if TYPE_CHECKING:
    import pandera.pandas as pa

_REFERENCE = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)(?:@(?P<version>\d+))?$")


@dataclass(frozen=True)
class LoadedData:
    """A frame and where it came from: a catalog version, or a source read just now."""

    frame: pd.DataFrame
    label: str
    version: DatasetVersionInfo | None
    source: str


def ingest_dataset(
    settings: Settings,
    store: Store,
    source: str,
    *,
    name: str,
    description: str = "",
    contract: Path | pa.DataFrameSchema | None = None,
    target: str | None = None,
    **connector_options: Any,
) -> DatasetVersionInfo:
    """Read ``source`` through its connector and register it with :func:`register_frame`."""
    from iml4e.data.connectors import open_source

    name = check_dataset_name(name)
    connector = open_source(source, **connector_options)
    return register_frame(
        settings,
        store,
        connector.read(),
        name=name,
        source=connector.source,
        description=description,
        contract=contract,
        target=target,
    )


def register_frame(
    settings: Settings,
    store: Store,
    frame: pd.DataFrame,
    *,
    name: str,
    source: str,
    description: str = "",
    contract: Path | pa.DataFrameSchema | None = None,
    target: str | None = None,
) -> DatasetVersionInfo:
    """Check ``frame``, then register it as the next version of ``name``.

    With ``contract`` (a contract file, or a pandera schema in code) the data must satisfy it,
    else :class:`~iml4e.data.errors.ContractViolation` and nothing is registered. The version
    keeps a contract file: the given file's text, or one inferred from the data (for a schema
    given in code, whose custom checks YAML cannot hold), with ``target`` optional so serving
    inputs without the label pass. The profile (with ``target`` balance) and a Parquet
    snapshot are stored with the version.
    """
    from iml4e.data.profile import profile_frame

    name = check_dataset_name(name)
    contract_text = None
    if isinstance(contract, Path):
        validate_frame(frame, load_contract(contract), source=source)
        contract_text = contract.read_text(encoding="utf-8")
    elif contract is not None:
        validate_frame(frame, contract, source=source)
    if contract_text is None:
        optional = (target,) if target else ()
        contract_text = contract_to_yaml(infer_contract(frame, name=name, optional=optional))
    return register_dataset_version(
        store,
        name,
        frame,
        source=source,
        description=description,
        profile=profile_frame(frame, target=target).to_dict(),
        contract=contract_text,
        snapshots=snapshot_store_for(settings.artifact_location_uri),
        actor=settings.user,
    )


def parse_dataset_reference(text: str) -> tuple[str, int | None] | None:
    """``NAME`` or ``NAME@VERSION`` as (name, version), or None if ``text`` is not one."""
    match = _REFERENCE.match(text)
    if match is None:
        return None
    return match["name"], int(match["version"]) if match["version"] else None


def load_data(store: Store, reference_or_source: str, **connector_options: Any) -> LoadedData:
    """A catalog version (``NAME[@VERSION]``) or, failing that, a source read now.

    A string that names an existing file or folder, a URI or a glob is always a source.
    """
    from iml4e.data.connectors import open_source

    parsed = (
        None
        if _looks_like_source(reference_or_source)
        else parse_dataset_reference(reference_or_source)
    )
    if parsed is not None:
        try:
            info = get_dataset_version(store, parsed[0], parsed[1])
        except DatasetNotFound:
            if parsed[1] is not None:
                raise
        else:
            return LoadedData(
                read_dataset_version(info), f"{info.name}@{info.version}", info, info.source
            )
    connector = open_source(reference_or_source, **connector_options)
    return LoadedData(connector.read(), connector.source, None, connector.source)


def _looks_like_source(text: str) -> bool:
    return "://" in text or ":" in text or any(ch in text for ch in "*?[/\\") or Path(text).exists()
