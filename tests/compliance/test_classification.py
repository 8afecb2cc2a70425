"""Risk classification from the questionnaire and the worked examples."""

from __future__ import annotations

from typing import Any

import pytest

from iml4e.compliance.classification import (
    classify,
    list_examples,
    load_example,
    load_questionnaire,
    needs_reclassification,
)
from iml4e.compliance.errors import CatalogueInvalid, QuestionnaireIncomplete

MINIMAL: dict[str, Any] = {
    "intended_purpose": "Sort incoming invoices by supplier.",
    "art5_practice": "none",
    "annex_i_safety_component": False,
    "annex_iii_area": "none",
    "interacts_with_persons": False,
    "generates_synthetic_content": False,
    "emotion_or_biometric_categorisation": False,
    "deepfake_or_public_interest_text": False,
    "gpai_role": "none",
}


def answers(**changes: Any) -> dict[str, Any]:
    return {**MINIMAL, **changes}


def test_questionnaire_is_versioned_and_cites_articles() -> None:
    questionnaire = load_questionnaire()
    assert questionnaire.version
    assert all(question.articles for question in questionnaire.questions)


def test_the_four_worked_examples_are_shipped() -> None:
    assert list_examples() == [
        "corporate_chatbot",
        "credit_scoring",
        "iot_sensor_prediction",
        "safety_object_detection",
    ]


@pytest.mark.parametrize("name", list_examples())
def test_worked_example_gets_its_expected_tier_and_articles(name: str) -> None:
    example = load_example(name)
    result = classify(example.answers)
    assert result.tier == example.expected_tier
    assert set(example.expected_articles) <= set(result.articles)


def test_credit_scoring_is_annex_iii_5b() -> None:
    result = classify(load_example("credit_scoring").answers)
    assert result.annex_iii == ["5(b)"]
    assert not result.exemption_6_3


def test_chatbot_has_transparency_and_gpai_downstream_duties() -> None:
    result = classify(load_example("corporate_chatbot").answers)
    assert result.transparency == ["Art. 50(1)", "Art. 50(2)"]
    assert result.gpai


def test_iot_prediction_becomes_high_risk_as_a_safety_component() -> None:
    example = load_example("iot_sensor_prediction")
    changed = {
        **example.answers,
        "annex_i_safety_component": True,
        "annex_i_third_party_assessment": True,
    }
    assert classify(changed).tier == "high-risk"


def test_unknown_example_is_refused() -> None:
    with pytest.raises(CatalogueInvalid):
        load_example("nothing")


def test_prohibited_practice_wins_over_everything() -> None:
    result = classify(
        answers(
            art5_practice="5(1)(c)",
            annex_iii_area="5",
            annex_iii_items=["5(a)"],
            profiling=True,
            interacts_with_persons=True,
        )
    )
    assert result.tier == "prohibited"
    assert "Art. 5(1)(c)" in result.articles


def test_transparency_is_kept_for_a_high_risk_system() -> None:
    result = classify(
        answers(
            annex_iii_area="4",
            annex_iii_items=["4(a)"],
            profiling=True,
            interacts_with_persons=True,
        )
    )
    assert result.tier == "high-risk"
    assert result.transparency == ["Art. 50(1)"]


def test_art_6_3_exemption_holds_and_records_the_documentation_duty() -> None:
    result = classify(
        answers(
            annex_iii_area="3",
            annex_iii_items=["3(d)"],
            profiling=False,
            art6_3_condition="6(3)(a)",
        )
    )
    assert result.exemption_6_3
    assert result.tier == "minimal"
    assert {"Art. 6(3)(a)", "Art. 6(4)", "Art. 49(2)"} <= set(result.articles)
    assert any("Art. 6(4)" in reason for reason in result.reasons)


def test_art_6_3_exemption_is_refused_for_profiling() -> None:
    result = classify(answers(annex_iii_area="5", annex_iii_items=["5(b)"], profiling=True))
    assert result.tier == "high-risk"
    assert not result.exemption_6_3


def test_profiling_makes_the_exemption_condition_not_asked() -> None:
    with pytest.raises(QuestionnaireIncomplete) as error:
        classify(
            answers(
                annex_iii_area="5",
                annex_iii_items=["5(b)"],
                profiling=False,
            )
        )
    assert error.value.where == "art6_3_condition"


def test_annex_iii_without_exemption_condition_is_high_risk() -> None:
    result = classify(
        answers(
            annex_iii_area="8",
            annex_iii_items=["8(a)"],
            profiling=False,
            art6_3_condition="none",
        )
    )
    assert result.tier == "high-risk"
    assert "Annex III point 8(a)" in result.articles


def test_annex_i_without_third_party_assessment_is_not_high_risk() -> None:
    result = classify(answers(annex_i_safety_component=True, annex_i_third_party_assessment=False))
    assert result.tier == "minimal"


def test_gpai_with_systemic_risk_cites_art_55() -> None:
    result = classify(answers(gpai_role="provider_systemic_risk"))
    assert result.gpai
    assert {"Art. 53", "Art. 55"} <= set(result.articles)


@pytest.mark.parametrize(
    ("given", "where"),
    [
        ({"gpai_role": None}, "gpai_role"),
        ({"colour": "blue"}, "colour"),
        ({"art5_practice": "5(1)(z)"}, "art5_practice"),
        ({"interacts_with_persons": "yes"}, "interacts_with_persons"),
        ({"annex_iii_area": "5"}, "annex_iii_items"),
        ({"annex_iii_area": "5", "annex_iii_items": ["4(a)"]}, "annex_iii_items"),
        ({"annex_i_safety_component": True}, "annex_i_third_party_assessment"),
        ({"intended_purpose": " "}, "intended_purpose"),
    ],
)
def test_incomplete_questionnaire_names_the_question(given: dict[str, Any], where: str) -> None:
    given_answers = answers(**given)
    if given.get("gpai_role", "") is None:
        del given_answers["gpai_role"]
    with pytest.raises(QuestionnaireIncomplete) as error:
        classify(given_answers)
    assert error.value.where == where


def test_irrelevant_questions_need_no_answer() -> None:
    assert classify(answers()).tier == "minimal"


def test_changed_intended_purpose_needs_reclassification() -> None:
    example = load_example("credit_scoring")
    result = classify(example.answers)
    assert not needs_reclassification(result, example.intended_purpose)
    assert not needs_reclassification(result, "  " + example.intended_purpose.upper())
    assert needs_reclassification(result, "Score applicants for rental flats.")
