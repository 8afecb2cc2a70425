"""The documents other than Annex IV: instructions for use, model card, monitoring plan and
report, and the draft EU declaration of conformity; each built from the same facts."""

from __future__ import annotations

from iml4e.compliance.document_blocks import (
    REPORT_COLUMNS,
    Document,
    Fields,
    Items,
    Marker,
    Section,
    Table,
    Text,
    accuracy_line,
    controls_table,
    datasets_table,
    fairness_blocks,
    header,
    human_fields,
    incidents_table,
    inputs_table,
    metrics_table,
    not_recorded,
    report_row,
    risk_table,
    robustness_fields,
    text,
    to_sign,
    to_write,
    when,
)
from iml4e.compliance.document_facts import DocumentFacts

ART_73_DEADLINES = Table(
    ("Serious incident", "Report to the market surveillance authority within", "Article"),
    (
        ("General case", "15 days after becoming aware", "Art. 73(2)"),
        (
            "Widespread infringement or serious disruption of critical infrastructure",
            "2 days after becoming aware",
            "Art. 73(3)",
        ),
        ("Death of a person", "10 days after becoming aware", "Art. 73(4)"),
    ),
)
"""The Art. 73 reporting deadlines; an initial incomplete report is allowed (Art. 73(5))."""


def _human(section: Section, facts: DocumentFacts, key: str, what: str, article: str) -> bool:
    """Show the human part ``key`` as fields/list/text, or its placeholder; True when written."""
    value = facts.human.get(key)
    if not value:
        section.add(to_write(what, article, key))
        return False
    if isinstance(value, dict):
        section.add(human_fields(value))
    elif isinstance(value, list | tuple):
        section.add(Items(tuple(map(text, value))))
    else:
        section.add(Text(text(value)))
    return True


def _performance(section: Section, facts: DocumentFacts, article: str) -> None:
    """Declared accuracy, logged metrics and robustness, or what is not recorded."""
    if facts.evaluation is None:
        section.add(not_recorded("evaluation", article))
    else:
        section.add(Fields((("Declared accuracy", accuracy_line(facts.evaluation)),)))
        if facts.evaluation.robustness:
            section.add(robustness_fields(facts.evaluation.robustness))
    if facts.model is not None and facts.model.metrics:
        section.add(metrics_table(facts.model.metrics))


def _groups(section: Section, facts: DocumentFacts, article: str) -> None:
    if facts.evaluation is None:
        section.add(not_recorded("evaluation", article))
    elif not facts.evaluation.fairness:
        section.add(not_recorded("performance per group", article))
    else:
        section.add(*fairness_blocks(facts.evaluation))


def _inputs(section: Section, facts: DocumentFacts, article: str) -> None:
    if facts.model is None or not facts.model.inputs:
        section.add(not_recorded("input signature of the model version", article))
    else:
        section.add(inputs_table(facts.model.inputs))


