"""The dataset catalog: named datasets with numbered, content-hashed versions in the store.

A version records what a frame was (rows, columns and dtypes, a content hash), where it came
from, and optionally its profile, its contract and an immutable Parquet snapshot of the data
(:mod:`iml4e.data.snapshots`). Registering the same content twice in a row returns the existing
version, so pipelines can register their inputs on every run. Versions are never changed.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from iml4e.audit import record_audit
from iml4e.data.errors import DatasetNotFound, InvalidArgument
from iml4e.data.snapshots import SnapshotStore
from iml4e.store import Store, StoreError
from iml4e.store.models import Dataset, DatasetVersion

MAX_NAME_LENGTH = 200
_NAME_PATTERN = re.compile(r"[A-Za-z0-9._-]+")
# Each failed attempt means another writer committed a version, so a handful of concurrent
# writers all get through well within this bound.
MAX_REGISTER_ATTEMPTS = 50
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6


@dataclass(frozen=True)
class DatasetVersionInfo:
    """One registered version of a dataset, as recorded in the catalog.

    ``columns`` maps each column name to its pandas dtype string, in the frame's column order.
    ``created_at`` is timezone-aware UTC.
    """

    id: int
    name: str
    version: int
    content_hash: str
    n_rows: int
    n_columns: int
    source: str
    columns: dict[str, str] = field(hash=False)
    created_at: datetime
    profile: dict[str, Any] | None = field(default=None, hash=False, repr=False)
    contract: str | None = field(default=None, repr=False)
    snapshot_uri: str | None = None


def content_hash(frame: pd.DataFrame) -> str:
    """SHA-256 (hex) of a frame's column names, dtypes and values.

    The values are hashed row by row with ``pandas.util.hash_pandas_object(frame, index=False)``
    and the row hashes are fed in order, so **row order matters** (a shuffled frame is new
    content) while **the index does not** (``reset_index(drop=True)`` keeps the hash). Column
    order matters too, and so do dtypes (``int64`` 1 and ``float64`` 1.0 differ).
    """
    _check_frame(frame)
    digest = hashlib.sha256()
    header = [[str(name), str(dtype)] for name, dtype in frame.dtypes.items()]
    digest.update(json.dumps(header, ensure_ascii=False).encode())
    digest.update(len(frame).to_bytes(8, "little"))
    if len(frame.columns) > 0:
        try:
            row_hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype="uint64")
        except TypeError as exc:
            raise InvalidArgument(
                f"cannot hash the frame's values ({exc})", where="frame"
            ) from None
        digest.update(row_hashes.astype("<u8").tobytes())
    return digest.hexdigest()


def register_dataset_version(
    store: Store,
    name: str,
    frame: pd.DataFrame,
    *,
    source: str,
    description: str = "",
    profile: dict[str, Any] | None = None,
    contract: str | None = None,
    snapshots: SnapshotStore | None = None,
    actor: str = "iml4e",
) -> DatasetVersionInfo:
    """Record ``frame`` as the next version of dataset ``name`` and return that version.

    Versions count 1, 2, 3… per name. If the newest version already has this content hash
    (see :func:`content_hash`), that version is returned and nothing is written, so
    registering is idempotent; content equal to an *older* version becomes a new version.
    ``source`` says where the frame came from (a path, a URI, a query, a generator call);
    ``description`` is kept on the dataset when it is first created.

    ``profile`` (a :class:`~iml4e.data.profile.DatasetProfile` as a dict) and ``contract``
    (contract YAML) are kept with a new version; with ``snapshots`` the data itself is stored
    as Parquet before the version is recorded, so a version never points at missing data.

    Safe to call from several processes at once: the store's unique constraint on
    (dataset, version) rejects a duplicate number and the loser retries with the next one.
    A new version is recorded in the audit trail as ``data.register`` by ``actor``.
    Raises :class:`~iml4e.data.errors.InvalidArgument` for a bad name, source or frame.
    """
    name = check_dataset_name(name)
    if not isinstance(source, str) or not source.strip():
        raise InvalidArgument("must say where the frame comes from", where="source")
    if not isinstance(description, str):
        raise InvalidArgument("must be a string", where="description")
    digest = content_hash(frame)
    columns = {str(column): str(dtype) for column, dtype in frame.dtypes.items()}
    newest = _newest_version(store, name)
    if newest is not None and newest.content_hash == digest:
        return newest
    snapshot_uri = None if snapshots is None else snapshots.write(name, digest, frame)
    for attempt in range(MAX_REGISTER_ATTEMPTS):
        try:
            info, created = _register_once(
                store,
                name,
                digest,
                n_rows=len(frame),
                n_columns=len(frame.columns),
                columns=columns,
                source=source,
                description=description,
                extras={"profile": profile, "contract": contract, "snapshot_uri": snapshot_uri},
            )
        except IntegrityError:
            pass  # another writer took the version number (or created the dataset) first
        except OperationalError as exc:
            if not _sqlite_busy(exc):
                raise
        else:
            if created:
                record_audit(
                    store,
                    actor=actor,
                    action="data.register",
                    target=f"dataset:{name}@{info.version}",
                    detail={"content_hash": digest, "rows": info.n_rows, "source": source},
                )
            return info
        time.sleep(random.uniform(0, 0.01 * (attempt + 1)))
    raise StoreError(
        f"gave up registering after {MAX_REGISTER_ATTEMPTS} attempts: other writers kept "
        "taking the next version number",
        where=name,
    )


def get_dataset_version(store: Store, name: str, version: int | None = None) -> DatasetVersionInfo:
    """Version ``version`` of dataset ``name``, or its newest version when ``version`` is None.

    Raises :class:`~iml4e.data.errors.DatasetNotFound` when the dataset or the version does
    not exist, and :class:`~iml4e.data.errors.InvalidArgument` for a bad name or version.
    """
    name = check_dataset_name(name)
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, int) or version < 1
    ):
        raise InvalidArgument(f"must be a whole number >= 1, got {version!r}", where="version")
    with store.session() as session:
        dataset = session.scalar(select(Dataset).where(Dataset.name == name))
        if dataset is None:
            raise DatasetNotFound(f"no dataset named {name!r}", where=name)
        query = select(DatasetVersion).where(DatasetVersion.dataset_id == dataset.id)
        if version is None:
            row = session.scalar(query.order_by(DatasetVersion.version.desc()).limit(1))
        else:
            row = session.scalar(query.where(DatasetVersion.version == version))
        if row is None:
            wanted = "any version" if version is None else f"version {version}"
            raise DatasetNotFound(f"dataset {name!r} has no {wanted}", where=name)
        return _info(row, name)


def list_dataset_versions(store: Store, name: str | None = None) -> list[DatasetVersionInfo]:
    """Every version of dataset ``name`` (or of all datasets), by name and then version.

    Raises :class:`~iml4e.data.errors.DatasetNotFound` when ``name`` is given and no dataset
    has it, so a typo is not mistaken for an empty dataset.
    """
    query = (
        select(DatasetVersion, Dataset.name)
        .join(Dataset, DatasetVersion.dataset_id == Dataset.id)
        .order_by(Dataset.name, DatasetVersion.version)
    )
    with store.session() as session:
        if name is not None:
            name = check_dataset_name(name)
            if session.scalar(select(Dataset.id).where(Dataset.name == name)) is None:
                raise DatasetNotFound(f"no dataset named {name!r}", where=name)
            query = query.where(Dataset.name == name)
        return [_info(row, dataset_name) for row, dataset_name in session.execute(query)]


@dataclass(frozen=True)
class DatasetListing:
    """A page of datasets, each with its versions newest first (profiles and contracts left out).

    ``total`` counts every dataset in the catalog, not only those on this page.
    """

    total: int
    datasets: list[tuple[str, list[DatasetVersionInfo]]]


def list_datasets_page(store: Store, *, offset: int = 0, limit: int = 50) -> DatasetListing:
    """Datasets ``offset`` to ``offset + limit``, the most recently versioned first.

    Only the datasets of the page are read, and without their profiles and contracts, so a
    catalog of many datasets lists quickly. Raises
    :class:`~iml4e.data.errors.InvalidArgument` for a negative offset or a limit below 1.
    """
    for value, lowest, where in ((offset, 0, "offset"), (limit, 1, "limit")):
        if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
            raise InvalidArgument(f"must be a whole number >= {lowest}", where=where)
    newest = func.max(DatasetVersion.created_at).label("newest")
    ranked = (
        select(Dataset.id, Dataset.name, newest)
        .join(DatasetVersion, DatasetVersion.dataset_id == Dataset.id)
        .group_by(Dataset.id, Dataset.name)
        .order_by(newest.desc(), Dataset.name)
        .offset(offset)
        .limit(limit)
    )
    light = [c for c in DatasetVersion.__table__.columns if c.name not in ("profile", "contract")]
    with store.session() as session:
        total = session.scalar(select(func.count()).select_from(Dataset)) or 0
        page = [(row.id, row.name) for row in session.execute(ranked)]
        rows = session.execute(
            select(*light)
            .where(DatasetVersion.dataset_id.in_([dataset_id for dataset_id, _ in page]))
            .order_by(DatasetVersion.version.desc())
        ).all()
    by_dataset: dict[int, list[DatasetVersionInfo]] = {dataset_id: [] for dataset_id, _ in page}
    names = dict(page)
    for row in rows:
        by_dataset[row.dataset_id].append(_info(row, names[row.dataset_id]))
    return DatasetListing(total, [(name, by_dataset[dataset_id]) for dataset_id, name in page])


def dataset_version_numbers(store: Store, name: str) -> list[int]:
    """The version numbers of dataset ``name``, newest first (nothing else is read).

    Raises :class:`~iml4e.data.errors.DatasetNotFound` when no dataset has that name.
    """
    name = check_dataset_name(name)
    with store.session() as session:
        dataset_id = session.scalar(select(Dataset.id).where(Dataset.name == name))
        if dataset_id is None:
            raise DatasetNotFound(f"no dataset named {name!r}", where=name)
        query = (
            select(DatasetVersion.version)
            .where(DatasetVersion.dataset_id == dataset_id)
            .order_by(DatasetVersion.version.desc())
        )
        return list(session.scalars(query))


def dataset_versions_by_id(store: Store, ids: Iterable[int]) -> dict[int, DatasetVersionInfo]:
    """The versions with these catalog ids (unknown ids are left out), keyed by id."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    query = (
        select(DatasetVersion, Dataset.name)
        .join(Dataset, DatasetVersion.dataset_id == Dataset.id)
        .where(DatasetVersion.id.in_(wanted))
    )
    with store.session() as session:
        return {row.id: _info(row, name) for row, name in session.execute(query)}


