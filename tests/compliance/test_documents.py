"""Compliance documents rendered from hand-built facts: content, placeholders, escaping, formats."""

from __future__ import annotations

import dataclasses
import itertools
import re
import sys
import time
from datetime import UTC, date, datetime

import pytest

from iml4e.compliance.document_facts import (
    AssessmentFacts,
    ControlFacts,
    DatasetFacts,
    DeploymentFacts,
    DocumentFacts,
    EvaluationFacts,
    IncidentFacts,
    ModelFacts,
    ObligationFacts,
    StepFacts,
    SystemFacts,
)
from iml4e.compliance.documents import (
    DOCUMENT_KINDS,
    annex_iv_sections,
    document_text,
    render_document,
    render_pdf,
)
from iml4e.compliance.errors import ComplianceError

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
HASH_TRAIN = "3f9a1c0be27d45aa" + "0" * 48
HASH_TEST = "b71e22d90c4f8e13" + "1" * 48
MODEL_SHA = "c0ffee1234abcd56" + "2" * 48
ANNEX_IV_HEADINGS = (
    "1. General description of the AI system",
    "2. Detailed description of the elements of the AI system and of the process for its "
    "development",
    "3. Monitoring, functioning and control of the AI system",
    "4. Appropriateness of the performance metrics",
    "5. Risk management system",
    "6. Relevant changes made through the lifecycle",
    "7. Harmonised standards and other solutions applied",
    "8. EU declaration of conformity",
    "9. Post-market monitoring system and plan",
)
HUMAN_KEYS = (
    "hardware",
    "instructions_for_use",
    "oversight",
    "cybersecurity",
    "risk_register",
    "changes",
    "standards",
    "monitoring_plan",
)
FULL_DATASHEET = {
    "origin": "Loan applications 2019-2024 of the bank's branches",
    "purpose": "Training the credit score",
    "collection": "Exported from the loan system",
    "labelling": "Default within 24 months",
    "cleaning": "Duplicates removed",
    "assumptions": "Applicants resemble future applicants",
}

SYSTEM = SystemFacts(
    name="Credit scoring",
    intended_purpose="Score the creditworthiness of natural persons applying for consumer loans.",
    provider="Demo Bank AG, Hauptstrasse 1, Vienna",
    role="provider",
    users_affected="loan applicants",
    models=("credit-score",),
    tier="high-risk",
    reasons=("Annex III point 5(b): creditworthiness of natural persons",),
    articles=("Art. 6(2)", "Annex III point 5(b)"),
    annex_iii=("5(b)",),
)

STATUSES = ("pass", "pass", "fail", "needs_attestation", "pass", "not_applicable")


