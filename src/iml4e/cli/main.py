"""The root ``iml4e`` command: global options, sub-commands, and errors turned into exit codes.

Exit codes: 0 ok, 1 a check failed, 2 bad input (settings, arguments, unreachable database).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from iml4e import __version__
from iml4e.cli import (
    commands_audit,
    commands_comply,
    commands_data,
    commands_demo,
    commands_deploy,
    commands_monitor,
    commands_pipelines,
    commands_platform,
    commands_registry,
    commands_schedule,
    commands_serving,
    commands_users,
)
from iml4e.cli.context import CliState
from iml4e.cli.output import print_error
from iml4e.errors import BadInput, CheckFailed, Iml4eError

EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2

app = typer.Typer(
    name="iml4e",
    help="iml4e: an end-to-end MLOps platform with EU AI Act compliance built in.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"iml4e {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", help="Settings file (default ./iml4e.toml).")
    ] = None,
    home: Annotated[
        Path | None, typer.Option("--home", help="Home folder (overrides IML4E_HOME).")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Metadata database URL.")
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Global options apply to every command."""
    ctx.obj = CliState(config_file=config, home=home, database_url=database_url)


commands_platform.register(app)
commands_demo.register(app)
commands_data.register(app)
commands_pipelines.register(app)
commands_schedule.register(app)
commands_serving.register(app)
commands_registry.register(app)
commands_deploy.register(app)
commands_monitor.register(app)
commands_comply.register(app)
commands_users.register(app)
commands_audit.register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``iml4e`` command."""
    from iml4e.tracking.environment import apply_mlflow_environment_defaults

    apply_mlflow_environment_defaults()
    try:
        result = app(args=argv, standalone_mode=False)
    except typer.Abort:
        print_error("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # the one place errors become exit codes
        sys.exit(_exit_code_for(exc))
    # click returns the code of typer.Exit / ctx.exit() when not in standalone mode
    sys.exit(result if isinstance(result, int) else 0)


def _exit_code_for(exc: BaseException) -> int:
    if isinstance(exc, typer.TyperException):  # usage errors: unknown option, bad value
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            print_error(str(exc))
        return int(getattr(exc, "exit_code", EXIT_BAD_INPUT))
    if isinstance(exc, BadInput):
        print_error(str(exc))
        return EXIT_BAD_INPUT
    if isinstance(exc, CheckFailed):
        print_error(str(exc))
        return EXIT_CHECK_FAILED
    if isinstance(exc, Iml4eError):
        print_error(str(exc))
        return EXIT_CHECK_FAILED
    raise exc
