"""``iml4e comply …`` through the real command line, in process, on a SQLite home.

One credit model is trained per module; the credit-scoring system is registered against it
with a signed policy, then assessed, attested, documented and given incidents.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from iml4e.cli.main import main
from iml4e.compliance.policy import policy_template_text
from iml4e.compliance.systems import system_example_path
from iml4e.config import load_settings
from iml4e.pipelines import run_pipeline
from iml4e.scenarios.training import train_case
from iml4e.serving.deployments import record_deployment
from iml4e.store import open_store
from iml4e.store.models import (
    AISystem,
    Attestation,
    ComplianceAssessment,
    ComplianceDocument,
    Incident,
)

SYSTEM = "credit-scoring"
MODEL = "credit-default"
DEPLOYMENT = "credit-default"
RECORDS = (AISystem, ComplianceAssessment, Attestation, ComplianceDocument, Incident)


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def comply(home: Path, *args: str) -> Ran:
    """Run ``iml4e --home HOME comply ARGS`` as the ``iml4e`` command does, exit code included."""
    out, err = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        pytest.raises(SystemExit) as exited,
    ):
        main(["--home", str(home), "comply", *args])
    code = exited.value.code
    return Ran(code if isinstance(code, int) else 0, out.getvalue(), err.getvalue())


def records(home: Path) -> dict[str, int]:
    """How many systems, assessments, attestations, documents and incidents are recorded."""
    settings = load_settings({"home": str(home)}, environ={}, cwd=home).settings
    with open_store(settings) as store, store.session() as session:
        return {
            table.__tablename__: session.scalar(select(func.count()).select_from(table)) or 0
            for table in RECORDS
        }


def refused(home: Path, *args: str) -> str:
    """Run a command that must exit 2 and record nothing; its error message.

    iml4e's errors are one ``error:`` line; bad arguments get click's usage and ``Error:`` line.
    """
    before = records(home)
    ran = comply(home, *args)
    assert ran.code == 2, (ran.out, ran.err)
    assert records(home) == before
    (line,) = [line for line in ran.err.splitlines() if line.lower().startswith("error: ")]
    return line


def signed_policy(**limits: object) -> str:
    text = (
        policy_template_text()
        .replace('system: ""', f"system: {SYSTEM}")
        .replace('signed_off_by: ""', "signed_off_by: Head of Credit Risk")
        .replace("signed_off_at: null", "signed_off_at: 2026-01-01T00:00:00Z")
    )
    for name, value in limits.items():
        text += f"  {name}: {value}\n"
    return text


def system_file(tmp: Path, name: str = SYSTEM, drop: str | None = None) -> Path:
    text = system_example_path("credit_scoring").read_text()
    text = text.replace(f"name: {SYSTEM}\n", f"name: {name}\n", 1)
    if drop is not None:
        text = "".join(line for line in text.splitlines(True) if not line.startswith(drop))
    path = tmp / f"{name}-{drop or 'full'}.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with credit-default version 1 trained and credit-scoring registered with a policy."""
    base = tmp_path_factory.mktemp("comply")
    home = base / "home"
    settings = load_settings({"home": str(home)}, environ={}, cwd=base).settings
    run_pipeline(
        train_case,
        {"case": "credit", "rows": 3000, "seed": 7},
        settings=settings,
        experiment="credit-default",
    )
    policy = base / "policy.yaml"
    policy.write_text(signed_policy())
    registered = comply(
        home, "register", str(system_example_path("credit_scoring")), "--policy", str(policy)
    )
    assert registered.code == 0, registered.err
    assert "tier: high-risk" in registered.out
    return home


