"""REST routes of the data room beyond the catalog listing: the diff of two dataset versions.

Declared with :func:`iml4e.server.api.route` like every other route; importing this module
registers them.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import Query, Request
from fastapi.encoders import jsonable_encoder

from iml4e.server.api import route

MAX_VERSION = 2**31 - 1
"""The largest version number a query may name (larger ones are a 422, not a lookup)."""


@route("GET", "/datasets/{name}/diff", "read")
def dataset_diff(
    name: str,
    request: Request,
    base: int = Query(ge=1, le=MAX_VERSION, description="The version compared from."),
    other: int = Query(ge=1, le=MAX_VERSION, description="The version compared with it."),
) -> dict[str, Any]:
    """What changed from version ``base`` to ``other``: row counts, schema changes, and each
    column's distribution shift (PSI, KS, missing rates, new or vanished categories) — the
    same diff as ``iml4e data diff``."""
    from iml4e.data.diff import diff_catalog_versions

    diff = diff_catalog_versions(request.app.state.store, name, base, other)
    return jsonable_encoder(asdict(diff))
