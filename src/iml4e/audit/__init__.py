"""The audit trail: every state change and denied attempt, hash-chained in the store."""

from iml4e.audit.trail import (
    AuditRecord,
    AuditVerification,
    list_audit,
    record_audit,
    verify_audit,
)

__all__ = ["AuditRecord", "AuditVerification", "list_audit", "record_audit", "verify_audit"]
