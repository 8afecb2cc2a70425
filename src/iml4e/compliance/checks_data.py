"""Checks of risk management (Art. 9) and data governance (Art. 10)."""

from __future__ import annotations

from iml4e.compliance.catalogue import Control
from iml4e.compliance.checks import (
    Check,
    CheckContext,
    Outcome,
    applies,
    failed,
    missing_limits,
    not_applicable,
    passed,
)
from iml4e.compliance.data_checks import (
    label_base_rates,
    largest_gap,
    subgroup_counts,
    train_test_overlap,
)
from iml4e.store.models import naive_utc

DATASHEET_FIELDS = ("origin", "purpose", "collection", "labelling", "cleaning", "assumptions")


def risk_register(context: CheckContext, control: Control) -> Outcome:
    """A risk register exists and names the version (or every version)."""
    entries = context.system.definition.risk_register
    version = context.model.detail.version
    covering = [entry for entry in entries if entry.covers(version)]
    if not entries:
        return failed("the system file has no risk register")
    if not covering:
        return failed(f"no risk register entry covers version {version}", entries=len(entries))
    return passed(
        f"{len(covering)} risk register entries cover version {version}", entries=len(covering)
    )


def thresholds_before_evaluation(context: CheckContext, control: Control) -> Outcome:
    """The policy was signed off before the run that evaluated the version started."""
    policy = context.policy
    if policy is None or policy.signed_off_at is None:
        return failed("no signed-off compliance policy is recorded for the system")
    started = context.model.run_started_at
    if started is None:
        return failed("tracking records no evaluation run for this version")
    signed = naive_utc(policy.signed_off_at)
    evidence = {"signed_off_at": signed.isoformat(), "run_started_at": started.isoformat()}
    if signed < started:
        return passed(
            f"policy signed off by {policy.signed_off_by} at {signed:%Y-%m-%d %H:%M}, "
            f"before the evaluation run started at {started:%Y-%m-%d %H:%M}",
            **evidence,
        )
    return failed(
        f"the policy was signed off at {signed:%Y-%m-%d %H:%M}, after the evaluation run "
        f"started at {started:%Y-%m-%d %H:%M}: thresholds were not fixed before evaluation",
        **evidence,
    )


def data_hash(context: CheckContext, control: Control) -> Outcome:
    """Every dataset of the lineage still hashes to its recorded content hash."""
    if context.model.lineage is None:
        return failed("no lineage: no pipeline step recorded this version")
    checks = context.model.datasets
    if not checks:
        return failed("the version's lineage holds no dataset version")
    evidence = {
        "datasets": [
            {"dataset": f"{c.name}@{c.version}", "content_hash": c.content_hash, "ok": c.matches}
            for c in checks
        ]
    }
    bad = [f"{c.name}@{c.version} ({c.problem or 'hash differs'})" for c in checks if not c.matches]
    if bad:
        return failed("snapshot does not match its content hash: " + "; ".join(bad), **evidence)
    named = ", ".join(f"{c.name}@{c.version} ({c.content_hash[:12]})" for c in checks)
    return passed(f"pinned by content hash: {named}", **evidence)


def datasheet(context: CheckContext, control: Control) -> Outcome:
    """Each dataset of the lineage has a datasheet with every field written."""
    checks = context.model.datasets
    if not checks:
        return failed("the version's lineage holds no dataset version")
    sheets = context.system.definition.datasheets
    gaps = []
    for check in checks:
        sheet = sheets.get(check.name, {})
        absent = [name for name in DATASHEET_FIELDS if not str(sheet.get(name, "")).strip()]
        if absent:
            gaps.append(f"{check.name}: {', '.join(absent)}")
    if gaps:
        return failed("datasheet fields not written: " + "; ".join(gaps))
    return passed(f"datasheets complete for {', '.join(sorted({c.name for c in checks}))}")


def data_quality(context: CheckContext, control: Control) -> Outcome:
    """Missing-value and duplicate-row rates of each dataset are within the policy."""
    problem = missing_limits(context, control)
    if problem:
        return problem
    max_missing = context.limit(control, "max_missing_rate")
    max_duplicates = context.limit(control, "max_duplicate_rate")
    checks = context.model.datasets
    if not checks:
        return failed("the version's lineage holds no dataset version")
    rows, bad = [], []
    for check in checks:
        if check.missing_rate is None or check.duplicate_rate is None:
            bad.append(f"{check.name}@{check.version}: {check.problem or 'not readable'}")
            continue
        rows.append(
            {
                "dataset": f"{check.name}@{check.version}",
                "missing_rate": check.missing_rate,
                "duplicate_rate": check.duplicate_rate,
            }
        )
        if check.missing_rate > max_missing:
            bad.append(f"{check.name}: missing {check.missing_rate:.4f} > {max_missing:g}")
        if check.duplicate_rate > max_duplicates:
            bad.append(f"{check.name}: duplicates {check.duplicate_rate:.4f} > {max_duplicates:g}")
    if bad:
        return failed("; ".join(bad), datasets=rows)
    shown = "; ".join(
        f"{row['dataset']} missing {row['missing_rate']:.4f}, "
        f"duplicates {row['duplicate_rate']:.4f}"
        for row in rows
    )
    return passed(f"{shown} (limits {max_missing:g}, {max_duplicates:g})", datasets=rows)


