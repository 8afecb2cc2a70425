"""Evidence about a system at run time: its deployment, inference log, monitors and alerts.

Read through the serving and monitoring rooms' Python APIs. The inference log's tamper
evidence is a hash chain this room keeps over closed segment files: each assessment checks the
segments sealed before still hash as they did, then seals the segments closed since.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iml4e.errors import Iml4eError

if TYPE_CHECKING:
    from iml4e.config import Settings
    from iml4e.monitoring.reports import ReportSummary
    from iml4e.serving.deployments import DeploymentInfo
    from iml4e.store import Store

CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class LogStats:
    """What the inference log of a deployment holds."""

    segments: int
    records_indexed: int
    """Records the writers counted in closed segments."""
    records_read: int
    """Records readable in those closed segments now."""
    records_with_request_id: int
    oldest_at: datetime | None
    missing_files: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "segments": self.segments,
            "records_indexed": self.records_indexed,
            "records_read": self.records_read,
            "records_with_request_id": self.records_with_request_id,
            "oldest_at": self.oldest_at.isoformat() if self.oldest_at else None,
            "missing_files": list(self.missing_files),
        }


@dataclass(frozen=True)
class LogSeal:
    """The hash chain over closed segments: what was sealed and what no longer matches."""

    sealed: tuple[dict[str, str], ...]
    """``{"path", "sha256", "link"}`` per sealed segment, in order; ``link`` chains them."""
    broken: tuple[str, ...]
    """Why each broken segment fails (edited, deleted), first break first."""
    newly_sealed: int

    @property
    def head(self) -> str | None:
        """The last link of the chain."""
        return self.sealed[-1]["link"] if self.sealed else None


@dataclass
class RuntimeEvidence:
    """What the serving and monitoring rooms record about the system's deployment."""

    deployment: DeploymentInfo | None
    events: list[dict[str, Any]] = field(default_factory=list)
    log: LogStats | None = None
    seal: LogSeal | None = None
    reports: list[ReportSummary] = field(default_factory=list)
    firing_alerts: list[dict[str, Any]] = field(default_factory=list)
    """Alert events that went ``firing``: ``{"rule", "at"}``."""
    operator_tokens: bool = False
    """Whether the deployment's operator routes ask for API tokens (``server_auth``)."""
    problems: dict[str, str] = field(default_factory=dict)


def find_deployment(store: Store, model_name: str, name: str | None) -> DeploymentInfo | None:
    """Deployment ``name``, else the first deployment serving ``model_name`` (None if none)."""
    from iml4e.serving.deployments import get_deployment, list_deployments

    if name is not None:
        return get_deployment(store, name)
    for deployment in list_deployments(store):
        if deployment.model_name == model_name:
            return deployment
    return None


def gather_runtime_evidence(
    settings: Settings,
    store: Store,
    deployment: DeploymentInfo | None,
    previous_seal: list[dict[str, str]],
) -> RuntimeEvidence:
    """Collect deployment events, log statistics and seal, monitor reports and alerts."""
    from iml4e.monitoring.alerts import alert_history
    from iml4e.monitoring.reports import reports_of
    from iml4e.serving.deployments import deployment_events

    evidence = RuntimeEvidence(deployment)
    if deployment is None:
        evidence.problems["serving_config"] = "the model is not deployed"
        return evidence
    from iml4e.server.access import auth_required

    evidence.operator_tokens = auth_required(settings, deployment.host or "127.0.0.1")
    evidence.events = deployment_events(store, deployment.name)
    evidence.log = _log_stats(store, deployment.name)
    evidence.seal = seal_segments(store, deployment.name, previous_seal)
    try:
        evidence.reports = reports_of(store, deployment.name, limit=20)
    except Iml4eError as error:
        evidence.problems["monitor_reports"] = str(error)
    evidence.firing_alerts = [
        {"rule": event.rule, "at": event.created_at}
        for event in alert_history(store, deployment.name)
        if event.state == "firing"
    ]
    return evidence


def _log_stats(store: Store, deployment: str) -> LogStats:
    from iml4e.serving.inference_log import inference_segments, read_segment

    segments = inference_segments(store, deployment)
    indexed = read = with_id = 0
    missing = []
    for segment in segments:
        if not segment.closed:
            continue
        path = Path(segment.path)
        if not path.exists():
            missing.append(segment.path)
            continue
        records = read_segment(path)
        indexed += segment.n_records
        read += len(records)
        with_id += sum(1 for record in records if record.request_id)
    return LogStats(
        segments=len(segments),
        records_indexed=indexed,
        records_read=read,
        records_with_request_id=with_id,
        oldest_at=segments[0].first_at if segments else None,
        missing_files=tuple(missing),
    )


def seal_segments(store: Store, deployment: str, previous: list[dict[str, str]]) -> LogSeal:
    """Check the segments sealed in ``previous`` and seal the ones closed since.

    Each link is ``sha256(previous link + segment hash)``, so deleting, reordering or editing
    a sealed segment breaks the chain from that segment on.
    """
    from iml4e.serving.inference_log import inference_segments

    broken: list[str] = []
    sealed: list[dict[str, str]] = []
    link = ""
    for entry in previous:
        path = Path(entry["path"])
        digest = file_sha256(path) if path.exists() else None
        if digest is None:
            broken.append(f"{entry['path']}: deleted")
        elif digest != entry["sha256"]:
            broken.append(f"{entry['path']}: edited (hash differs from the seal)")
        link = _link(link, entry["sha256"])
        if link != entry["link"]:
            broken.append(f"{entry['path']}: the chain link differs from the one recorded")
        sealed.append(dict(entry))
    known = {entry["path"] for entry in previous}
    added = 0
    for segment in inference_segments(store, deployment):
        if not segment.closed or segment.path in known or not Path(segment.path).exists():
            continue
        digest = file_sha256(Path(segment.path))
        link = _link(link, digest)
        sealed.append({"path": segment.path, "sha256": digest, "link": link})
        added += 1
    return LogSeal(tuple(sealed), tuple(broken), added)


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _link(previous: str, digest: str) -> str:
    return hashlib.sha256(f"{previous}:{digest}".encode()).hexdigest()