def read_dataset_version(info: DatasetVersionInfo) -> pd.DataFrame:
    """The data of a version, read back from its snapshot exactly as it was registered."""
    if info.snapshot_uri is None:
        raise InvalidArgument(
            f"{info.name}@{info.version} was registered without a snapshot of its data; "
            f"its source was {info.source}",
            where=f"{info.name}@{info.version}",
        )
    return SnapshotStore.read_uri(info.snapshot_uri)


def _newest_version(store: Store, name: str) -> DatasetVersionInfo | None:
    try:
        return get_dataset_version(store, name)
    except DatasetNotFound:
        return None


def check_dataset_name(name: str) -> str:
    """``name`` if it is a valid dataset name: 1-200 of ``A-Z a-z 0-9 . _ -``.

    Raises :class:`~iml4e.data.errors.InvalidArgument` saying what is wrong otherwise.
    """
    if not isinstance(name, str):
        raise InvalidArgument(f"must be a string, got {type(name).__name__}", where="name")
    if not name:
        raise InvalidArgument("must not be empty", where="name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidArgument(
            f"is {len(name)} characters long; at most {MAX_NAME_LENGTH} are allowed", where="name"
        )
    if not _NAME_PATTERN.fullmatch(name):
        raise InvalidArgument(
            f"{name!r} may only contain letters, digits, '.', '_' and '-'", where="name"
        )
    return name


