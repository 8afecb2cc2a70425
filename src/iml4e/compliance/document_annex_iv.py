"""The technical documentation of Annex IV, and which of its nine sections are complete.

The document and the completeness check come from the same builder: every placeholder the
document shows is also what :func:`annex_iv_sections` reports as missing, so the control that
checks completeness and the document a person reads cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from iml4e.compliance.document_blocks import (
    DATASHEET_FIELDS,
    REPORT_COLUMNS,
    Document,
    Fields,
    Items,
    Section,
    Table,
    Text,
    accuracy_line,
    datasets_table,
    fairness_blocks,
    header,
    human_fields,
    inputs_table,
    metrics_table,
    not_recorded,
    num,
    obligations_blocks,
    report_row,
    risk_table,
    robustness_fields,
    status_blocks,
    text,
    to_write,
    when,
)
from iml4e.compliance.document_facts import DocumentFacts

ANNEX_IV_TITLES = (
    "General description of the AI system",
    "Detailed description of the elements of the AI system and of the process for its development",
    "Monitoring, functioning and control of the AI system",
    "Appropriateness of the performance metrics",
    "Risk management system",
    "Relevant changes made through the lifecycle",
    "Harmonised standards and other solutions applied",
    "EU declaration of conformity",
    "Post-market monitoring system and plan",
)
"""The headings of Annex IV's nine sections, in the Annex's order."""


@dataclass(frozen=True)
class AnnexIVSection:
    """One of Annex IV's nine sections and whether the facts fill it.

    ``missing`` names the human-written parts not yet written (a system-file key such as
    ``risk_register``, or ``datasheet of <dataset>@<version>``) and the platform facts absent
    (such as ``model version`` or ``evaluation``); a section is filled when nothing is missing.
    """

    number: int
    title: str
    filled: bool
    missing: tuple[str, ...]


class _Builder:
    """Builds the document and records, per section, each gap it marks."""

    def __init__(self, facts: DocumentFacts) -> None:
        self.facts = facts
        self.missing: dict[int, list[str]] = {n: [] for n in range(1, 10)}

    def human(self, n: int, where: Section, key: str, what: str, article: str) -> Any:
        """The human part ``key``, or ``None`` after marking it as still to be written."""
        value = self.facts.human.get(key)
        if value:
            return value
        where.add(to_write(what, article, key))
        self.missing[n].append(key)
        return None

    def absent(self, n: int, where: Section, fact: str, article: str) -> None:
        """Mark a platform fact as not recorded."""
        where.add(not_recorded(fact, article))
        if fact not in self.missing[n]:
            self.missing[n].append(fact)


def build_annex_iv(facts: DocumentFacts) -> tuple[Document, dict[int, list[str]]]:
    """The Annex IV document and what each of its sections is missing."""
    b = _Builder(facts)
    doc = Document("Technical documentation (Annex IV)", header(facts))
    doc.section("Obligations in force", *obligations_blocks(facts))
    sections = [
        doc.section(f"{n}. {title} (Annex IV({n}))") for n, title in enumerate(ANNEX_IV_TITLES, 1)
    ]
    _general(b, sections[0])
    _development(b, sections[1])
    _functioning(b, sections[2])
    _metrics(b, sections[3])
    _risks(b, sections[4])
    _changes(b, sections[5])
    b.human(
        7,
        sections[6],
        "standards",
        "harmonised standards or other solutions applied",
        "Annex IV(7), Art. 40",
    )
    if facts.human.get("standards"):
        sections[6].add(Items(tuple(map(text, facts.human["standards"]))))
    sections[7].add(
        Text(
            "The EU declaration of conformity (Art. 47, Annex V) is drawn up as the separate "
            "document 'EU declaration of conformity draft'; the signed copy is kept with this "
            "documentation."
        )
    )
    _monitoring(b, sections[8])
    doc.section("Compliance status", *status_blocks(facts))
    return doc, b.missing


def _general(b: _Builder, s: Section) -> None:
    facts, system, model = b.facts, b.facts.system, b.facts.model
    a = s.sub("(a) Intended purpose, provider and version")
    version = f"{model.name} version {model.version}" if model else "—"
    a.add(
        Fields(
            (
                ("Intended purpose", system.intended_purpose),
                ("Provider", f"{system.provider} (role: {system.role})"),
                ("Version", version),
                ("Persons affected", system.users_affected),
                ("Classification", f"{system.tier}: {text(system.articles)}"),
                ("Annex III points", text(system.annex_iii)),
                ("Models of the system", text(system.models)),
            )
        )
    )
    if system.reasons:
        a.add(Items(system.reasons))
    if model is None:
        b.absent(1, a, "model version", "Annex IV(1)(a)")
    other = s.sub("(b) and (c) Interaction with other systems, software versions and updates")
    if model is not None:
        other.add(
            Fields((("Model flavours", text(model.flavors)), ("Training run", text(model.run_id))))
        )
    other.add(
        Text(
            "Deployments serving the system: "
            + (
                text([f"{d.name} ({d.model_version}, {d.state})" for d in facts.deployments])
                if facts.deployments
                else "none yet."
            )
        )
    )
    forms = s.sub("(d) Forms in which the system is placed on the market")
    served = [d.url for d in facts.deployments if d.url]
    forms.add(
        Text(
            "Model package in the model registry"
            + (f"; HTTP API at {text(served)}." if served else ".")
        )
    )
    hw = s.sub("(e) Hardware on which the system is intended to run")
    if b.human(
        1,
        hw,
        "hardware",
        "hardware and computational resources the system runs on",
        "Annex IV(1)(e)",
    ):
        hw.add(Text(text(facts.human["hardware"])))
    ifu = s.sub("(h) Instructions for use")
    ifu.add(Text("Generated as the separate document 'Instructions for use' (Art. 13)."))
    if b.human(
        1,
        ifu,
        "instructions_for_use",
        "the provider's instructions for use for deployers",
        "Annex IV(1)(h), Art. 13(3)",
    ):
        ifu.add(human_fields(facts.human["instructions_for_use"]))


def _development(b: _Builder, s: Section) -> None:
    facts, model, ev = b.facts, b.facts.model, b.facts.evaluation
    steps = s.sub("(a) Methods and steps of development")
    if facts.steps:
        steps.add(
            Table(
                ("Step", "Pipeline", "Pipeline run", "Code hash", "Status"),
                tuple(
                    (st.name, text(st.pipeline), st.pipeline_run_id, text(st.code_hash), st.status)
                    for st in facts.steps
                ),
            )
        )
    else:
        b.absent(2, steps, "pipeline steps", "Annex IV(2)(a)")
    design = s.sub("(b) and (c) Design specifications, system architecture and resources")
    if model is None:
        b.absent(2, design, "model version", "Annex IV(2)(b)")
    else:
        design.add(
            Fields(
                (
                    ("Model", f"{model.name} version {model.version}"),
                    ("Flavours", text(model.flavors)),
                    ("Training run", text(model.run_id)),
                    ("Registered", f"{when(model.registered_at)} by {text(model.registered_by)}"),
                )
            ),
            Table(("Parameter", "Value"), tuple(sorted(model.params.items()))),
        )
    data = s.sub("(d) Data requirements and datasheets")
    if facts.datasets:
        data.add(datasets_table(facts))
    else:
        b.absent(2, data, "datasets", "Annex IV(2)(d)")
    for d in facts.datasets:
        ref = f"{d.name}@{d.version}"
        data.add(Text(f"Datasheet of {ref} (content hash {d.content_hash})."))
        if d.datasheet:
            data.add(Fields(tuple((k.capitalize(), v) for k, v in d.datasheet.items())))
        gaps = [f for f in DATASHEET_FIELDS if not d.datasheet.get(f)]
        if gaps:
            data.add(
                to_write(f"datasheet of {ref}: {', '.join(gaps)}", "Annex IV(2)(d), Art. 10(2)")
            )
            b.missing[2].append(f"datasheet of {ref}")
    oversight = s.sub("(e) Assessment of the human-oversight measures")
    if b.human(
        2,
        oversight,
        "oversight",
        "human-oversight measures and their assessment",
        "Annex IV(2)(e), Art. 14",
    ):
        oversight.add(human_fields(facts.human["oversight"]))
    changes = s.sub("(f) Pre-determined changes and continuous compliance")
    continuous = (
        f"Every assessment re-runs the {len(facts.controls)} controls of catalogue version "
        f"{facts.catalogue_version or '(not recorded)'} on the version"
        if facts.controls
        else "No control has been assessed on this version yet"
    )
    changes.add(Text(f"{continuous}; planned changes are listed in section 6."))
    tests = s.sub("(g) Validation and testing procedures")
    if ev is None:
        b.absent(2, tests, "evaluation", "Annex IV(2)(g)")
    else:
        tests.add(Fields((("Accuracy", accuracy_line(ev)),)))
        if model is not None and model.metrics:
            tests.add(metrics_table(model.metrics))
        tests.add(*fairness_blocks(ev))
        if ev.robustness:
            tests.add(Text("Robustness:"), robustness_fields(ev.robustness))
    logs = [c for c in facts.controls if c.taken_at is not None]
    if logs:
        tests.add(
            Text("Test log: dated control results."),
            Table(
                ("Control", "Status", "Taken at", "Attested by"),
                tuple(
                    (c.id, c.status.replace("_", " "), when(c.taken_at), text(c.attested_by))
                    for c in logs
                ),
            ),
        )
    cyber = s.sub("(h) Cybersecurity measures")
    if b.human(2, cyber, "cybersecurity", "cybersecurity measures", "Annex IV(2)(h), Art. 15(5)"):
        cyber.add(Text(text(facts.human["cybersecurity"])))
    if model is not None and model.artifact_files:
        cyber.add(
            Text("Model files, pinned by SHA-256:"),
            Table(
                ("File", "SHA-256", "Bytes"),
                tuple(
                    (text(f.get("path")), text(f.get("sha256")), num(f.get("size_bytes")))
                    for f in model.artifact_files
                ),
            ),
        )
    elif model is not None:
        b.absent(2, cyber, "model file hashes", "Annex IV(2)(h)")


def _functioning(b: _Builder, s: Section) -> None:
    facts, ev = b.facts, b.facts.evaluation
    cap = s.sub("Capabilities and limitations in performance")
    if ev is None:
        b.absent(3, cap, "evaluation", "Annex IV(3)")
    else:
        cap.add(Fields((("Overall accuracy", accuracy_line(ev)),)), *fairness_blocks(ev))
    s.sub(
        "Foreseeable unintended outcomes, sources of risk and human oversight",
        Text(
            "Risks and their mitigations are in section 5; human-oversight measures in "
            "section 2(e)."
        ),
    )
    spec = s.sub("Input data specifications")
    if facts.model is None:
        b.absent(3, spec, "model version", "Annex IV(3)")
    elif facts.model.inputs:
        spec.add(inputs_table(facts.model.inputs))
    else:
        b.absent(3, spec, "input signature", "Annex IV(3)")


def _metrics(b: _Builder, s: Section) -> None:
    facts = b.facts
    if facts.evaluation is None:
        b.absent(4, s, "evaluation", "Annex IV(4)")
    else:
        s.add(
            Text(
                "Accuracy is reported with its 95% interval; per-group selection rates, accuracy "
                "and error rates with the parity gaps show potentially discriminatory impacts "
                "(Art. 15(1), Art. 10(2)(f)); accuracy under perturbation shows robustness."
            )
        )
    if facts.policy_signed_off_by:
        s.add(
            Text(
                f"The thresholds are set by the compliance policy signed off by "
                f"{facts.policy_signed_off_by} on {when(facts.policy_signed_off_at)} (Art. 9(8))."
            )
        )
    else:
        b.absent(4, s, "policy sign-off", "Art. 9(8)")


def _risks(b: _Builder, s: Section) -> None:
    register = b.human(
        5,
        s,
        "risk_register",
        "risk register: risks, mitigations and residual risk",
        "Annex IV(5), Art. 9",
    )
    if register:
        s.add(risk_table(register))


def _changes(b: _Builder, s: Section) -> None:
    model = b.facts.model
    changes = b.human(6, s, "changes", "relevant changes made through the lifecycle", "Annex IV(6)")
    if changes:
        s.add(Items(tuple(map(text, changes))))
    if model is not None and model.approvals:
        s.add(
            Text("Approvals of this version:"),
            Table(
                ("Approved by", "At", "Note"),
                tuple(
                    (text(a.get("actor")), text(a.get("at")), text(a.get("note")))
                    for a in model.approvals
                ),
            ),
        )


def _monitoring(b: _Builder, s: Section) -> None:
    facts = b.facts
    plan = b.human(
        9, s, "monitoring_plan", "post-market monitoring plan", "Annex IV(9), Art. 72(3)"
    )
    if plan:
        s.add(
            human_fields(plan),
            Text("The full plan is the separate document 'Post-market monitoring plan'."),
        )
    if not facts.deployments:
        s.add(Text("No deployment serves the system yet."))
        return
    s.add(
        Table(
            ("Deployment", "Model version", "State", "Logging", "Alert rules", "Firing alerts"),
            tuple(
                (
                    d.name,
                    d.model_version,
                    d.state,
                    "on" if d.logging_enabled else "off",
                    text(d.alert_rules),
                    text(d.firing_alerts) if d.firing_alerts else "none",
                )
                for d in facts.deployments
            ),
        )
    )
    latest = [report_row(d.name, d.latest_report) for d in facts.deployments if d.latest_report]
    if latest:
        s.add(Text("Latest monitoring reports:"), Table(REPORT_COLUMNS, tuple(latest)))


def annex_iv_sections(facts: DocumentFacts) -> list[AnnexIVSection]:
    """Annex IV's nine sections, each saying whether the facts fill it and what is missing.

    Used by the control that checks the technical documentation is complete (Art. 11(1)); the
    list always has nine entries numbered 1 to 9 with Annex IV's headings.
    """
    _, missing = build_annex_iv(facts)
    return [
        AnnexIVSection(n, title, not missing[n], tuple(missing[n]))
        for n, title in enumerate(ANNEX_IV_TITLES, 1)
    ]
