"""Errors of the compliance room."""

from iml4e.errors import BadInput, Iml4eError
from iml4e.store.errors import NotFound


class ComplianceError(Iml4eError):
    """A compliance operation could not be done."""


class QuestionnaireIncomplete(BadInput, ComplianceError):
    """Answers missing or not allowed; ``where`` names the question."""


class CatalogueInvalid(BadInput, ComplianceError):
    """A control catalogue or policy file that cannot be used; ``where`` names file and key."""


class UnknownSystem(NotFound, ComplianceError):
    """No AI system of that name is registered; ``where`` is the name."""


class UnknownControl(BadInput, ComplianceError):
    """No control of that id in the catalogue; ``where`` is the id."""


class AttestationInvalid(BadInput, ComplianceError):
    """An attestation that cannot be recorded (unknown version, empty statement, …)."""


class UnknownIncident(NotFound, ComplianceError):
    """No incident of that id; ``where`` is the id."""


class IncidentInvalid(BadInput, ComplianceError):
    """An incident that cannot be opened or changed (unknown deployment, bad severity, …)."""


class IncidentDeploymentUnknown(NotFound, IncidentInvalid):
    """An incident names a deployment that does not exist; ``where`` names it."""


class EvidenceMissing(ComplianceError):
    """Evidence a control needs could not be collected; ``where`` names the evidence key."""


class DocumentChoiceInvalid(BadInput, ComplianceError):
    """An unknown document kind or format; ``where`` names the value."""


class PdfUnavailable(ComplianceError):
    """PDF output was asked for but WeasyPrint (the ``pdf`` extra) cannot be loaded here."""

    status = 501  # the server cannot do it, whatever the request
