"""What the dataset pages of the web UI show, read from the data room (no HTML here).

:func:`datasets_page` lists the catalog a page at a time; :func:`dataset_page` shows one version:
its facts, its contract's columns, quality figures, a card per profiled column (charts are
:class:`~iml4e.data.profile_html.Chart` geometry that :mod:`iml4e.server.ui_charts` draws) and,
when asked, its diff against another version (:func:`iml4e.data.diff.diff_catalog_versions`, as
``iml4e data diff`` and ``GET /api/datasets/{name}/diff`` compute it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from iml4e.data.catalog import (
    DatasetVersionInfo,
    dataset_version_numbers,
    get_dataset_version,
    list_datasets_page,
    read_dataset_version,
)
from iml4e.data.diff import DatasetDiff, diff_catalog_versions
from iml4e.data.errors import InvalidArgument
from iml4e.data.profile import DatasetProfile, profile_frame
from iml4e.data.profile_html import DASH, Card, column_card, format_number
from iml4e.store import Store

PER_PAGE = 50
HASH_CHARS = 12
MAX_CHECK_CHARS = 120
MAX_USES = 40
MAX_NUMBER = 1_000_000_000
"""The largest page or version number read from a URL (larger ones are refused, not looked up)."""
_PLAIN_KEYS = {"dtype", "nullable", "required", "title", "description", "coerce", "unique"}


@dataclass(frozen=True)
class VersionRow:
    """One version in the catalog list."""

    version: int
    rows: int
    columns: int
    hash: str
    source: str
    created: str


@dataclass(frozen=True)
class DatasetRow:
    """A dataset with its versions, newest first."""

    name: str
    versions: list[VersionRow]


@dataclass(frozen=True)
class SchemaRow:
    """A column as the catalog and the contract describe it, with its missing rate."""

    name: str
    dtype: str
    kind: str
    missing: str
    nullable: str
    checks: str


@dataclass(frozen=True)
class ShiftRow:
    """How one column moved between the two versions compared."""

    column: str
    kind: str
    psi: str
    ks: str
    missing: str
    mean: str
    new_categories: str
    vanished_categories: str
    shifted: bool


@dataclass(frozen=True)
class Use:
    """A pipeline run or a model version downstream of a dataset version (``path`` under /ui)."""

    kind: str
    label: str
    path: str


@dataclass(frozen=True)
class Comparison:
    """The diff of two versions as the page shows it (older ``before``, newer ``after``)."""

    diff: DatasetDiff
    rows_change: str
    shifts: list[ShiftRow]


def page_number(text: str | None) -> int:
    """The ``?page=`` value as a page number from 1 (``InvalidArgument`` otherwise)."""
    return _whole(text, where="page", default=1)


def version_number(text: str | None, *, where: str = "version") -> int | None:
    """A version typed in a URL (``None`` when empty); ``InvalidArgument`` if not from 1 up."""
    return None if not text else _whole(text, where=where, default=0)


def datasets_page(store: Store, page: int = 1, *, per_page: int = PER_PAGE) -> dict[str, Any]:
    """The catalog's datasets ``per_page`` at a time, the most recently versioned first."""
    listing = list_datasets_page(store, offset=(page - 1) * per_page, limit=per_page)
    pages = max(1, math.ceil(listing.total / per_page))
    return {
        "datasets": [
            DatasetRow(name, [_version_row(info) for info in versions])
            for name, versions in listing.datasets
        ],
        "page": page,
        "pages": pages,
        "total": listing.total,
        "per_page": per_page,
    }


def dataset_page(
    store: Store, name: str, version: int | None = None, *, compare: int | None = None
) -> dict[str, Any]:
    """One version of ``name`` (the newest when ``version`` is None), compared if asked.

    Raises :class:`~iml4e.data.errors.DatasetNotFound` for an unknown dataset or version.
    """
    info = get_dataset_version(store, name, version)
    versions = dataset_version_numbers(store, name)
    profile, profile_origin = _profile_of(info)
    comparison = None
    if compare is not None:
        older, newer = sorted((info.version, compare))
        comparison = _comparison(store, name, older, newer)
    return {
        "info": info,
        "newest": versions[0],
        "versions": versions,
        "facts": _facts(info, profile),
        "schema": _schema(info, profile),
        "cards": []
        if profile is None
        else [column_card(i, column) for i, column in enumerate(profile.columns.values())],
        "profile_origin": profile_origin,
        "contract": info.contract,
        "compare": compare,
        "comparison": comparison,
        "used_by": used_by(store, info),
    }


def used_by(store: Store, info: DatasetVersionInfo) -> list[Use]:
    """Pipeline runs and model versions downstream of ``info`` in the lineage graph."""
    from iml4e.pipelines.lineage import UnknownLineageTarget, trace_lineage

    try:
        graph = trace_lineage(store, f"dataset:{info.name}@{info.version}", direction="downstream")
    except UnknownLineageTarget:
        return []
    runs: dict[str, Use] = {}
    models: list[Use] = []
    for node in graph.nodes.values():
        if node.kind == "step" and node.details.get("pipeline_run_id"):
            run_id = str(node.details["pipeline_run_id"])
            pipeline = node.details.get("pipeline") or "pipeline"
            runs.setdefault(
                run_id, Use("pipeline run", f"{pipeline} {run_id[:8]}", f"/pipelines/{run_id}")
            )
        elif node.kind == "model":
            name, _, version = node.label.rpartition("@")
            path = f"/models/{quote(name, safe='')}/versions/{version}"
            models.append(Use("model version", node.label, path))
    return [*runs.values(), *models][:MAX_USES]


