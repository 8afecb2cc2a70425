"""Checks of transparency (Art. 13), accuracy, robustness, cybersecurity (Art. 15) and the
quality management system's approvals (Art. 17)."""

from __future__ import annotations

from iml4e.compliance.catalogue import Control
from iml4e.compliance.checks import Check, CheckContext, Outcome, failed, missing_limits, passed

#: Fields of the instructions for use a person writes in the system file (Art. 13(3)).
IFU_FIELDS = ("contact", "capabilities", "limitations", "oversight_measures", "compute", "logs")


def _measured(context: CheckContext, key: str) -> Outcome | None:
    if key in context.model.problems:
        return failed(f"{key.replace('_', ' ')}: {context.model.problems[key]}")
    for rows in ("test_rows", "model_artifacts"):
        if rows in context.model.problems:
            return failed(f"{rows.replace('_', ' ')}: {context.model.problems[rows]}")
    return None


def instructions_fields(context: CheckContext, control: Control) -> Outcome:
    """The instructions for use have every field a person writes, and the measured parts."""
    written = context.system.definition.instructions_for_use
    absent = [name for name in IFU_FIELDS if not str(written.get(name, "")).strip()]
    if not context.system.definition.intended_purpose.strip():
        absent.append("intended purpose")
    if context.model.accuracy is None:
        absent.append("declared accuracy (no evaluation)")
    if context.model.fairness is None:
        absent.append("per-group performance (no fairness report)")
    if absent:
        return failed("instructions for use lack: " + ", ".join(absent))
    return passed("every Art. 13(3) field is written or measured", fields=list(IFU_FIELDS))


def declared_accuracy(context: CheckContext, control: Control) -> Outcome:
    """The accuracy the instructions for use declare equals the evaluated one."""
    problem = missing_limits(context, control) or _measured(context, "evaluation_metrics")
    if problem:
        return problem
    if context.model.accuracy is None:
        return failed("the version was not evaluated on its test rows")
    declared, source = _declared(context)
    if declared is None:
        return failed(
            "no accuracy is declared: generate the instructions for use "
            "(iml4e comply report --kind instructions) or set declared_accuracy"
        )
    limit = context.limit(control, "max_declared_accuracy_gap")
    evaluated = context.model.accuracy.accuracy
    gap = abs(declared - evaluated)
    evidence = {"declared": declared, "evaluated": evaluated, "source": source}
    detail = f"declared {declared:.4f} ({source}), evaluated {evaluated:.4f}, gap {gap:.4f}"
    if gap > limit:
        return failed(f"{detail} > {limit:g}", **evidence)
    return passed(f"{detail} (limit {limit:g})", **evidence)


def _declared(context: CheckContext) -> tuple[float | None, str]:
    written = context.system.definition.instructions_for_use.get("declared_accuracy")
    if isinstance(written, int | float):
        return float(written), "system file"
    version = context.model.detail.version
    for document in reversed(context.documents):
        if document.kind == "instructions" and document.model_version == version:
            value = document.facts.get("declared_accuracy")
            if isinstance(value, int | float):
                return float(value), f"instructions for use #{document.id}"
    return None, ""


def accuracy_interval(context: CheckContext, control: Control) -> Outcome:
    """The 95% interval's lower bound reaches the minimum and the interval is narrow enough."""
    problem = missing_limits(context, control) or _measured(context, "evaluation_metrics")
    if problem:
        return problem
    interval = context.model.accuracy
    if interval is None:
        return failed("the version was not evaluated on its test rows")
    minimum = context.limit(control, "min_accuracy")
    widest = context.limit(control, "max_accuracy_ci_width")
    evidence = {
        "accuracy": interval.accuracy,
        "low": interval.low,
        "high": interval.high,
        "n": interval.n,
    }
    detail = (
        f"accuracy {interval.accuracy:.4f}, 95% interval [{interval.low:.4f}, "
        f"{interval.high:.4f}] on {interval.n} test rows"
    )
    problems = []
    if interval.low < minimum:
        problems.append(f"lower bound under {minimum:g}")
    if interval.width > widest:
        problems.append(f"width {interval.width:.4f} over {widest:g}")
    if problems:
        return failed(f"{detail}: " + "; ".join(problems), **evidence)
    return passed(f"{detail} (minimum {minimum:g}, widest {widest:g})", **evidence)


