"""Serving commands: serve a registered model."""

from __future__ import annotations

from typing import Annotated

import typer

from iml4e.cli.context import cli_state


def serve(
    ctx: typer.Context,
    model_uri: Annotated[str, typer.Argument(help="models:/NAME/VERSION or models:/NAME@ALIAS")],
    deployment: Annotated[
        str | None, typer.Option(help="Deployment name (default: the model name).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to bind.")] = 8080,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes (each loads the model).")
    ] = 1,
) -> None:
    """Serve a registered model over MLflow /invocations and KServe V1, logging every answer."""
    from iml4e.serving.run import serve_model
    from iml4e.serving.served_model import MODEL_URI

    match = MODEL_URI.match(model_uri)
    name = deployment or (match["name"] if match else model_uri)
    serve_model(
        cli_state(ctx).resolve().settings,
        model_uri,
        deployment=name,
        host=host,
        port=port,
        workers=workers,
    )


def register(app: typer.Typer) -> None:
    """Add the serving commands to the root command."""
    app.command()(serve)