def instructions(facts: DocumentFacts) -> Document:
    """Instructions for use for deployers, following Art. 13(3)(a) to (f)."""
    doc = Document("Instructions for use (Art. 13)", header(facts))
    system = facts.system
    doc.section(
        "Provider (Art. 13(3)(a))",
        Fields((("Provider", system.provider), ("Role", system.role))),
    )
    ifu = facts.human.get("instructions_for_use") or {}
    if ifu.get("contact"):
        doc.sections[-1].add(Fields((("Contact", text(ifu["contact"])),)))
    b = doc.section("Characteristics, capabilities and limitations (Art. 13(3)(b))")
    b.sub(
        "(i) Intended purpose",
        Text(system.intended_purpose),
        Text(f"Persons affected: {system.users_affected}."),
    )
    accuracy = b.sub("(ii) Accuracy, robustness and cybersecurity")
    _performance(accuracy, facts, "Art. 13(3)(b)(ii)")
    _human(accuracy, facts, "cybersecurity", "cybersecurity measures", "Art. 13(3)(b)(ii)")
    risks = b.sub("(iii) Known and foreseeable circumstances that may lead to risks")
    if facts.human.get("risk_register"):
        risks.add(risk_table(facts.human["risk_register"]))
    else:
        risks.add(to_write("risk register", "Art. 13(3)(b)(iii)", "risk_register"))
    _groups(b.sub("(v) Performance for specific persons or groups"), facts, "Art. 13(3)(b)(v)")
    _inputs(b.sub("(vi) Input data specifications"), facts, "Art. 13(3)(b)(vi)")
    _human(
        b.sub("Further information for deployers"),
        facts,
        "instructions_for_use",
        "the provider's instructions for use",
        "Art. 13(2) and (3)",
    )
    _human(
        doc.section("Pre-determined changes (Art. 13(3)(c))"),
        facts,
        "changes",
        "planned changes to the system and its performance",
        "Art. 13(3)(c)",
    )
    _human(
        doc.section("Human oversight measures (Art. 13(3)(d))"),
        facts,
        "oversight",
        "human-oversight measures",
        "Art. 13(3)(d), Art. 14",
    )
    compute = doc.section(
        "Computational and hardware resources, expected lifetime and maintenance (Art. 13(3)(e))"
    )
    _human(compute, facts, "hardware", "computational and hardware resources", "Art. 13(3)(e)")
    if ifu.get("expected_lifetime"):
        compute.add(Fields((("Expected lifetime", text(ifu["expected_lifetime"])),)))
    logs = doc.section("Collecting, storing and interpreting the logs (Art. 13(3)(f), Art. 12)")
    logs.add(
        Text(
            "Each deployment records every prediction request and response as an inference log "
            "event (Art. 12(1)). Deployers keep the logs under their control for at least six "
            "months (Art. 26(6), Art. 19(1)); the monitoring reports read them to measure drift "
            "and quality."
        )
    )
    if facts.deployments:
        logs.add(
            Table(
                ("Deployment", "Logging"),
                tuple((d.name, "on" if d.logging_enabled else "off") for d in facts.deployments),
            )
        )
    return doc


def model_card(facts: DocumentFacts) -> Document:
    """A model card: details, intended use, factors, metrics, data, analyses, ethics, caveats."""
    doc = Document("Model card", header(facts))
    model, system = facts.model, facts.system
    details = doc.section("Model details")
    if model is None:
        details.add(not_recorded("model version", "Annex IV(1)(a)"))
    else:
        details.add(
            Fields(
                (
                    ("Model", f"{model.name} version {model.version}"),
                    ("Provider", system.provider),
                    ("Registered", f"{when(model.registered_at)} by {text(model.registered_by)}"),
                    ("Training run", text(model.run_id)),
                    ("Flavours", text(model.flavors)),
                    ("Aliases", text(model.aliases)),
                )
            )
        )
    doc.section(
        "Intended use",
        Text(system.intended_purpose),
        Text(
            f"Persons affected: {system.users_affected}. Risk tier: {system.tier} "
            f"({text(system.articles)})."
        ),
    )
    factors = doc.section("Factors")
    features = (
        [str(f.get("feature")) for f in facts.evaluation.fairness] if facts.evaluation else []
    )
    factors.add(
        Text("Groups examined: " + (", ".join(features) + "." if features else "none recorded."))
    )
    metrics = doc.section("Metrics")
    _performance(metrics, facts, "Art. 15(3)")
    data = doc.section("Evaluation data")
    if facts.datasets:
        data.add(datasets_table(facts))
    else:
        data.add(not_recorded("datasets", "Art. 10"))
    _groups(doc.section("Quantitative analyses"), facts, "Art. 13(3)(b)(v)")
    ethics = doc.section("Ethical considerations")
    if facts.human.get("risk_register"):
        ethics.add(risk_table(facts.human["risk_register"]))
    else:
        ethics.add(to_write("risk register", "Art. 9", "risk_register"))
    caveats = doc.section("Caveats and recommendations")
    _inputs(caveats, facts, "Art. 13(3)(b)(vi)")
    _human(caveats, facts, "oversight", "human-oversight measures", "Art. 14")
    return doc


