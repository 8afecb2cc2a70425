"""Model names: which ones the registry can hold, and finding a model's versions by name.

MLflow's search filters are SQL-like text, and its parser takes a quoted value as it is: there
is no escape for a quote inside the quotes. A name without ``'`` is single-quoted, a name with
``'`` but no ``"`` is double-quoted (exact either way); a name with both is searched with
``LIKE``, each ``'`` (and ``\\``, a ``LIKE`` escape on PostgreSQL) standing in as ``_``. Results
are always kept only when the name is equal, so a ``LIKE`` match of a look-alike never leaks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from iml4e.registry.errors import InvalidModelName

if TYPE_CHECKING:
    from mlflow import MlflowClient

# iml4e's tables keep model names in String(200) columns; MLflow's allow 256.
MAX_MODEL_NAME_LENGTH = 200


def check_model_name(name: str) -> str:
    """Return ``name`` if a model may be called that, else raise :class:`InvalidModelName`.

    The rules are MLflow's (not blank, no ``/`` or ``:``, not ``.`` or starting ``..``), plus
    the length iml4e's records can hold. Quotes, spaces and ``%`` are allowed.
    """
    where = f"model name {name!r}"
    if not name.strip():
        raise InvalidModelName("a model name cannot be blank", where=where)
    if "/" in name or ":" in name:
        raise InvalidModelName("a model name cannot contain '/' or ':'", where=where)
    if name == "." or name.startswith(".."):
        raise InvalidModelName("a model name cannot be '.' or start with '..'", where=where)
    if len(name) > MAX_MODEL_NAME_LENGTH:
        raise InvalidModelName(
            f"a model name can have at most {MAX_MODEL_NAME_LENGTH} characters", where=where
        )
    return name


def name_filter(name: str) -> str:
    """An MLflow search filter matching model ``name`` (and, for some names, look-alikes).

    Exact for any name without both kinds of quote; keep only results whose name is equal.
    """
    if "'" not in name:
        return f"name = '{name}'"
    if '"' not in name:
        return f'name = "{name}"'
    pattern = name.replace("\\", "_").replace("'", "_")
    return f"name LIKE '{pattern}'"


def search_versions(client: MlflowClient, name: str) -> list[Any]:
    """Every MLflow ``ModelVersion`` of model ``name``, following pages, in MLflow's order."""
    query = name_filter(name)
    found: list[Any] = []
    token: str | None = None
    while True:
        page = client.search_model_versions(query, page_token=token)
        found += [version for version in page if version.name == name]
        token = page.token
        if not token:
            return found
