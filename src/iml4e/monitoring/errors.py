"""Errors of the monitoring room."""

from iml4e.errors import BadInput, Iml4eError


class MonitoringError(Iml4eError):
    """A monitoring job could not do what it was asked."""


class ReferenceMismatch(BadInput, MonitoringError):
    """Live data or a reference that does not fit the reference it is compared with."""


class ReferenceNotFound(BadInput, MonitoringError):
    """No reference profile stored for that model version."""


class FeedbackRejected(BadInput, MonitoringError):
    """Labels that cannot be recorded: unknown request ids, duplicates, malformed rows."""


class AlertRulesInvalid(BadInput, MonitoringError):
    """An alert rules file that cannot be used; ``where`` names the file and the key."""


class NotificationFailed(MonitoringError):
    """A notifier (webhook) did not accept a notification in time."""


class ReportNotFound(BadInput, MonitoringError):
    """No monitor report with that id."""


class AlertNotFound(BadInput, MonitoringError):
    """No alert of that rule is stored for the deployment (it was never evaluated)."""


class AlertNotActive(BadInput, MonitoringError):
    """Only a pending or firing alert can be acknowledged."""


class UnknownTask(BadInput, MonitoringError):
    """A task other than ``auto``, ``classification`` or ``regression``."""


class RetrainingPlanInvalid(BadInput, MonitoringError):
    """A retraining plan file that cannot be used; ``where`` names the file or the key."""


class SchedulerNotRunning(BadInput, MonitoringError):
    """The platform server runs no monitoring scheduler (not started by ``iml4e up``, or
    ``monitor_interval_s`` is 0)."""

    status = 409
