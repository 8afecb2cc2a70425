"""docs/rooms/serving.md names every route of the model server and every metric."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from starlette.routing import Route

from iml4e.serving.app import create_model_app
from iml4e.serving.metrics import ServingMetrics
from iml4e.serving.router import Router
from iml4e.serving.served_model import ServedModel

DOC = Path(__file__).parents[2] / "docs" / "rooms" / "serving.md"


def test_every_route_is_documented() -> None:
    doc = DOC.read_text()
    model = ServedModel(name="m", version="1", columns=None, pyfunc=None)
    router = Router.for_models("d", None, model)  # type: ignore[arg-type]  # routes only
    app = create_model_app(router, log=None, store=object(), operator_routes=True)  # type: ignore[arg-type]
    versioned = "/v2/models/{name}/versions/{version}"
    for route in app.routes:
        assert isinstance(route, Route)
        path = route.path.replace(versioned, "/v2/models/{name}")
        assert re.search(rf"`(GET |POST )?{re.escape(path)}[`\s]", doc), path
    assert versioned in doc


def test_every_metric_is_documented() -> None:
    doc = DOC.read_text()
    text = ServingMetrics().exposition().decode()
    for family in text_string_to_metric_families(text):
        if family.name.endswith("_created"):  # timestamps prometheus-client adds by itself
            continue
        name = family.name + ("_total" if family.type == "counter" else "")
        assert f"`{name}" in doc, name