def credit_facts(**changes: object) -> DocumentFacts:
    """A realistic high-risk credit-scoring system with every part written."""
    model = ModelFacts(
        name="credit-score",
        version="7",
        run_id="run-8842",
        registered_at=datetime(2026, 11, 1, 8, 0, tzinfo=UTC),
        aliases=("champion",),
        metrics={"accuracy": 0.874, "roc_auc": 0.912, "f1": 0.801},
        params={"max_depth": "6", "n_estimators": "300"},
        flavors=("python_function", "sklearn"),
        inputs=(
            {"name": "income", "type": "double", "required": True},
            {"name": "age", "type": "long", "required": True},
            {"name": "employment", "type": "string", "required": False},
        ),
        artifact_files=({"path": "model.pkl", "sha256": MODEL_SHA, "size_bytes": 48213},),
        approvals=({"actor": "risk-officer", "at": "2026-11-02", "note": "ok"},),
        registered_by="ml-engineer",
    )
    evaluation = EvaluationFacts(
        n_test_rows=2000,
        accuracy=0.8741,
        accuracy_low=0.8592,
        accuracy_high=0.8877,
        fairness=(
            {
                "feature": "sex",
                "demographic_parity_difference": 0.041,
                "equalized_odds_difference": 0.063,
                "groups": [
                    {
                        "group": "female",
                        "n": 960,
                        "selection_rate": 0.52,
                        "accuracy": 0.866,
                        "true_positive_rate": 0.81,
                        "false_positive_rate": 0.09,
                    },
                    {
                        "group": "male",
                        "n": 1040,
                        "selection_rate": 0.561,
                        "accuracy": 0.882,
                        "true_positive_rate": 0.84,
                        "false_positive_rate": 0.11,
                    },
                ],
            },
        ),
        robustness={
            "clean_accuracy": 0.874,
            "perturbed_accuracy": 0.851,
            "accuracy_drop": 0.023,
            "perturbations": ["gaussian noise 5%", "missing employment"],
        },
    )
    controls = tuple(
        ControlFacts(
            id=f"ART{9 + i}-CONTROL-{i}",
            title=f"Control number {i}",
            articles=(f"Art. {9 + i}",),
            type="automatic",
            status=STATUSES[i % len(STATUSES)],
            detail=f"detail {i}",
            required_for_promotion=i % 2 == 0,
            taken_at=NOW if i < 5 else None,
            attested_by="auditor" if i == 3 else None,
        )
        for i in range(10)
    )
    report = {
        "id": 41,
        "created_at": "2026-11-19 06:00",
        "n_rows": 1834,
        "drifted": ["income"],
        "metrics": {"accuracy": 0.861, "missing_rate": 0.01},
    }
    older = {**report, "id": 40, "created_at": "2026-11-12 06:00", "drifted": []}
    facts = DocumentFacts(
        system=SYSTEM,
        generated_at=NOW,
        on=date(2026, 11, 20),
        model=model,
        datasets=(
            DatasetFacts("credit-applications", 1, HASH_TRAIN, 10000, "s3://loans", FULL_DATASHEET),
            DatasetFacts("credit-holdout", 2, HASH_TEST, 2000, "s3://holdout", FULL_DATASHEET),
        ),
        steps=tuple(
            StepFacts(name, "credit", "prun-1", f"{i}a{i}b{i}c", "succeeded")
            for i, name in enumerate(("ingest", "train", "evaluate"))
        ),
        evaluation=evaluation,
        assessment=AssessmentFacts(
            id=12,
            created_at=NOW,
            stale=True,
            stale_reasons=("a new dataset version",),
            counts={"pass": 5, "fail": 2},
        ),
        controls=controls,
        deployments=(
            DeploymentFacts(
                name="credit-prod",
                model_version="credit-score/7",
                state="running",
                url="http://scoring.internal/credit",
                logging_enabled=True,
                latest_report=report,
                firing_alerts=("income drift above 0.2",),
                alert_rules=("drift(income) > 0.2", "accuracy < 0.8"),
                reports=(report, older),
            ),
        ),
        incidents=(
            IncidentFacts(
                id=3,
                deployment="credit-prod",
                severity="widespread",
                title="Applicants over 65 refused",
                description="All applicants over 65 scored zero.",
                opened_at=datetime(2026, 11, 19, 8, 0, tzinfo=UTC),
                due_at=datetime(2026, 11, 21, 8, 0, tzinfo=UTC),
                reported_at=None,
                state="open",
            ),
        ),
        obligations=(
            ObligationFacts(
                "High-risk obligations (Annex III)", ("Art. 8-27",), date(2026, 8, 2), "in force"
            ),
        ),
        human={
            "hardware": "2 vCPU, 4 GB RAM, Linux container",
            "instructions_for_use": {
                "contact": "ai@demobank.example",
                "expected_lifetime": "3 years",
            },
            "oversight": {"override": "Credit officers decide and may override every score"},
            "cybersecurity": "Model files pinned by hash; registry access by role",
            "risk_register": [
                {
                    "risk": "Indirect discrimination by age",
                    "mitigation": "Group monitoring",
                    "residual": "low",
                }
            ],
            "changes": ["Version 7 adds employment status"],
            "standards": ["ISO/IEC 42001", "ISO/IEC 23894"],
            "monitoring_plan": {"frequency": "weekly", "responsible": "model risk team"},
        },
        catalogue_version="2026.11",
        policy_signed_off_by="chief-risk-officer",
        policy_signed_off_at=NOW,
    )
    return dataclasses.replace(facts, **changes)


def minimal_facts(**changes: object) -> DocumentFacts:
    """A classified system with nothing else recorded and nothing written."""
    return DocumentFacts(system=SYSTEM, generated_at=NOW, on=date(2026, 11, 20), **changes)


