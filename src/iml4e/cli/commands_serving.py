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
    challenger: Annotated[
        str | None,
        typer.Option(help="Canary: a second model URI answering a share of the requests."),
    ] = None,
    split: Annotated[
        float | None, typer.Option(help="Share of requests the challenger answers (0 < F < 1).")
    ] = None,
    shadow: Annotated[
        str | None,
        typer.Option(help="A model URI that sees every request; its answers are only logged."),
    ] = None,
    fallback: Annotated[
        str | None,
        typer.Option(help="A model URI answering while the deployment is paused (else 503)."),
    ] = None,
) -> None:
    """Serve registered models over MLflow, KServe V1 and V2, logging every answer.

    A URI with an alias is followed: when the alias moves (promotion, rollback) the server
    loads the new version and swaps it in without a restart.
    """
    from iml4e.serving.run import serve_model
    from iml4e.serving.served_model import MODEL_URI
    from iml4e.serving.spec import ServeSpec

    match = MODEL_URI.match(model_uri)
    name = deployment or (match["name"] if match else model_uri)
    serve_model(
        cli_state(ctx).resolve().settings,
        ServeSpec(
            model_uri=model_uri,
            deployment=name,
            challenger_uri=challenger,
            split=split,
            shadow_uri=shadow,
            fallback_uri=fallback,
        ),
        host=host,
        port=port,
        workers=workers,
    )


def register(app: typer.Typer) -> None:
    """Add the serving commands to the root command."""
    app.command()(serve)
