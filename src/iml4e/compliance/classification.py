"""Risk classification of an AI system under the AI Act, driven by a questionnaire kept as data.

:func:`classify` is a pure function from answers to a :class:`Classification`; the questions,
their articles and their allowed answers live in ``data/questionnaire.yaml``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict

from iml4e.compliance.errors import CatalogueInvalid, QuestionnaireIncomplete

Tier = Literal["prohibited", "high-risk", "limited", "minimal"]

_PACKAGE = "iml4e.compliance"
_TRANSPARENCY = {
    "interacts_with_persons": ("50(1)", "tell people they are interacting with an AI system"),
    "generates_synthetic_content": ("50(2)", "mark synthetic output as machine-readable"),
    "emotion_or_biometric_categorisation": (
        "50(3)",
        "deployers inform exposed persons of emotion recognition or biometric categorisation",
    ),
    "deepfake_or_public_interest_text": (
        "50(4)",
        "disclose deep fakes and AI-generated text on matters of public interest",
    ),
}


class Question(BaseModel):
    """One question of the questionnaire."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: Literal["text", "yesno", "choice", "subset"]
    text: str
    articles: list[str]
    choices: dict[str, str] = {}
    choices_by: dict[str, dict[str, str]] = {}
    by: str | None = None
    ask_if: dict[str, dict[Literal["in", "not_in"], list[Any]]] = {}


class Questionnaire(BaseModel):
    """The versioned list of questions."""

    model_config = ConfigDict(frozen=True)

    version: str
    questions: list[Question]


class Classification(BaseModel):
    """The outcome of :func:`classify`: the tier with the reasons and articles behind it."""

    model_config = ConfigDict(frozen=True)

    tier: Tier
    reasons: list[str]
    articles: list[str]
    annex_iii: list[str]
    transparency: list[str]
    gpai: bool
    exemption_6_3: bool
    questionnaire_version: str
    purpose_digest: str


@cache
def load_questionnaire() -> Questionnaire:
    """Return the questionnaire shipped with the package."""
    text = (
        resources.files(_PACKAGE).joinpath("data", "questionnaire.yaml").read_text(encoding="utf-8")
    )
    try:
        return Questionnaire.model_validate(yaml.safe_load(text))
    except ValueError as error:
        raise CatalogueInvalid(str(error), where="questionnaire.yaml") from error


def purpose_digest(intended_purpose: str) -> str:
    """Return a SHA-256 digest of the intended purpose, ignoring case and spacing."""
    normalised = " ".join(intended_purpose.split()).casefold()
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def _is_asked(question: Question, answers: Mapping[str, Any]) -> bool:
    for other, condition in question.ask_if.items():
        value = answers.get(other)
        if "in" in condition and value not in condition["in"]:
            return False
        if "not_in" in condition and (value is None or value in condition["not_in"]):
            return False
    return True


def _check_answer(question: Question, value: Any, answers: Mapping[str, Any]) -> None:
    where = question.id
    if question.kind == "text":
        if not isinstance(value, str) or not value.strip():
            raise QuestionnaireIncomplete("expected a non-empty text", where=where)
    elif question.kind == "yesno":
        if not isinstance(value, bool):
            raise QuestionnaireIncomplete("expected yes or no (true/false)", where=where)
    elif question.kind == "choice":
        if not isinstance(value, str) or value not in question.choices:
            allowed = ", ".join(question.choices)
            raise QuestionnaireIncomplete(f"{value!r} is not one of: {allowed}", where=where)
    else:
        allowed_items = question.choices_by.get(str(answers.get(question.by or "")), {})
        if not isinstance(value, list | tuple) or not value:
            raise QuestionnaireIncomplete("expected a non-empty list of sub-items", where=where)
        for item in value:
            if item not in allowed_items:
                allowed = ", ".join(allowed_items)
                raise QuestionnaireIncomplete(f"{item!r} is not one of: {allowed}", where=where)


def validate_answers(answers: Mapping[str, Any]) -> Questionnaire:
    """Check the answers against the questionnaire; raise :class:`QuestionnaireIncomplete`.

    Every question that is asked (its ``ask_if`` holds) needs an allowed answer; questions that
    are not asked need none; answers to unknown questions are refused.
    """
    questionnaire = load_questionnaire()
    known = {question.id for question in questionnaire.questions}
    for key in answers:
        if key not in known:
            raise QuestionnaireIncomplete("unknown question", where=str(key))
    for question in questionnaire.questions:
        if not _is_asked(question, answers):
            continue
        if question.id not in answers:
            raise QuestionnaireIncomplete("answer missing", where=question.id)
        _check_answer(question, answers[question.id], answers)
    return questionnaire


