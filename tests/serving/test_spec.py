"""ServeSpec: one check of a deployment's options, the serve command line it stands for."""

from __future__ import annotations

import pytest

from iml4e.serving.errors import InvalidDeploymentSpec
from iml4e.serving.spec import ServeSpec

URI = "models:/m@champion"


@pytest.mark.parametrize(
    ("options", "where", "message"),
    [
        ({"split": 0.3}, "--split", "needs --challenger"),
        ({"challenger_uri": "models:/m@c"}, "--challenger", "needs --split"),
        ({"challenger_uri": "models:/m@c", "split": 1.0}, "--split", "strictly between"),
        ({"challenger_uri": "models:/m@c", "split": 0.0}, "--split", "strictly between"),
        (
            {"challenger_uri": "models:/m@c", "split": 0.1, "shadow_uri": "models:/m@s"},
            "--shadow",
            "not both",
        ),
    ],
)
def test_options_that_do_not_fit_are_named(
    options: dict[str, object], where: str, message: str
) -> None:
    with pytest.raises(InvalidDeploymentSpec, match=message) as caught:
        ServeSpec(URI, "d", **options).check()  # type: ignore[arg-type]
    assert caught.value.where == where


def test_the_serve_options_carry_every_role_and_the_split() -> None:
    spec = ServeSpec(URI, "d", challenger_uri="models:/m@c", split=0.25, fallback_uri="models:/m/1")
    spec.check()
    assert spec.serve_options() == [
        "--deployment",
        "d",
        "--challenger",
        "models:/m@c",
        "--fallback",
        "models:/m/1",
        "--split",
        "0.25",
    ]
    assert spec.follow() == {
        "champion": URI,
        "challenger": "models:/m@c",
        "fallback": "models:/m/1",
    }
    assert spec.as_record(workers=2)["split"] == 0.25
    shadowed = ServeSpec(URI, "d", shadow_uri="models:/m@s")
    shadowed.check()
    assert shadowed.serve_options() == ["--deployment", "d", "--shadow", "models:/m@s"]