def _register_once(
    store: Store,
    name: str,
    digest: str,
    *,
    n_rows: int,
    n_columns: int,
    columns: dict[str, str],
    source: str,
    description: str,
    extras: dict[str, Any],
) -> tuple[DatasetVersionInfo, bool]:
    """Record the next version in one transaction: (the version, whether it was created)."""
    with store.session() as session:
        dataset = session.scalar(select(Dataset).where(Dataset.name == name))
        if dataset is None:
            dataset = Dataset(name=name, description=description)
            session.add(dataset)
            session.flush()
        newest = session.scalar(
            select(DatasetVersion)
            .where(DatasetVersion.dataset_id == dataset.id)
            .order_by(DatasetVersion.version.desc())
            .limit(1)
        )
        if newest is not None and newest.content_hash == digest:
            return _info(newest, name), False
        row = DatasetVersion(
            dataset_id=dataset.id,
            version=1 if newest is None else newest.version + 1,
            content_hash=digest,
            n_rows=n_rows,
            n_columns=n_columns,
            source=source,
            columns=columns,
            **extras,
        )
        session.add(row)
        session.flush()
        info = _info(row, name)
    return info, True


def _sqlite_busy(exc: OperationalError) -> bool:
    """Whether SQLite refused a write because another connection wrote since this one read."""
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)


def _info(row: Any, name: str) -> DatasetVersionInfo:
    """A version as the other rooms see it, from a ``DatasetVersion`` or a row of its columns
    (a row selected without ``profile`` and ``contract`` leaves them ``None``)."""
    created_at = row.created_at
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    return DatasetVersionInfo(
        id=row.id,
        name=name,
        version=row.version,
        content_hash=row.content_hash,
        n_rows=row.n_rows,
        n_columns=row.n_columns,
        source=row.source,
        columns=dict(row.columns),
        created_at=created_at,
        profile=getattr(row, "profile", None),
        contract=getattr(row, "contract", None),
        snapshot_uri=row.snapshot_uri,
    )


def _check_frame(frame: pd.DataFrame) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise InvalidArgument(
            f"expected a pandas DataFrame, got {type(frame).__name__}", where="frame"
        )
    names = pd.Index([str(column) for column in frame.columns])
    if names.has_duplicates:
        duplicated = sorted(set(names[names.duplicated()]))
        raise InvalidArgument(f"duplicate column names: {', '.join(duplicated)}", where="frame")