def subgroup_coverage(context: CheckContext, control: Control) -> Outcome:
    """Every group of each sensitive feature has enough rows in training and test data."""
    problem = _groups_problem(context, control)
    data = context.system.definition.data
    if problem is not None or data is None:
        return problem or failed("the system file has no data section")
    minimum = context.limit(control, "min_subgroup_rows")
    counts = {}
    short = []
    for role, frame in (("train", context.model.train), ("test", context.model.test)):
        counts[role] = subgroup_counts(context.model.groups(frame, data))
        for feature, groups in counts[role].items():
            short += [
                f"{role} {feature}={group}: {n}" for group, n in groups.items() if n < minimum
            ]
    if short:
        return failed(f"groups under {minimum} rows: " + "; ".join(short), counts=counts)
    smallest = min(
        n for role in counts.values() for groups in role.values() for n in groups.values()
    )
    return passed(f"smallest group has {smallest} rows (limit {minimum})", counts=counts)


def leakage(context: CheckContext, control: Control) -> Outcome:
    """Few enough test rows also occur in the training rows."""
    problem = missing_limits(context, control) or _rows_problem(context)
    if problem:
        return problem
    limit = context.limit(control, "max_train_test_overlap")
    overlap = train_test_overlap(context.model.train, context.model.test)
    evidence = {"overlap": overlap, "test_rows": len(context.model.test)}
    detail = f"{overlap:.2%} of test rows occur in the training rows (limit {limit:g})"
    return (failed if overlap > limit else passed)(detail, **evidence)


def label_base_rate_gap(context: CheckContext, control: Control) -> Outcome:
    """The positive-label rate differs little enough between groups of the training rows."""
    problem = _groups_problem(context, control)
    data = context.system.definition.data
    if problem is not None or data is None:
        return problem or failed("the system file has no data section")
    limit = context.limit(control, "max_label_base_rate_gap")
    train = context.model.train
    rates = label_base_rates(
        train[data.target], context.model.groups(train, data), positive_label=data.positive_label
    )
    gaps = {feature: largest_gap(groups) for feature, groups in rates.items()}
    wide = [f"{feature} {gap:.3f}" for feature, gap in gaps.items() if gap > limit]
    shown = ", ".join(f"{feature} {gap:.3f}" for feature, gap in gaps.items())
    if wide:
        return failed(f"label base-rate gap over {limit:g}: {', '.join(wide)}", rates=rates)
    return passed(f"label base-rate gaps {shown} (limit {limit:g})", rates=rates, gaps=gaps)


def special_category_data(context: CheckContext, control: Control) -> Outcome:
    """Applies when the system file says special-category data are used for bias detection."""
    if not context.system.definition.special_category_data:
        return not_applicable("the system file declares no special-category personal data")
    return applies("special-category personal data are processed for bias detection")


def feedback_loops(context: CheckContext, control: Control) -> Outcome:
    """Applies when the system keeps learning after deployment."""
    if not context.system.definition.continuous_learning:
        return not_applicable("the system does not keep learning after deployment")
    return applies("the system keeps learning after deployment")


def _groups_problem(context: CheckContext, control: Control) -> Outcome | None:
    """Why a per-group check cannot run: limits, rows or sensitive features missing."""
    problem = missing_limits(context, control) or _rows_problem(context)
    if problem is not None:
        return problem
    data = context.system.definition.data
    if data is None or not data.sensitive_features:
        return failed("the system file names no sensitive features")
    return None


def _rows_problem(context: CheckContext) -> Outcome | None:
    for key in ("train_rows", "test_rows"):
        if key in context.model.problems:
            return failed(f"{key.replace('_', ' ')} not found: {context.model.problems[key]}")
    if context.model.train is None or context.model.test is None:
        return failed("the training and test rows were not found in the lineage")
    return None


def _always_applies(context: CheckContext, control: Control) -> Outcome:
    return applies()


CHECKS: dict[str, Check] = {
    "ART9-RISK-REGISTER": risk_register,
    "ART9-THRESHOLDS-BEFORE-EVAL": thresholds_before_evaluation,
    "ART9-VULNERABLE-GROUPS": _always_applies,
    "ART9-RESIDUAL-RISK": _always_applies,
    "ART10-DATA-HASH": data_hash,
    "ART10-DATASHEET": datasheet,
    "ART10-DATA-QUALITY": data_quality,
    "ART10-SUBGROUP-COVERAGE": subgroup_coverage,
    "ART10-LEAKAGE": leakage,
    "ART10-LABEL-BASE-RATES": label_base_rate_gap,
    "ART10-REPRESENTATIVENESS": _always_applies,
    "ART10-SPECIAL-CATEGORY-SAFEGUARDS": special_category_data,
    "ART15-FEEDBACK-LOOPS": feedback_loops,
}
