"""Write a compliance document for a system to the home folder and record it (Art. 18(1)).

``iml4e comply report SYSTEM --kind annex-iv --format html`` lands here: the facts are
gathered from the store, rendered, written under ``<home>/compliance/<system>/`` and recorded
with their hash and what they declare, so the documentation controls can check them later.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iml4e.audit import record_audit
from iml4e.compliance.document_facts import DocumentFacts
from iml4e.compliance.documents import annex_iv_sections, check_choice, document_text
from iml4e.compliance.errors import ComplianceError
from iml4e.compliance.records import DocumentRecord, record_document

if TYPE_CHECKING:
    from iml4e.config import Settings
    from iml4e.store import Store

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
EXTENSIONS = {"html": "html", "md": "md", "pdf": "pdf"}


def generate_document(
    settings: Settings,
    store: Store,
    system: str,
    *,
    actor: str,
    kind: str = "annex-iv",
    fmt: str = "html",
    model_name: str | None = None,
    version: str | None = None,
    on: date | None = None,
) -> DocumentRecord:
    """Render document ``kind`` of ``system`` in ``fmt``, write it and record it.

    The file is written first and recorded after; a failed write records nothing.
    """
    from iml4e.compliance.gather import document_facts
    from iml4e.tracking import connect_tracking

    check_choice(kind, fmt)
    client = connect_tracking(settings, store)
    facts = document_facts(store, client, system, model_name=model_name, version=version, on=on)
    content = document_text(kind, facts, fmt)
    folder = settings.home / "compliance" / _UNSAFE.sub("-", facts.system.name)
    folder.mkdir(parents=True, exist_ok=True)
    version_part = f"-v{facts.model.version}" if facts.model else ""
    stamp = facts.generated_at.strftime("%Y%m%dT%H%M%S%f")
    path = folder / f"{kind}{version_part}-{stamp}.{EXTENSIONS[fmt]}"
    _write_new(path, content)
    record = record_document(
        store,
        system=facts.system.name,
        kind=kind,
        model_name=facts.model.name if facts.model else None,
        model_version=facts.model.version if facts.model else None,
        fmt=fmt,
        path=str(path),
        sha256=hashlib.sha256(content).hexdigest(),
        facts=declared_facts(kind, facts),
        actor=actor,
    )
    record_audit(
        store,
        actor=actor,
        action="compliance.document",
        target=f"system:{record.system}",
        detail={
            "document": record.id,
            "kind": kind,
            "format": fmt,
            "model_version": record.model_version,
            "sha256": record.sha256,
        },
    )
    return record


def declared_facts(kind: str, facts: DocumentFacts) -> dict[str, Any]:
    """What a document states that controls compare later (sections, declared accuracy)."""
    if kind == "annex-iv":
        return {"sections": [asdict(section) for section in annex_iv_sections(facts)]}
    if kind == "instructions" and facts.evaluation is not None:
        return {"declared_accuracy": facts.evaluation.accuracy}
    return {}


def _write_new(path: Path, content: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_bytes(content)
        partial.replace(path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise ComplianceError(f"cannot write the document: {error}", where=str(path)) from error
