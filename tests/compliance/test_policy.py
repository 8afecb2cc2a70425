"""The per-system compliance policy: signed off, checked against the catalogue."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from iml4e.compliance.catalogue import ControlCatalogue, load_catalogue
from iml4e.compliance.errors import CatalogueInvalid
from iml4e.compliance.policy import load_compliance_policy, policy_template_text


@pytest.fixture(scope="module")
def catalogue() -> ControlCatalogue:
    return load_catalogue()


def _signed_template(**changes: Any) -> dict[str, Any]:
    policy = yaml.safe_load(policy_template_text())
    policy.update(
        system="credit-scoring",
        signed_off_by="Ada Lovelace",
        signed_off_at=datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
    )
    policy.update(changes)
    return policy


def _with_limit(name: str, value: Any) -> dict[str, Any]:
    policy = _signed_template()
    policy["limits"][name] = value
    return policy


def _write(tmp_path: Path, policy: dict[str, Any]) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    return path


def test_the_signed_template_loads(tmp_path: Path, catalogue: ControlCatalogue) -> None:
    policy = load_compliance_policy(_write(tmp_path, _signed_template()), catalogue)
    assert policy.limit("min_accuracy") == 0.75
    assert policy.limit("log_retention_days") == 183
    assert policy.signed_off_by == "Ada Lovelace"
    with pytest.raises(KeyError):
        policy.limit("no_such_limit")


def test_a_policy_adds_controls_to_the_gate(tmp_path: Path, catalogue: ControlCatalogue) -> None:
    added = ["ART14-OVERRIDE-EXERCISED", "ART72-ACTIVE-MONITORS"]
    path = _write(tmp_path, _signed_template(require_for_promotion=added))
    policy = load_compliance_policy(path, catalogue)
    assert policy.require_for_promotion == tuple(added)
    assert not any(catalogue.get(control).required_for_promotion for control in added)


def test_the_template_sets_every_limit_the_catalogue_reads(catalogue: ControlCatalogue) -> None:
    template = yaml.safe_load(policy_template_text())
    assert set(template["limits"]) == set(catalogue.limit_units())
    assert template["catalogue_version"] == catalogue.version


def test_the_unsigned_template_is_refused(tmp_path: Path, catalogue: ControlCatalogue) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(policy_template_text().replace('system: ""', "system: credit-scoring"))
    with pytest.raises(CatalogueInvalid) as caught:
        load_compliance_policy(path, catalogue)
    assert caught.value.where == f"{path}: signed_off_by"


def test_a_limited_tier_policy_needs_no_high_risk_limits(
    tmp_path: Path, catalogue: ControlCatalogue
) -> None:
    policy = load_compliance_policy(
        _write(tmp_path, _signed_template(tier="limited", limits={})), catalogue
    )
    assert policy.limits == {}


@pytest.mark.parametrize(
    ("policy", "key"),
    [
        (_signed_template(signed_off_by=""), "signed_off_by"),
        (_signed_template(signed_off_at=None), "signed_off_at"),
        (_signed_template(system=""), "system"),
        (_signed_template(catalogue_version="1999.1"), "catalogue_version"),
        (_signed_template(tier="unacceptable"), "tier"),
        (_signed_template(owner="me"), "owner"),
        (_with_limit("max_vibes", 0.5), "limits.max_vibes"),
        (
            _with_limit("max_demographic_parity_difference", 10),
            "limits.max_demographic_parity_difference",
        ),
        (_with_limit("min_accuracy", -0.1), "limits.min_accuracy"),
        (_with_limit("min_accuracy", "0.75"), "limits.min_accuracy"),
        (_with_limit("min_accuracy", True), "limits.min_accuracy"),
        (_with_limit("max_monitor_report_age_days", 0), "limits.max_monitor_report_age_days"),
        (_with_limit("max_monitor_report_age_days", 7.5), "limits.max_monitor_report_age_days"),
        (_with_limit("min_approvers", 0), "limits.min_approvers"),
        (_with_limit("log_retention_days", 90), "limits.log_retention_days"),
        (_with_limit("incident_report_days", 30), "limits.incident_report_days"),
        (_with_limit("incident_report_days_death", 11), "limits.incident_report_days_death"),
        (
            _signed_template(require_for_promotion=["ART14-OVERRIDE-EXERCISED", "ART99-NOPE"]),
            "require_for_promotion[1]",
        ),
        (
            _signed_template(require_for_promotion=["ART50-AI-DISCLOSURE"], tier="minimal"),
            "require_for_promotion[0]",
        ),
    ],
)
def test_a_bad_policy_is_refused_naming_file_and_key(
    tmp_path: Path, catalogue: ControlCatalogue, policy: dict[str, Any], key: str
) -> None:
    path = _write(tmp_path, policy)
    with pytest.raises(CatalogueInvalid) as caught:
        load_compliance_policy(path, catalogue)
    assert caught.value.where is not None
    assert caught.value.where.startswith(str(path))
    assert caught.value.where.endswith(key)


def test_a_missing_limit_is_named(tmp_path: Path, catalogue: ControlCatalogue) -> None:
    policy = _signed_template()
    del policy["limits"]["min_accuracy"]
    with pytest.raises(CatalogueInvalid) as caught:
        load_compliance_policy(_write(tmp_path, policy), catalogue)
    assert caught.value.where == f"{tmp_path / 'policy.yaml'}: limits.min_accuracy"


def test_a_missing_file_is_refused(tmp_path: Path, catalogue: ControlCatalogue) -> None:
    with pytest.raises(CatalogueInvalid):
        load_compliance_policy(tmp_path / "absent.yaml", catalogue)