def classify(answers: Mapping[str, Any]) -> Classification:
    """Classify an AI system from its questionnaire answers.

    Precedence is prohibited > high-risk > limited > minimal; Art. 50 transparency duties are
    listed in addition to a high-risk tier. The Art. 6(3) exemption applies only to Annex III
    systems that meet one of its conditions and do not profile natural persons.
    """
    questionnaire = validate_answers(answers)
    reasons: list[str] = []
    articles: list[str] = []
    annex_iii: list[str] = []
    exemption = False

    practice = answers["art5_practice"]
    prohibited = practice != "none"
    if prohibited:
        reasons.append(f"prohibited practice under Art. {practice}")
        articles.append(f"Art. {practice}")

    annex_i = bool(answers["annex_i_safety_component"]) and bool(
        answers.get("annex_i_third_party_assessment")
    )
    if annex_i:
        reasons.append(
            "safety component of an Annex I product that needs third-party conformity assessment"
        )
        articles += ["Art. 6(1)", "Annex I"]
    elif answers["annex_i_safety_component"]:
        reasons.append("Annex I product without third-party conformity assessment: not Art. 6(1)")

    high_risk_annex_iii = False
    if answers["annex_iii_area"] != "none":
        annex_iii = list(dict.fromkeys(answers["annex_iii_items"]))
        listed = ", ".join(f"Annex III point {item}" for item in annex_iii)
        condition = answers.get("art6_3_condition", "none")
        if answers["profiling"]:
            reasons.append(f"{listed}: high-risk; no Art. 6(3) exemption as it profiles persons")
            high_risk_annex_iii = True
        elif condition != "none":
            exemption = True
            reasons.append(
                f"{listed}: not high-risk under the Art. {condition} exemption; the provider must "
                "document this assessment before placing on the market (Art. 6(4)) and register "
                "the system (Art. 49(2))"
            )
            articles += [f"Art. {condition}", "Art. 6(4)", "Art. 49(2)"]
        else:
            reasons.append(f"{listed}: high-risk under Art. 6(2)")
            high_risk_annex_iii = True
        if high_risk_annex_iii:
            articles += ["Art. 6(2)", *(f"Annex III point {item}" for item in annex_iii)]

    transparency: list[str] = []
    for question_id, (paragraph, duty) in _TRANSPARENCY.items():
        if answers[question_id]:
            transparency.append(f"Art. {paragraph}")
            reasons.append(f"transparency: {duty} (Art. {paragraph})")
    articles += transparency

    role = answers["gpai_role"]
    if role == "downstream":
        reasons.append(
            "built on a general-purpose AI model: rely on the model provider's Annex XII "
            "information and documentation (Art. 53(1)(b))"
        )
        articles.append("Art. 53(1)(b)")
    elif role in ("provider", "provider_systemic_risk"):
        reasons.append("provider of a general-purpose AI model: Art. 53 obligations")
        articles.append("Art. 53")
        if role == "provider_systemic_risk":
            reasons.append("general-purpose AI model with systemic risk: Art. 55 obligations")
            articles += ["Art. 51", "Art. 55"]

    tier: Tier
    if prohibited:
        tier = "prohibited"
    elif annex_i or high_risk_annex_iii:
        tier = "high-risk"
    elif transparency:
        tier = "limited"
    else:
        tier = "minimal"
        reasons.append("no prohibited practice, no high-risk use and no transparency case")

    return Classification(
        tier=tier,
        reasons=reasons,
        articles=list(dict.fromkeys(articles)),
        annex_iii=annex_iii,
        transparency=transparency,
        gpai=role != "none",
        exemption_6_3=exemption,
        questionnaire_version=questionnaire.version,
        purpose_digest=purpose_digest(answers["intended_purpose"]),
    )


class Example(BaseModel):
    """A worked example: a system, its role, its answers and the classification expected."""

    model_config = ConfigDict(frozen=True)

    name: str
    system: str
    role: Literal["provider", "deployer"]
    answers: dict[str, Any]
    expected_tier: Tier
    expected_articles: list[str]

    @property
    def intended_purpose(self) -> str:
        """The intended purpose stated in the answers."""
        return str(self.answers["intended_purpose"])


def list_examples() -> list[str]:
    """Return the names of the worked examples shipped with the package."""
    folder = resources.files(_PACKAGE).joinpath("data", "examples")
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    )


def load_example(name: str) -> Example:
    """Load the worked example ``name`` (see :func:`list_examples`)."""
    if name not in list_examples():
        raise CatalogueInvalid("no such worked example", where=f"examples/{name}.yaml")
    entry = resources.files(_PACKAGE).joinpath("data", "examples", f"{name}.yaml")
    try:
        return Example.model_validate({"name": name, **yaml.safe_load(entry.read_text("utf-8"))})
    except ValueError as error:
        raise CatalogueInvalid(str(error), where=f"examples/{name}.yaml") from error


def needs_reclassification(previous: Classification, intended_purpose: str) -> bool:
    """Return True when the intended purpose differs from the one ``previous`` was made for."""
    return purpose_digest(intended_purpose) != previous.purpose_digest
