"""Errors of the compliance room."""

from iml4e.errors import BadInput, Iml4eError


class ComplianceError(Iml4eError):
    """A compliance operation could not be done."""


class QuestionnaireIncomplete(BadInput, ComplianceError):
    """Answers missing or not allowed; ``where`` names the question."""


class CatalogueInvalid(BadInput, ComplianceError):
    """A control catalogue or policy file that cannot be used; ``where`` names file and key."""
