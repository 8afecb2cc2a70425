"""What every command needs: settings resolved once from the global options."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from iml4e.config import ResolvedSettings, load_settings


@dataclass
class CliState:
    """Global options given before the command, resolved into settings on first use."""

    config_file: Path | None = None
    home: Path | None = None
    database_url: str | None = None
    _resolved: ResolvedSettings | None = None

    def resolve(self) -> ResolvedSettings:
        if self._resolved is None:
            overrides = {"home": self.home, "database_url": self.database_url}
            self._resolved = load_settings(
                {k: str(v) for k, v in overrides.items() if v is not None},
                config_file=self.config_file,
            )
        return self._resolved


def cli_state(ctx: typer.Context) -> CliState:
    """The :class:`CliState` of the running command."""
    state = ctx.find_root().obj
    assert isinstance(state, CliState)  # set by the root callback, never by users
    return state
