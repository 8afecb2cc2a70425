"""What the web UI's pages show, read from the rooms' Python APIs (no HTML here).

Each function takes the store and returns plain rows for a template, so the pages stay thin
and a page's data can be checked without rendering it.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from iml4e.audit import list_audit, verify_audit
from iml4e.audit.trail import OUTCOMES, AuditVerification
from iml4e.store import Store

AUDIT_LIMIT = 200
AUDIT_FULL_WALK_S = 300.0
"""How old the audit page's last full walk of the chain may be before it walks it again."""


def overview(store: Store) -> dict[str, Any]:
    """Systems with their newest assessment, deployments, firing alerts, latest reports."""
    from iml4e.monitoring.alerts import FIRING, alert_states
    from iml4e.monitoring.reports import latest_reports
    from iml4e.server.ui_compliance_data import system_summaries
    from iml4e.serving.deployments import list_deployments

    deployments = list_deployments(store)
    alerts = [
        state
        for deployment in deployments
        for state in alert_states(store, deployment.name)
        if state.state == FIRING
    ]
    return {
        "systems": system_summaries(store),
        "deployments": deployments,
        "alerts": alerts,
        "reports": latest_reports(store),
    }


class AuditWatch:
    """The audit page's verification, kept between page loads.

    A load walks only the rows appended since the last verification that held; the whole
    chain is walked again when that one is older than ``full_walk_s`` (and always by
    ``iml4e audit verify``), so a large trail does not slow every page down.
    """

    def __init__(self, full_walk_s: float = AUDIT_FULL_WALK_S) -> None:
        self.full_walk_s = full_walk_s
        self._held: AuditVerification | None = None
        self._walked_at = 0.0
        self._lock = threading.Lock()

    def verify(self, store: Store) -> AuditVerification:
        """The chain's state now, walking as little as the last full walk allows."""
        with self._lock:
            now = time.monotonic()
            fresh = self._held is not None and now - self._walked_at < self.full_walk_s
            result = verify_audit(store, resume=self._held if fresh else None)
            if result.resumed_after is None:
                self._walked_at = now
            self._held = result if result.ok else None
            return result


def audit_page(
    store: Store,
    *,
    actor: str | None,
    action: str | None,
    outcome: str | None,
    watch: AuditWatch | None = None,
) -> dict[str, Any]:
    """The chain's verification and the newest events matching the filters."""
    return {
        "verification": (watch or AuditWatch()).verify(store),
        "events": list_audit(store, actor=actor, action=action, outcome=outcome, limit=AUDIT_LIMIT),
        "filters": {"actor": actor or "", "action": action or "", "outcome": outcome or ""},
        "outcomes": OUTCOMES,
        "limit": AUDIT_LIMIT,
    }