def positions(text: str, headings: tuple[str, ...]) -> list[int]:
    return [text.index(heading) for heading in headings]


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_annex_iv_has_the_nine_sections_in_order(fmt: str) -> None:
    for facts in (credit_facts(), minimal_facts()):
        text = render_document("annex-iv", facts, fmt)
        found = positions(text, ANNEX_IV_HEADINGS)
        assert found == sorted(found)


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_annex_iv_shows_the_recorded_facts(fmt: str) -> None:
    text = render_document("annex-iv", credit_facts(), fmt)
    assert "credit-score version 7" in text
    assert HASH_TRAIN[:16] in text and HASH_TEST[:16] in text and MODEL_SHA[:16] in text
    assert "0.874 (95% interval 0.859 to 0.888, 2,000 test rows)" in text
    assert "0a0b0c" in text  # a step's code hash
    assert "female" in text and "0.866" in text  # per-group accuracy
    assert "0.851" in text  # perturbed accuracy
    assert "ART12-CONTROL-3" in text and "needs attestation" in text
    assert "a new dataset version" in text  # the stale assessment's reason
    assert "High-risk obligations (Annex III)" in text
    assert "2026-11-20 09:30 UTC" in text
    assert "To be written by the provider" not in text
    assert "Not recorded by the platform" not in text


def test_placeholders_name_exactly_the_missing_human_parts() -> None:
    html = render_document("annex-iv", minimal_facts(), "html")
    md = render_document("annex-iv", minimal_facts(), "md")
    written = re.findall(r"system file key '(\w+)'", md)
    assert sorted(written) == sorted(HUMAN_KEYS)
    assert html.count('<p class="to-write"><strong>To be written by the provider:') == 8
    assert md.count("> **To be written by the provider:**") == 8
    assert "Annex IV(5), Art. 9" in md  # the risk register's placeholder cites its article
    for key in HUMAN_KEYS:
        human = {k: v for k, v in credit_facts().human.items() if k != key}
        text = render_document("annex-iv", credit_facts(human=human), "md")
        assert re.findall(r"system file key '(\w+)'", text) == [key]


def test_annex_iv_sections_of_a_complete_system_are_filled() -> None:
    sections = annex_iv_sections(credit_facts())
    assert [s.number for s in sections] == list(range(1, 10))
    assert [f"{s.number}. {s.title}" for s in sections] == list(ANNEX_IV_HEADINGS)
    assert all(s.filled and s.missing == () for s in sections)


def test_annex_iv_sections_of_a_bare_system_name_what_is_missing() -> None:
    missing = {s.number: s.missing for s in annex_iv_sections(minimal_facts())}
    assert missing == {
        1: ("model version", "hardware", "instructions_for_use"),
        2: (
            "pipeline steps",
            "model version",
            "datasets",
            "oversight",
            "evaluation",
            "cybersecurity",
        ),
        3: ("evaluation", "model version"),
        4: ("evaluation", "policy sign-off"),
        5: ("risk_register",),
        6: ("changes",),
        7: ("standards",),
        8: (),
        9: ("monitoring_plan",),
    }
    assert [s.filled for s in annex_iv_sections(minimal_facts())] == [False] * 7 + [True, False]


def test_an_incomplete_datasheet_is_missing_and_marked() -> None:
    facts = credit_facts()
    partial = dataclasses.replace(facts.datasets[0], datasheet={"origin": "branches"})
    facts = dataclasses.replace(facts, datasets=(partial, facts.datasets[1]))
    section_2 = annex_iv_sections(facts)[1]
    assert not section_2.filled
    assert section_2.missing == ("datasheet of credit-applications@1",)
    text = render_document("annex-iv", facts, "md")
    assert "datasheet of credit-applications@1: purpose, collection, labelling, cleaning" in text


def test_html_is_escaped_and_markdown_is_not() -> None:
    system = dataclasses.replace(SYSTEM, name="<script>alert(1)</script> scoring")
    facts = credit_facts(system=system)
    html = render_document("annex-iv", facts, "html")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; scoring" in html
    assert "<script>alert(1)</script> scoring" in render_document("annex-iv", facts, "md")


def test_html_is_a_self_contained_accessible_page() -> None:
    html = render_document("annex-iv", credit_facts(), "html")
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in html
    assert "<title>Technical documentation (Annex IV): Credit scoring</title>" in html
    assert '<th scope="col">Content hash (SHA-256)</th>' in html
    assert "@page" in html
    assert "http://" not in html.replace("http://scoring.internal/credit", "")
    assert "<link" not in html and "<script" not in html
    levels = [int(level) for level in re.findall(r"<h(\d)>", html)]
    assert levels[0] == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels))