def monitoring_plan(facts: DocumentFacts) -> Document:
    """The post-market monitoring plan (Art. 72(3)): what is watched, how often, by whom."""
    doc = Document("Post-market monitoring plan (Art. 72(3))", header(facts))
    plan = doc.section("Plan: frequency, responsibilities and thresholds")
    _human(
        plan,
        facts,
        "monitoring_plan",
        "monitoring frequency, responsible persons and thresholds",
        "Art. 72(3)",
    )
    watched = doc.section("What is monitored per deployment")
    if not facts.deployments:
        watched.add(
            Text("No deployment serves the system yet; the plan applies from the first one.")
        )
    for d in facts.deployments:
        latest = d.latest_report or {}
        watched.sub(
            f"Deployment {d.name}",
            Fields(
                (
                    ("Model version", d.model_version),
                    ("State", d.state),
                    ("Inference logging (Art. 12)", "on" if d.logging_enabled else "off"),
                    ("Data drift", "feature drift per monitoring report"),
                    ("Quality and performance metrics", text(sorted(latest.get("metrics", {})))),
                    ("Alert rules", text(d.alert_rules)),
                )
            ),
        )
    incidents = doc.section("Serious incidents (Art. 73)")
    incidents.add(
        Text(
            "A serious incident is reported to the market surveillance authority of the Member "
            "State where it occurred, after a causal link is established or its likelihood is "
            "reasonable; an initial incomplete report may be followed by a complete one "
            "(Art. 73(5))."
        ),
        ART_73_DEADLINES,
    )
    return doc


def monitoring_report(facts: DocumentFacts) -> Document:
    """The periodic post-market monitoring report (Art. 72): reports, alerts, incidents."""
    doc = Document("Periodic post-market monitoring report (Art. 72)", header(facts))
    stamps = sorted(text(r.get("created_at")) for d in facts.deployments for r in d.reports)
    period = doc.section("Period")
    period.add(
        Text(
            f"From {stamps[0]} to {stamps[-1]}: {len(stamps)} monitoring reports."
            if stamps
            else "No monitoring report in the period."
        )
    )
    reports = doc.section("Monitoring reports")
    rows = tuple(report_row(d.name, r) for d in facts.deployments for r in d.reports)
    reports.add(Table(REPORT_COLUMNS, rows) if rows else Text("None."))
    alerts = doc.section("Alerts")
    firing = tuple((d.name, alert) for d in facts.deployments for alert in d.firing_alerts)
    alerts.add(
        Table(("Deployment", "Firing alert"), firing) if firing else Text("No alert is firing.")
    )
    incidents = doc.section("Serious incidents and reporting clocks (Art. 73)")
    incidents.add(
        incidents_table(facts) if facts.incidents else Text("No serious incident."),
        ART_73_DEADLINES,
    )
    doc.section(
        "Control statuses", controls_table(facts) if facts.controls else Text("No assessment.")
    )
    return doc


def declaration(facts: DocumentFacts) -> Document:
    """A draft EU declaration of conformity with the contents of Annex V, points 1 to 8."""
    doc = Document("EU declaration of conformity draft (Annex V)", header(facts), draft=True)
    system, model = facts.system, facts.model
    doc.sections.append(
        Section(
            "Draft",
            [
                Marker(
                    "DRAFT:",
                    "not valid until completed and signed by the provider (Art. 47).",
                    "draft",
                )
            ],
        )
    )
    ident = f"{system.name}" + (f", model {model.name} version {model.version}" if model else "")
    doc.section("1. Name, type and identifier of the AI system", Text(ident))
    doc.section(
        "2. Provider",
        Fields((("Name", system.provider),)),
        to_sign("postal address of the provider or authorised representative", "Annex V(2)"),
    )
    doc.section(
        "3. Sole responsibility",
        Text(
            "This EU declaration of conformity is issued under the sole responsibility of "
            f"{system.provider}."
        ),
    )
    doc.section(
        "4. Conformity",
        Text(
            "The AI system described above is in conformity with Regulation (EU) 2024/1689 and, "
            "where applicable, with other relevant Union law providing for this declaration."
        ),
    )
    doc.section(
        "5. Personal data",
        Text(
            "Where the AI system involves the processing of personal data, it complies with "
            "Regulations (EU) 2016/679 and (EU) 2018/1725 and Directive (EU) 2016/680."
        ),
    )
    standards = doc.section("6. Harmonised standards and common specifications")
    _human(
        standards,
        facts,
        "standards",
        "references of harmonised standards or common specifications",
        "Annex V(6)",
    )
    body = doc.section("7. Notified body")
    if any(point.startswith("1") for point in system.annex_iii):
        body.add(
            to_sign(
                "name and number of the notified body, procedure and certificate",
                "Annex V(7), Art. 43(1)",
            )
        )
    else:
        body.add(
            Text("None: conformity assessment based on internal control (Annex VI, Art. 43(2)).")
        )
    sign = doc.section("8. Place, date and signature")
    sign.add(
        to_sign("place and date of issue", "Annex V(8)"),
        to_sign("name and function of the person signing", "Annex V(8)"),
        to_sign("signature", "Annex V(8)"),
    )
    return doc
