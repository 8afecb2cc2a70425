"""Ground-truth feedback: labels joined to answered requests of a deployment's inference log.

A label belongs to one request id the deployment answered (a record of the inference log whose
role is not ``shadow``). Labels are JSON scalars, recorded once per request: a request already
labelled is refused, never overwritten, and an id given twice in one upload is refused for every
occurrence (there is no telling which of the two is right). Valid labels of an upload are
recorded in one transaction, so the store never holds half an upload.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from iml4e.monitoring.errors import FeedbackRejected
from iml4e.serving.inference_log import find_inference_records_of
from iml4e.store import Store
from iml4e.store.models import FeedbackLabel

MAX_REQUEST_ID_LENGTH = 128
MAX_NAME_LENGTH = 200
"""The longest ``source`` or ``actor`` the store keeps."""
_LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class RejectedLabel:
    """A label that was not recorded, and why."""

    request_id: str
    reason: str


@dataclass(frozen=True)
class FeedbackResult:
    """What an upload did: how many labels were recorded, which were refused."""

    recorded: int
    rejected: list[RejectedLabel] = field(default_factory=list)


def record_labels(
    store: Store,
    deployment: str,
    labels: Sequence[tuple[str, Any]],
    *,
    source: str,
    actor: str,
) -> FeedbackResult:
    """Record ``labels`` (request id, label) of ``deployment``; refuse the ones that cannot be.

    A label is refused when its request id is not an answered request of the deployment, when
    the request is already labelled, when the id occurs more than once in ``labels``, or when
    the label is not a JSON scalar (text, integer, finite number, boolean). The others are
    recorded together in one transaction. ``source`` says where the labels come from (a file,
    a system), ``actor`` who sent them. The inference log is scanned once per call, so a batch
    of thousands of labels costs one pass over the deployment's segments.
    """
    _require_text(source, "source")
    _require_text(actor, "actor")
    counts = Counter(request_id for request_id, _ in labels if isinstance(request_id, str))
    rejected: list[RejectedLabel] = []
    candidates: list[tuple[str, Any]] = []
    for request_id, label in labels:
        reason = _id_problem(request_id) or _label_problem(label)
        if reason is None and counts[request_id] > 1:
            reason = f"given {counts[request_id]} times in this upload"
        if reason is not None:
            rejected.append(RejectedLabel(str(request_id), reason))
        else:
            candidates.append((request_id, label))
    if not candidates:
        return FeedbackResult(0, rejected)
    answered = answered_request_ids(store, deployment, [r for r, _ in candidates])
    accepted = []
    for request_id, label in candidates:
        if request_id not in answered:
            rejected.append(RejectedLabel(request_id, "not an answered request of " + deployment))
        else:
            accepted.append((request_id, label))
    try:
        with store.session() as session:
            labelled = _already_labelled(session, deployment, [r for r, _ in accepted])
            rows = [
                {
                    "deployment": deployment,
                    "request_id": request_id,
                    "label": label,
                    "source": source,
                    "actor": actor,
                }
                for request_id, label in accepted
                if request_id not in labelled
            ]
            if rows:
                session.execute(insert(FeedbackLabel), rows)
    except IntegrityError:
        raise FeedbackRejected(
            "some of these requests were labelled by another upload at the same moment; "
            "nothing was recorded, send the upload again",
            where=deployment,
        ) from None
    rejected += [
        RejectedLabel(request_id, "already labelled")
        for request_id, _ in accepted
        if request_id in labelled
    ]
    return FeedbackResult(len(rows), rejected)


def answered_request_ids(store: Store, deployment: str, request_ids: Iterable[str]) -> set[str]:
    """Those of ``request_ids`` that ``deployment`` answered (shadow records do not count)."""
    found = find_inference_records_of(store, deployment, request_ids)
    return {
        request_id
        for request_id, records in found.items()
        if any(record.role != "shadow" for record in records)
    }


def read_labels(store: Store, deployment: str) -> dict[str, Any]:
    """Every recorded label of ``deployment``, by request id."""
    with store.session() as session:
        rows = session.execute(
            select(FeedbackLabel.request_id, FeedbackLabel.label).where(
                FeedbackLabel.deployment == deployment
            )
        ).all()
    return {request_id: label for request_id, label in rows}


def load_label_file(path: Path | str) -> list[tuple[str, Any]]:
    """Labels from a CSV file (columns ``request_id,label``) or JSON Lines file.

    JSON Lines (``.jsonl``, ``.ndjson``) hold one ``{"request_id": ..., "label": ...}`` object
    per line. In CSV every value is text, so a label that reads as an integer or a decimal
    number is converted to one (``1`` → ``1``, ``0.5`` → ``0.5``); other labels stay text.
    Raises :class:`FeedbackRejected` naming the file and line of the first malformed line.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".jsonl", ".ndjson"}:
        raise FeedbackRejected(
            "label files are .csv (request_id,label) or .jsonl/.ndjson", where=str(path)
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FeedbackRejected("no such file", where=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FeedbackRejected(f"cannot be read ({exc})", where=str(path)) from None
    lines = text.splitlines()
    labels = _csv_labels(path, lines) if suffix == ".csv" else _jsonl_labels(path, lines)
    if not labels:
        raise FeedbackRejected("holds no labels", where=str(path))
    return labels


def _csv_labels(path: Path, lines: list[str]) -> list[tuple[str, Any]]:
    reader = csv.DictReader(lines)
    header = reader.fieldnames or []
    missing = [name for name in ("request_id", "label") if name not in header]
    if missing:
        raise FeedbackRejected(
            f"the header needs the columns request_id,label (missing {', '.join(missing)})",
            where=f"{path}:1",
        )
    labels = []
    for row in reader:
        where = f"{path}:{reader.line_num}"
        if None in row or None in row.values():
            raise FeedbackRejected(f"expected {len(header)} fields", where=where)
        request_id, label = row["request_id"].strip(), row["label"].strip()
        if not request_id or not label:
            raise FeedbackRejected("request_id and label must not be empty", where=where)
        labels.append((request_id, _number_or_text(label)))
    return labels


def _jsonl_labels(path: Path, lines: Iterable[str]) -> list[tuple[str, Any]]:
    labels = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise FeedbackRejected(f"not valid JSON ({exc})", where=where) from None
        if not isinstance(item, dict) or "request_id" not in item or "label" not in item:
            raise FeedbackRejected(
                'expected an object {"request_id": ..., "label": ...}', where=where
            )
        if not isinstance(item["request_id"], str):
            raise FeedbackRejected("request_id must be text", where=where)
        labels.append((item["request_id"], item["label"]))
    return labels


def _number_or_text(value: str) -> Any:
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


def _id_problem(request_id: Any) -> str | None:
    if not isinstance(request_id, str) or not request_id:
        return "the request id must be non-empty text"
    if len(request_id) > MAX_REQUEST_ID_LENGTH or not request_id.isprintable():
        return f"not a request id (printable text of at most {MAX_REQUEST_ID_LENGTH} characters)"
    return None


def _label_problem(label: Any) -> str | None:
    if isinstance(label, bool | int | str):
        return None
    if isinstance(label, float):
        return None if math.isfinite(label) else f"the label is {label}, not a finite number"
    return f"the label must be text, a number or a boolean (got {type(label).__name__})"


def _require_text(value: Any, name: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise FeedbackRejected("required, as non-empty text", where=name)
    if len(value) > MAX_NAME_LENGTH:
        raise FeedbackRejected(f"longer than {MAX_NAME_LENGTH} characters", where=name)


def _already_labelled(session: Session, deployment: str, request_ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(request_ids), _LOOKUP_CHUNK):
        chunk = request_ids[start : start + _LOOKUP_CHUNK]
        found.update(
            session.scalars(
                select(FeedbackLabel.request_id).where(
                    FeedbackLabel.deployment == deployment,
                    FeedbackLabel.request_id.in_(chunk),
                )
            )
        )
    return found
