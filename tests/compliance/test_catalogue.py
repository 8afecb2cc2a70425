"""The shipped control catalogue and the checks that guard catalogue files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from iml4e.compliance.catalogue import EVIDENCE_KEYS, Control, ControlCatalogue, load_catalogue
from iml4e.compliance.errors import CatalogueInvalid

# Topic of the issue -> the articles a control must cite for it.
REQUIRED_TOPICS: dict[str, set[str]] = {
    "risk management": {"Art. 9"},
    "data governance": {"Art. 10"},
    "technical documentation": {"Art. 11", "Annex IV"},
    "documentation retention": {"Art. 18"},
    "logging": {"Art. 12"},
    "log retention": {"Art. 19", "Art. 26"},
    "instructions for use": {"Art. 13"},
    "human oversight": {"Art. 14"},
    "accuracy and robustness": {"Art. 15"},
    "quality management": {"Art. 17"},
    "post-market monitoring": {"Art. 72"},
    "serious incidents": {"Art. 73"},
    "transparency": {"Art. 50"},
}

# Specific checks the issue asks for -> the exact article reference that must carry them.
REQUIRED_REFERENCES = [
    "Art. 9(8)",
    "Art. 10(2)(b)",
    "Art. 10(2)(f)",
    "Art. 10(3)",
    "Art. 13(3)(b)(ii)",
    "Art. 14(4)(e)",
    "Art. 15(5)",
    "Art. 17(1)(m)",
    "Art. 19(1)",
    "Art. 26(6)",
    "Art. 50(1)",
    "Art. 73(2)",
]


def test_the_shipped_catalogue_loads_with_30_to_40_controls() -> None:
    catalogue = load_catalogue()
    assert catalogue.version
    assert 30 <= len(catalogue.controls) <= 40


@pytest.mark.parametrize("topic", sorted(REQUIRED_TOPICS))
def test_every_required_topic_has_a_control(topic: str) -> None:
    cited = {
        number for control in load_catalogue().controls for number in control.article_numbers()
    }
    assert REQUIRED_TOPICS[topic] <= cited


@pytest.mark.parametrize("reference", REQUIRED_REFERENCES)
def test_every_required_reference_is_cited(reference: str) -> None:
    assert any(reference in control.articles for control in load_catalogue().controls)


def test_coverage_counts_every_type() -> None:
    catalogue = load_catalogue()
    coverage = catalogue.coverage()
    assert list(coverage) == ["automatic", "semi-automatic", "attestation"]
    assert sum(coverage.values()) == len(catalogue.controls)
    assert coverage["automatic"] > coverage["semi-automatic"] > 0
    assert coverage["attestation"] > 0


def test_controls_that_read_limits_read_the_policy() -> None:
    for control in load_catalogue().controls:
        if control.limits:
            assert "policy" in control.evidence, control.id


def test_get_and_for_tier() -> None:
    catalogue = load_catalogue()
    assert catalogue.get("ART10-DATA-HASH").type == "automatic"
    with pytest.raises(KeyError):
        catalogue.get("NO-SUCH")
    limited = catalogue.for_tier("limited")
    assert {control.id for control in limited} == {"ART50-AI-DISCLOSURE", "ART50-SYNTHETIC-MARKING"}
    assert len(catalogue.for_tier("high-risk")) == len(catalogue.controls)


def test_evidence_keys_are_described() -> None:
    assert all(description for description in EVIDENCE_KEYS.values())


def _control(**changes: object) -> dict[str, object]:
    control: dict[str, object] = {
        "id": "ART10-DATA-HASH",
        "title": "Datasets pinned by content hash",
        "articles": ["Art. 10(2)(b)"],
        "type": "automatic",
        "applies_to": ["high-risk"],
        "evidence": ["dataset_versions"],
        "evaluation": "hashes match",
        "limits": {},
        "required_for_promotion": True,
    }
    control.update(changes)
    return control


def _write(tmp_path: Path, controls: list[dict[str, object]]) -> Path:
    path = tmp_path / "controls.yaml"
    path.write_text(yaml.safe_dump({"version": "test", "controls": controls}))
    return path


def test_a_small_valid_catalogue_loads(tmp_path: Path) -> None:
    catalogue = load_catalogue(_write(tmp_path, [_control()]))
    assert catalogue.coverage() == {"automatic": 1, "semi-automatic": 0, "attestation": 0}


@pytest.mark.parametrize(
    ("controls", "key"),
    [
        ([_control(), _control()], "controls[ART10-DATA-HASH].id"),
        ([_control(type="manual")], "controls[ART10-DATA-HASH].type"),
        ([_control(articles=["Article 10"])], "controls[ART10-DATA-HASH].articles"),
        ([_control(articles=["Art. 10.2"])], "controls[ART10-DATA-HASH].articles"),
        ([_control(applies_to=["unacceptable"])], "controls[ART10-DATA-HASH].applies_to.0"),
        ([_control(evidence=["gut_feeling"])], "controls[ART10-DATA-HASH].evidence"),
        (
            [_control(limits={"min_accuracy": "percent"})],
            "controls[ART10-DATA-HASH].limits.min_accuracy",
        ),
        ([_control(owner="me")], "controls[ART10-DATA-HASH].owner"),
        ([_control(id="lowercase")], "controls[lowercase].id"),
    ],
)
def test_a_bad_catalogue_is_refused_naming_the_key(
    tmp_path: Path, controls: list[dict[str, object]], key: str
) -> None:
    with pytest.raises(CatalogueInvalid) as caught:
        load_catalogue(_write(tmp_path, controls))
    assert caught.value.where is not None
    assert str(tmp_path / "controls.yaml") in caught.value.where
    assert caught.value.where.endswith(key)


def test_a_duplicate_id_built_in_python_is_refused() -> None:
    control = Control.model_validate(_control())
    with pytest.raises(ValidationError, match="ART10-DATA-HASH"):
        ControlCatalogue(version="test", controls=(control, control))


def test_one_limit_with_two_units_is_refused(tmp_path: Path) -> None:
    controls = [
        _control(id="A-ONE", limits={"min_accuracy": "ratio"}),
        _control(id="A-TWO", limits={"min_accuracy": "days"}),
    ]
    with pytest.raises(CatalogueInvalid, match="min_accuracy"):
        load_catalogue(_write(tmp_path, controls))


@pytest.mark.parametrize(
    "reference", ["Art. 9", "Art. 10(5)", "Art. 10(2)(f)", "Art. 13(3)(b)(ii)", "Annex IV(2)(d)"]
)
def test_article_references_as_the_law_numbers_them_are_accepted(
    tmp_path: Path, reference: str
) -> None:
    load_catalogue(_write(tmp_path, [_control(articles=[reference])]))


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "controls.yaml"
    path.write_text("version: x\ncontrols: [\n")
    with pytest.raises(CatalogueInvalid) as caught:
        load_catalogue(path)
    assert caught.value.where is not None
    assert caught.value.where.startswith(f"{path}:")


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogueInvalid):
        load_catalogue(tmp_path / "absent.yaml")
