"""The dataset pages of the web UI: the catalog, one version's profile, and a version diff.

Every page needs ``read``. The page data comes from :mod:`iml4e.server.ui_datasets_data`; the
charts are drawn by :mod:`iml4e.server.ui_charts` from the stored profiles.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from iml4e.server.ui import allow, render, router, viewer


@router.get("/datasets")
def datasets(request: Request, page: str | None = None) -> Response:
    """Every dataset with its versions, the most recently versioned first, 50 per page."""
    from iml4e.server.ui_datasets_data import datasets_page, page_number

    seen = viewer(request)
    allow(request, seen, "read")
    data = datasets_page(request.app.state.store, page_number(page))
    return render(request, "datasets.html.j2", seen=seen, title="Datasets", **data)


@router.get("/datasets/{name}")
def dataset(request: Request, name: str, compare: str | None = None) -> Response:
    """The newest version of a dataset (compared with ``?compare=VERSION`` if given)."""
    return _version_page(request, name, None, compare)


@router.get("/datasets/{name}/versions/{version}")
def dataset_version(
    request: Request, name: str, version: str, compare: str | None = None
) -> Response:
    """One version of a dataset: facts, schema, profile charts, and the diff if asked."""
    return _version_page(request, name, version, compare)


def _version_page(
    request: Request, name: str, version: str | None, compare: str | None
) -> Response:
    from iml4e.server.ui_charts import chart_svg
    from iml4e.server.ui_datasets_data import dataset_page, version_number

    seen = viewer(request)
    allow(request, seen, "read")
    wanted = None if version is None else version_number(version)
    other = version_number(compare, where="compare")
    data = dataset_page(request.app.state.store, name, wanted, compare=other)
    title = f"Dataset {name} v{data['info'].version}"
    return render(request, "dataset.html.j2", seen=seen, title=title, svg=chart_svg, **data)