def test_catalogue_examples_classify_template_and_calendar(tmp_path: Path) -> None:
    home = tmp_path / "home"
    controls = comply(home, "controls", "--json").json()
    assert sum(controls["coverage"].values()) == len(controls["controls"])
    assert set(controls["coverage"]) == {"automatic", "semi-automatic", "attestation"}
    table = comply(home, "controls")
    assert table.code == 0 and "automatic: " in table.out

    examples = comply(home, "examples", "--json").json()
    assert {e["name"]: e["expected_tier"] for e in examples}["credit_scoring"] == "high-risk"
    by_example = comply(home, "classify", "--example", "corporate_chatbot", "--json").json()
    assert by_example["tier"] == "limited"
    by_file = comply(home, "classify", str(system_example_path("credit_scoring")))
    assert by_file.code == 0
    assert "tier: high-risk" in by_file.out and "Annex III point 5(b)" in by_file.out

    template = comply(home, "policy-template")
    assert template.out == policy_template_text()

    obligations = comply(
        home, "calendar", "--on", "2027-01-01", "--tier", "high-risk", "--annex", "III", "--json"
    ).json()
    assert obligations and all(o["applies_from"] <= "2027-01-01" for o in obligations)
    assert any("Art. 9" in o["articles"] for o in obligations)
    before = comply(home, "calendar", "--on", "2024-09-01", "--tier", "minimal", "--json")
    assert before.json() == []
    assert comply(home, "calendar", "--tier", "limited").code == 0
    assert comply(home, "calendar", "--tier", "huge").code == 2
    assert comply(home, "classify").code == 2  # neither a file nor an example


