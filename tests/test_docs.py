"""Docs that cannot rot: every setting, command and room is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from iml4e.cli.reference import render_cli_reference
from iml4e.config import Settings

ROOT = Path(__file__).resolve().parents[1]
ROOMS = sorted(
    path.name
    for path in (ROOT / "src" / "iml4e").iterdir()
    if path.is_dir() and (path / "__init__.py").exists()
)


def test_cli_reference_is_current() -> None:
    assert (ROOT / "docs" / "cli.md").read_text() == render_cli_reference(), (
        "docs/cli.md is stale: run `python -m iml4e.cli.reference > docs/cli.md`"
    )


@pytest.mark.parametrize("setting", sorted(Settings.model_fields))
def test_every_setting_is_documented(setting: str) -> None:
    assert f"`{setting}`" in (ROOT / "docs" / "configuration.md").read_text()


@pytest.mark.parametrize("room", ROOMS)
def test_every_room_has_a_page_and_a_row_in_the_architecture(room: str) -> None:
    assert (ROOT / "docs" / "rooms" / f"{room}.md").exists()
    assert f"`iml4e.{room}`" in (ROOT / "docs" / "architecture.md").read_text()


def test_readme_shows_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme
    assert "make test" in readme