def fairness(context: CheckContext, control: Control) -> Outcome:
    """Demographic parity and equalized odds differences are within the policy per feature."""
    problem = missing_limits(context, control) or _measured(context, "fairness_report")
    if problem:
        return problem
    results = context.model.fairness
    if not results:
        return failed("no fairness report: the system file names no sensitive features")
    parity_limit = context.limit(control, "max_demographic_parity_difference")
    odds_limit = context.limit(control, "max_equalized_odds_difference")
    evidence = {"features": [result.as_dict() for result in results]}
    over, shown = [], []
    for result in results:
        parity, odds = result.demographic_parity_difference, result.equalized_odds_difference
        shown.append(f"{result.feature}: parity {parity:.3f}, equalized odds {odds:.3f}")
        if parity > parity_limit:
            over.append(f"{result.feature} demographic parity {parity:.3f} > {parity_limit:g}")
        if odds > odds_limit:
            over.append(f"{result.feature} equalized odds {odds:.3f} > {odds_limit:g}")
    if over:
        return failed("; ".join(over), **evidence)
    return passed("; ".join(shown) + f" (limits {parity_limit:g}, {odds_limit:g})", **evidence)


def robustness(context: CheckContext, control: Control) -> Outcome:
    """Accuracy under noise and perturbation drops no more than the policy allows."""
    problem = missing_limits(context, control) or _measured(context, "robustness_report")
    if problem:
        return problem
    result = context.model.robustness
    if result is None:
        return failed("the version was not tested under perturbation")
    limit = context.limit(control, "max_robustness_accuracy_drop")
    detail = (
        f"accuracy {result.clean_accuracy:.4f} clean, {result.perturbed_accuracy:.4f} perturbed "
        f"(drop {result.accuracy_drop:.4f})"
    )
    if result.accuracy_drop > limit:
        return failed(f"{detail} > {limit:g}", **result.as_dict())
    return passed(f"{detail} (limit {limit:g})", **result.as_dict())


def model_file_safety(context: CheckContext, control: Control) -> Outcome:
    """The model files import nothing unsafe and still hash as first recorded."""
    scan = context.model.scan
    if scan is None:
        return failed(context.model.problems.get("model_artifacts", "model files not scanned"))
    files = {entry.path: entry.sha256 for entry in scan.files}
    evidence = {"files": files}
    if scan.unsafe:
        return failed("unsafe imports in model files: " + "; ".join(scan.unsafe), **evidence)
    recorded = context.model.recorded_hashes
    if recorded is not None:
        changed = sorted(
            path for path in recorded.keys() | files.keys() if recorded.get(path) != files.get(path)
        )
        if changed:
            return failed(
                "model files differ from the hashes recorded at the first assessment: "
                + ", ".join(changed),
                **evidence,
            )
        return passed(
            f"{len(files)} files, no unsafe imports, hashes as first recorded", **evidence
        )
    return passed(f"{len(files)} files, no unsafe imports; hashes recorded now", **evidence)


def approvals(context: CheckContext, control: Control) -> Outcome:
    """Enough distinct people approved the version."""
    problem = missing_limits(context, control)
    if problem:
        return problem
    needed = int(context.limit(control, "min_approvers") or 0)
    people = _approvers_before_promotion(context)
    evidence = {"approvers": people, "audit_events": context.model.audit_links}
    if len(people) < needed:
        return failed(
            f"{len(people)} approval(s), {needed} needed"
            + (f": {', '.join(people)}" if people else ""),
            **evidence,
        )
    return passed(f"approved by {', '.join(people)} ({needed} needed)", **evidence)


def _approvers_before_promotion(context: CheckContext) -> list[str]:
    """Distinct approvers, counting only approvals made before the version's first promotion."""
    version = context.model.detail.version
    promoted = [
        event.created_at
        for event in context.model.promotions
        if event.model_version == version and event.created_at is not None
    ]
    cutoff = min(promoted) if promoted else None
    return list(
        dict.fromkeys(
            event.actor
            for event in context.model.approvals
            if cutoff is None or (event.created_at is not None and event.created_at < cutoff)
        )
    )


def segregation_of_duties(context: CheckContext, control: Control) -> Outcome:
    """Nobody approved the version they registered."""
    registrant = context.model.registered_by
    people = list(dict.fromkeys(event.actor for event in context.model.approvals))
    evidence = {
        "registered_by": registrant,
        "approvers": people,
        "audit_events": context.model.audit_links,
    }
    if not people:
        return failed("no approver recorded yet", **evidence)
    if registrant is None:
        return failed("the registry records no registration of this version", **evidence)
    own = [person for person in people if person == registrant]
    if own:
        return failed(f"{registrant} registered the version and approved it", **evidence)
    return passed(f"registered by {registrant}, approved by {', '.join(people)}", **evidence)


CHECKS: dict[str, Check] = {
    "ART13-IFU-FIELDS": instructions_fields,
    "ART13-DECLARED-ACCURACY": declared_accuracy,
    "ART15-ACCURACY-CI": accuracy_interval,
    "ART15-FAIRNESS": fairness,
    "ART15-ROBUSTNESS": robustness,
    "ART15-MODEL-FILE-SAFETY": model_file_safety,
    "ART17-APPROVALS": approvals,
    "ART17-SEGREGATION-OF-DUTIES": segregation_of_duties,
}
