"""Errors of the audit room."""

from iml4e.errors import Iml4eError


class AuditError(Iml4eError):
    """An audit operation could not be done."""


class AuditBusy(AuditError):
    """Another process held the audit trail's lock too long."""