def test_bad_system_and_policy_files_are_refused_and_record_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    good = system_file(tmp_path)
    assert "no-such.yaml: cannot read" in refused(home, "register", str(tmp_path / "no-such.yaml"))

    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nprovider: [unclosed\nrole: provider\n")
    assert f"{broken}:3: not valid YAML" in refused(home, "register", str(broken))
    assert f"{broken}:3" in refused(home, "classify", str(broken))

    incomplete = system_file(tmp_path, drop="  profiling:")
    assert "profiling" in refused(home, "register", str(incomplete))
    assert "profiling" in refused(home, "classify", str(incomplete))
    assert "no such worked example" in refused(home, "classify", "--example", "nope")

    unknown_limit = tmp_path / "unknown-limit.yaml"
    unknown_limit.write_text(signed_policy(max_coffee_breaks=3))
    message = refused(home, "register", str(good), "--policy", str(unknown_limit))
    assert "limits.max_coffee_breaks: no control reads this limit" in message

    wrong_unit = tmp_path / "wrong-unit.yaml"
    wrong_unit.write_text(signed_policy().replace("min_accuracy: 0.75", "min_accuracy: 75"))
    message = refused(home, "register", str(good), "--policy", str(wrong_unit))
    assert "limits.min_accuracy: a ratio must be between 0 and 1, got 75" in message

    unsigned = tmp_path / "unsigned.yaml"
    unsigned.write_text(signed_policy().replace("Head of Credit Risk", '""'))
    assert "signed_off_by" in refused(home, "register", str(good), "--policy", str(unsigned))

    assert comply(home, "systems", "--json").json() == []
    assert "no such AI system" in refused(home, "show", SYSTEM)


def test_systems_show_and_status_before_any_assessment(home: Path, tmp_path: Path) -> None:
    spare = comply(home, "register", str(system_file(tmp_path, name="spare")), "--json").json()
    assert (spare["name"], spare["tier"], spare["policy"]) == ("spare", "high-risk", None)

    systems = {s["name"]: s for s in comply(home, "systems", "--json").json()}
    assert systems[SYSTEM]["models"] == [MODEL]
    assert systems[SYSTEM]["policy"]["signed_off_by"] == "Head of Credit Risk"
    table = comply(home, "systems")
    assert table.code == 0 and "Head of Credit Risk" in table.out

    shown = comply(home, "show", "spare", "--json").json()
    assert shown["latest_assessment"] is None
    assert shown["classification"]["annex_iii"] == ["5(b)"]
    assert "not assessed yet" in comply(home, "show", "spare").out
    assert "spare: not assessed yet (iml4e comply assess spare)" in refused(home, "status", "spare")
    assert "no such AI system" in refused(home, "status", "nope")


def test_assess_status_attest_and_show(home: Path) -> None:
    assessed = comply(home, "assess", SYSTEM, "--actor", "auditor", "--json")
    assert assessed.code == 0, assessed.err
    first = assessed.json()
    assert (first["model"], first["version"], first["actor"]) == (MODEL, "1", "auditor")
    assert sum(first["counts"].values()) == len(first["results"])
    assert "ART14-OVERSIGHT-STAFF" in first["blocking"]

    gated = comply(home, "assess", SYSTEM, "--require-pass")
    assert gated.code == 1
    assert "ART14-OVERSIGHT-STAFF" in gated.out and "blocking promotion:" in gated.out
    assert "required controls block promotion" in gated.err

    status = comply(home, "status", SYSTEM, "--model", MODEL, "--version", "1", "--json").json()
    assert status["id"] == first["id"] + 1 and status["stale_reasons"] == []
    assert comply(home, "status", SYSTEM).code == 0

    every = comply(
        home,
        "attest",
        SYSTEM,
        "ART14-OVERSIGHT-STAFF",
        "--statement",
        "Two credit officers are assigned to oversight.",
        "--actor",
        "Head of Credit Risk",
    )
    assert every.code == 0, every.err
    assert "for every version of its models" in every.out
    one = comply(
        home,
        "attest",
        SYSTEM,
        "ART9-RESIDUAL-RISK",
        "--statement",
        "Residual risks are acceptable.",
        "--version",
        "1",
        "--json",
    ).json()
    assert (one["model"], one["version"]) == (MODEL, "1")

    listed = comply(home, "attestations", SYSTEM, "--json").json()
    assert [(a["control"], a["version"]) for a in listed] == [
        ("ART14-OVERSIGHT-STAFF", "all"),
        ("ART9-RESIDUAL-RISK", "1"),
    ]
    only = comply(home, "attestations", SYSTEM, "--control", "ART9-RESIDUAL-RISK", "--json")
    assert len(only.json()) == 1
    assert comply(home, "attestations", SYSTEM).code == 0

    after = comply(home, "status", SYSTEM, "--json").json()
    oversight = next(r for r in after["results"] if r["control"] == "ART14-OVERSIGHT-STAFF")
    assert oversight["status"] == "pass" and oversight["attested_by"] == "Head of Credit Risk"
    assert "ART14-OVERSIGHT-STAFF" not in after["blocking"]

    shown = comply(home, "show", SYSTEM, "--json").json()
    assert shown["latest_assessment"]["id"] == after["id"]
    assert comply(home, "show", SYSTEM).code == 0


def test_bad_assessments_and_attestations_record_nothing(home: Path) -> None:
    assert "nope: no such AI system" in refused(home, "assess", "nope")
    assert "does not use model 'other'" in refused(home, "assess", SYSTEM, "--model", "other")
    statement = ("--statement", "ok")
    assert "NOPE: no such control" in refused(home, "attest", SYSTEM, "NOPE", *statement)
    unknown = refused(home, "attest", "nope", "ART14-OVERSIGHT-STAFF", *statement)
    assert "no such AI system" in unknown
    message = refused(home, "attest", SYSTEM, "ART9-RESIDUAL-RISK", *statement, "--version", "99")
    assert "version 99: model 'credit-default' has no version 99" in message
    automatic = refused(home, "attest", SYSTEM, "ART10-DATA-HASH", *statement)
    assert "an automatic control is measured by the platform" in automatic
    assert "no such AI system" in refused(home, "attestations", "nope")


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_report_writes_a_recorded_document(home: Path, fmt: str) -> None:
    written = comply(home, "report", SYSTEM, "--format", fmt, "--on", "2026-12-01", "--json")
    assert written.code == 0, written.err
    record = written.json()
    path = Path(record["path"])
    assert (record["kind"], record["format"], record["version"]) == ("annex-iv", fmt, "1")
    assert path.is_file() and path.suffix == f".{fmt}"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == record["sha256"]

    people = comply(home, "report", SYSTEM, "--kind", "instructions", "--format", fmt)
    assert people.code == 0, people.err
    path_line, sha_line = people.out.strip().splitlines()
    instructions = Path(path_line.split(": ", 1)[1])
    assert instructions.is_file()
    assert sha_line == f"sha256 {hashlib.sha256(instructions.read_bytes()).hexdigest()}"


def test_bad_reports_record_nothing(home: Path) -> None:
    assert "'docx' is not one of" in refused(home, "report", SYSTEM, "--format", "docx")
    assert "'poem' is not one of" in refused(home, "report", SYSTEM, "--kind", "poem")
    assert "no such AI system" in refused(home, "report", "nope")
    assert "--on" in refused(home, "report", SYSTEM, "--on", "01/12/2026")


def test_incidents_freeze_report_close_and_reassess(home: Path) -> None:
    settings = load_settings({"home": str(home)}, environ={}, cwd=home).settings
    with open_store(settings) as store:
        record_deployment(
            store, DEPLOYMENT, model_name=MODEL, model_version="1", url=None, actor="ops"
        )
    assert comply(home, "assess", SYSTEM, "--deployment", DEPLOYMENT).code == 0

    opened = comply(
        home,
        "incident",
        "open",
        SYSTEM,
        "--deployment",
        DEPLOYMENT,
        "--severity",
        "widespread",
        "--title",
        "Refusals spiked for one postcode",
        "--actor",
        "ops",
        "--json",
    ).json()
    assert (opened["state"], opened["article"], opened["freezes_promotion"]) == (
        "open",
        "Art. 73(3)",
        True,
    )
    number = str(opened["id"])

    listed = comply(home, "incident", "list", "--system", SYSTEM, "--open", "--json").json()
    assert [i["id"] for i in listed] == [opened["id"]]
    assert comply(home, "incident", "list").code == 0
    draft = comply(home, "incident", "draft", number)
    assert draft.out.startswith(f"# DRAFT — Serious incident report #{number} (Art. 73(3))")

    stale = comply(home, "status", SYSTEM, "--json").json()
    assert any("incident" in reason for reason in stale["stale_reasons"])
    fresh = comply(home, "reassess", "--json").json()
    assert [(a["system"], a["stale"]) for a in fresh] == [(SYSTEM, False)]
    assert comply(home, "reassess").out.strip() != ""

    lifted = comply(home, "incident", "override", number, "--reason", "hotfix", "--json").json()
    assert lifted["freezes_promotion"] is False
    assert "reported" in comply(home, "incident", "report", number).out
    closed = comply(home, "incident", "close", number, "--note", "postcode fixed", "--json")
    assert closed.json()["state"] == "closed"
    assert comply(home, "incident", "list", "--open", "--json").json() == []


def test_bad_incidents_record_nothing(home: Path) -> None:
    args = ("--severity", "serious", "--title", "t")
    message = refused(home, "incident", "open", SYSTEM, "--deployment", "ghost", *args)
    assert "deployment 'ghost': no such deployment" in message
    assert "no such AI system" in refused(
        home, "incident", "open", "nope", "--deployment", DEPLOYMENT, *args
    )
    bad_severity = ("--severity", "mild", "--title", "t")
    assert "'mild' is not one of" in refused(
        home, "incident", "open", SYSTEM, "--deployment", DEPLOYMENT, *bad_severity
    )
    assert "no incident #999" in refused(home, "incident", "report", "999")
    assert "no incident #999" in refused(home, "incident", "draft", "999")
    assert "no such AI system" in refused(home, "incident", "list", "--system", "nope")