def test_markdown_renders_tables_and_headings() -> None:
    md = render_document("annex-iv", credit_facts(), "md")
    assert md.startswith("# Technical documentation (Annex IV)\n")
    assert (
        "| Dataset | Version | Rows | Source | Content hash (SHA-256) |\n"
        "| --- | --- | --- | --- | --- |\n" in md
    )
    assert f"| credit-applications | 1 | 10,000 | s3://loans | {HASH_TRAIN} |" in md
    assert "| **Model version** | credit-score version 7 |" in md
    assert "\n\n\n" not in md
    assert "&lt;" not in md


@pytest.mark.parametrize("kind", list(DOCUMENT_KINDS))
@pytest.mark.parametrize("fmt", ["html", "md"])
def test_every_kind_renders_in_both_formats(kind: str, fmt: str) -> None:
    for facts in (credit_facts(), minimal_facts()):
        text = render_document(kind, facts, fmt)
        assert DOCUMENT_KINDS[kind] in text
        assert "Credit scoring" in text
        assert document_text(kind, facts, fmt) == text.encode("utf-8")


def test_instructions_follow_article_13() -> None:
    md = render_document("instructions", credit_facts(), "md")
    for part in (
        "13(3)(a)",
        "13(3)(b)",
        "(ii) Accuracy",
        "(v) Performance",
        "13(3)(c)",
        "13(3)(d)",
        "13(3)(e)",
        "13(3)(f)",
    ):
        assert part in md
    assert "0.874 (95% interval 0.859 to 0.888" in md
    assert "| income | double | yes |" in md
    assert "| male | 1,040 |" in md
    assert "ai@demobank.example" in md and "3 years" in md


def test_monitoring_documents_show_reports_alerts_and_incident_clocks() -> None:
    plan = render_document("monitoring-plan", credit_facts(), "md")
    assert "drift(income) > 0.2" in plan and "weekly" in plan
    assert "15 days" in plan and "2 days" in plan and "10 days" in plan
    report = render_document("monitoring-report", credit_facts(), "md")
    assert "From 2026-11-12 06:00 to 2026-11-19 06:00: 2 monitoring reports." in report
    assert "income drift above 0.2" in report
    assert "| 3 | credit-prod | widespread | Applicants over 65 refused |" in report
    assert "22 hours left" in report
    late = render_document(
        "monitoring-report", credit_facts(generated_at=datetime(2026, 12, 1, tzinfo=UTC)), "md"
    )
    assert "overdue" in late


def test_declaration_is_a_draft_with_annex_v_points_to_sign() -> None:
    md = render_document("declaration", credit_facts(), "md")
    assert md.startswith("# DRAFT: EU declaration of conformity draft (Annex V)")
    for point in range(1, 9):
        assert f"## {point}. " in md
    assert "sole responsibility of Demo Bank AG" in md
    assert "internal control (Annex VI, Art. 43(2))" in md
    assert md.count("> **To be completed when signing:**") == 4
    assert "ISO/IEC 42001" in md


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda: render_document("annex-v", minimal_facts()), "'annex-v'"),
        (lambda: render_document("annex-iv", minimal_facts(), "pdf"), "'pdf'"),
        (lambda: document_text("annex-iv", minimal_facts(), "docx"), "'docx'"),
    ],
)
def test_unknown_kind_or_format_is_named(call, named: str) -> None:
    with pytest.raises(ComplianceError) as raised:
        call()
    assert named in str(raised.value)
    assert "use one of:" in str(raised.value)


def test_rendering_is_fast() -> None:
    facts = credit_facts()
    started = time.perf_counter()
    render_document("annex-iv", facts, "html")
    render_document("annex-iv", facts, "md")
    assert time.perf_counter() - started < 1.0


def test_pdf_of_the_technical_documentation() -> None:
    pdf = document_text("annex-iv", credit_facts(), "pdf")
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > 20_000
    assert render_pdf("<p>x</p>").startswith(b"%PDF")


def test_pdf_without_weasyprint_names_the_extra_and_answers_501(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from iml4e.compliance.documents import render_pdf
    from iml4e.compliance.errors import PdfUnavailable
    from iml4e.server.http_errors import status_of

    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as on a machine without the extra
    with pytest.raises(PdfUnavailable, match=r"pip install 'iml4e\[pdf\]'") as refused:
        render_pdf("<p>x</p>")
    assert status_of(refused.value) == 501
