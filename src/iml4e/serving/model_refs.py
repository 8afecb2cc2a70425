"""Model references a person types (``NAME@ALIAS``, ``NAME/VERSION``, ``models:/…``), resolved.

A deployment names its models this way; they are checked against the registry before any
server starts, so a typo is a message naming the option, not a server that dies while loading.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from iml4e.serving.errors import ModelLoadError
from iml4e.serving.served_model import MODEL_URI

if TYPE_CHECKING:
    from mlflow import MlflowClient


@dataclass(frozen=True)
class ResolvedModel:
    """A model reference and the registry version it points at right now."""

    uri: str
    name: str
    version: str | None
    """None only for an alias not set yet, when the caller allowed it."""
    alias: str | None


def model_uri(reference: str, *, where: str) -> str:
    """``models:/NAME@ALIAS`` or ``models:/NAME/VERSION`` for a reference with or without the
    ``models:/`` prefix; :class:`ModelLoadError` naming ``where`` for anything else."""
    text = reference.strip()
    uri = text if text.startswith("models:/") else f"models:/{text}"
    if MODEL_URI.match(uri) is None:
        raise ModelLoadError(
            f"expected NAME@ALIAS, NAME/VERSION or a models:/ URI, got {reference!r}", where=where
        )
    return uri


def resolve_model(
    client: MlflowClient, uri: str, *, where: str, alias_may_be_unset: bool = False
) -> ResolvedModel:
    """The registry version ``uri`` points at; :class:`ModelLoadError` when the model, the
    alias or the version does not exist. With ``alias_may_be_unset`` an alias of an existing
    model that is not set yet resolves to version None (a server follows it until it is)."""
    from mlflow.exceptions import MlflowException

    match = MODEL_URI.match(uri)
    if match is None:
        raise ModelLoadError("expected models:/NAME@ALIAS or models:/NAME/VERSION", where=where)
    name, alias = match["name"], match["alias"]
    try:
        registered = client.get_registered_model(name)
    except MlflowException:
        raise ModelLoadError(f"no registered model {name!r}", where=where) from None
    if alias is not None:
        aliases = {key: str(value) for key, value in registered.aliases.items()}
        if alias not in aliases and alias_may_be_unset:
            return ResolvedModel(uri, name, None, alias)
        if alias not in aliases:
            known = ", ".join(sorted(aliases)) or "none"
            raise ModelLoadError(
                f"model {name!r} has no alias {alias!r} (its aliases: {known})", where=where
            )
        return ResolvedModel(uri, name, aliases[alias], alias)
    try:
        version = client.get_model_version(name, match["version"])
    except MlflowException:
        raise ModelLoadError(
            f"model {name!r} has no version {match['version']}", where=where
        ) from None
    return ResolvedModel(uri, name, str(version.version), None)