def chart_count(cards: list[Card]) -> int:
    """How many of the cards have a chart."""
    return sum(card.chart is not None for card in cards)


# --- parts ----------------------------------------------------------------------------------


def _version_row(info: DatasetVersionInfo) -> VersionRow:
    return VersionRow(
        version=info.version,
        rows=info.n_rows,
        columns=info.n_columns,
        hash=info.content_hash[:HASH_CHARS],
        source=info.source,
        created=info.created_at.isoformat(timespec="seconds"),
    )


def _profile_of(info: DatasetVersionInfo) -> tuple[DatasetProfile | None, str]:
    """The stored profile; without one, a profile of the snapshot (said so on the page)."""
    if info.profile is not None:
        return DatasetProfile.from_dict(info.profile), "stored"
    if info.snapshot_uri is not None:
        return profile_frame(read_dataset_version(info)), "computed from the snapshot"
    return None, "none"


def _facts(info: DatasetVersionInfo, profile: DatasetProfile | None) -> list[tuple[str, str]]:
    facts = [
        ("Version", str(info.version)),
        ("Content hash", info.content_hash),
        ("Rows", f"{info.n_rows:,}"),
        ("Columns", f"{info.n_columns:,}"),
        ("Source", info.source),
        ("Created (UTC)", info.created_at.isoformat(timespec="seconds")),
        ("Snapshot", info.snapshot_uri or "none kept"),
        ("Contract", "stored" if info.contract else "none"),
    ]
    if profile is not None:
        cells = profile.n_rows * profile.n_columns
        facts += [
            ("Missing cells", _share(profile.missing_cells, cells)),
            ("Duplicate rows", _share(profile.duplicate_rows, profile.n_rows)),
            ("Target", profile.target or "none named"),
        ]
        if profile.target_balance:
            balance = sorted(profile.target_balance.items(), key=lambda item: -item[1])
            facts.append(("Target balance", ", ".join(f"{k}: {v:.1%}" for k, v in balance)))
    return facts


def _schema(info: DatasetVersionInfo, profile: DatasetProfile | None) -> list[SchemaRow]:
    contract = _contract_columns(info.contract)
    rows = []
    for name, dtype in info.columns.items():
        column = None if profile is None else profile.columns.get(name)
        rule = contract.get(name)
        rows.append(
            SchemaRow(
                name=name,
                dtype=dtype,
                kind=DASH if column is None else column.kind,
                missing=DASH
                if column is None
                else _share(column.missing, column.missing + column.count),
                nullable=DASH if rule is None else ("yes" if rule.get("nullable") else "no"),
                checks=DASH if rule is None else _checks(rule),
            )
        )
    return rows


def _contract_columns(contract: str | None) -> dict[str, dict[str, Any]]:
    """The contract's columns (pandera YAML) as plain rules; nothing if it cannot be read."""
    if not contract:
        return {}
    import yaml

    try:
        data = yaml.safe_load(contract)
    except yaml.YAMLError:
        return {}
    columns = data.get("columns") if isinstance(data, dict) else None
    if not isinstance(columns, dict):
        return {}
    return {str(k): v if isinstance(v, dict) else {} for k, v in columns.items()}


def _checks(rule: dict[str, Any]) -> str:
    parts = []
    for key, value in rule.items():
        if key in _PLAIN_KEYS or value is None:
            continue
        if key == "in_range" and isinstance(value, dict):
            parts.append(f"in [{value.get('min_value')}, {value.get('max_value')}]")
        elif key == "isin" and isinstance(value, list):
            parts.append("one of " + ", ".join(str(v) for v in value))
        else:
            parts.append(f"{key}: {value}")
    if rule.get("required") is False:
        parts.append("optional")
    text = "; ".join(parts) or DASH
    return text if len(text) <= MAX_CHECK_CHARS else text[: MAX_CHECK_CHARS - 1] + "…"


def _comparison(store: Store, name: str, before: int, after: int) -> Comparison:
    diff = diff_catalog_versions(store, name, before, after)
    means = {
        version: _means(get_dataset_version(store, name, version)) for version in (before, after)
    }
    change = diff.rows_after - diff.rows_before
    shifts = [
        ShiftRow(
            column=shift.column,
            kind=shift.kind,
            psi=f"{shift.psi:.3f}",
            ks=DASH if shift.ks is None else f"{shift.ks:.3f}",
            missing=f"{shift.missing_before:.1%} → {shift.missing_after:.1%}",
            mean=_pair(means[before].get(shift.column), means[after].get(shift.column)),
            new_categories=", ".join(shift.new_categories) or DASH,
            vanished_categories=", ".join(shift.vanished_categories) or DASH,
            shifted=shift.shifted,
        )
        for shift in diff.shifts
    ]
    return Comparison(diff=diff, rows_change=f"{change:+,}", shifts=shifts)


def _means(info: DatasetVersionInfo) -> dict[str, float | None]:
    if info.profile is None:
        return {}
    profile = DatasetProfile.from_dict(info.profile)
    return {
        name: column.numeric.mean
        for name, column in profile.columns.items()
        if column.numeric is not None and column.kind == "numeric"
    }


def _pair(before: float | None, after: float | None) -> str:
    if before is None and after is None:
        return DASH
    return f"{format_number(before)} → {format_number(after)}"


def _share(part: int, whole: int) -> str:
    return f"{part:,} ({part / whole:.1%})" if whole else f"{part:,}"


def _whole(text: str | None, *, where: str, default: int) -> int:
    if text is None or text == "":
        return default
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_NUMBER:
        raise InvalidArgument(
            f"must be a whole number from 1 to {MAX_NUMBER:,}, got {text[:20]!r}", where=where
        )
    return int(text)
