"""The dataset pages of the web UI: the catalog, a version's profile charts, the version diff,
errors, paging, and escaping of column names and categories."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from iml4e.config import Settings
from iml4e.data.catalog import (
    DatasetVersionInfo,
    dataset_version_numbers,
    list_dataset_versions,
    list_datasets_page,
    register_dataset_version,
)
from iml4e.data.errors import DatasetNotFound, InvalidArgument
from iml4e.data.profile import profile_frame
from iml4e.data.profile_html import column_card
from iml4e.data.snapshots import SnapshotStore
from iml4e.platform import initialize
from iml4e.server import create_platform_app
from iml4e.server.ui_charts import chart_svg
from iml4e.server.ui_datasets_data import chart_count, dataset_page, datasets_page
from iml4e.store import Store, open_store
from tests.server.conftest import DEMO_PASSWORD, DemoPlatform
from tests.server.helpers import free_port

EVIL_COLUMN = "<script>alert(1)</script>"
EVIL_VALUE = '<img src=x onerror="alert(2)">'
FILLERS = 48  # datasets registered before the three of the local home: 51 in all


@dataclass
class DemoUi:
    client: TestClient
    dataset: str
    versions: list[DatasetVersionInfo]

    @property
    def drifted(self) -> DatasetVersionInfo:
        """The demo's drifted version (its generator ran with ``drift=``)."""
        return next(v for v in self.versions if "drift=" in v.source)

    @property
    def reference(self) -> DatasetVersionInfo:
        return self.versions[0]


@pytest.fixture(scope="module")
def demo_ui(demo_platform: DemoPlatform) -> Iterator[DemoUi]:
    settings = demo_platform.settings
    with open_store(settings) as store:
        name = demo_platform.summary.dataset
        versions = list_dataset_versions(store, name)
    with TestClient(create_platform_app(settings)) as client:
        answer = client.post(
            "/ui/login",
            data={"name": "viewer-user", "password": DEMO_PASSWORD},
            follow_redirects=False,
        )
        assert answer.status_code == 303
        yield DemoUi(client, name, versions)


@dataclass
class LocalHome:
    client: TestClient
    store: Store
    settings: Settings


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHome]:
    """A home without auth holding a dataset with HTML in a column name and a category."""
    from iml4e.config import load_settings

    folder = tmp_path_factory.mktemp("ui-datasets")
    settings = load_settings(
        {"home": str(folder / "home"), "server_auth": "off", "mlflow_port": free_port()},
        environ={},
        cwd=folder,
    ).settings
    initialize(settings)
    store = open_store(settings)
    for i in range(FILLERS):
        register_dataset_version(store, f"set-{i:02d}", pd.DataFrame({"x": [i]}), source="tests")
    frame = pd.DataFrame(
        {EVIL_COLUMN: [1.0, 2.5, 3.0, 4.5], "kind": [EVIL_VALUE, "plain", EVIL_VALUE, "plain"]}
    )
    register_dataset_version(
        store, "evil", frame, source="tests", profile=profile_frame(frame).to_dict()
    )
    snapshots = SnapshotStore(str(folder / "snapshots"))
    register_dataset_version(store, "snapshot-only", frame, source="tests", snapshots=snapshots)
    register_dataset_version(store, "bare", frame, source="tests")
    with TestClient(create_platform_app(settings)) as client:
        yield LocalHome(client, store, settings)
    store.close()


def svg_count(html: str) -> int:
    return len(re.findall(r'<svg class="chart[^"]*"[^>]* role="img" aria-labelledby="', html))


def test_the_catalog_lists_every_version_with_links(demo_ui: DemoUi) -> None:
    page = demo_ui.client.get("/ui/datasets")
    assert page.status_code == 200
    text = page.text
    assert f'href="/ui/datasets/{demo_ui.dataset}"' in text
    shown = [int(v) for v in re.findall(rf"/ui/datasets/{demo_ui.dataset}/versions/(\d+)", text)]
    assert shown == sorted((v.version for v in demo_ui.versions), reverse=True)
    assert demo_ui.drifted.content_hash[:12] in text and "drift=" in text
    assert 'href="/static/datasets.css"' in text and '<th scope="rowgroup"' in text


def test_a_version_page_draws_one_chart_per_profiled_column(demo_ui: DemoUi) -> None:
    newest = demo_ui.versions[-1]
    assert newest.profile is not None
    page = demo_ui.client.get(f"/ui/datasets/{demo_ui.dataset}")
    assert page.status_code == 200
    text = page.text
    assert f"<h1>Dataset {demo_ui.dataset} v{newest.version}</h1>" in text
    assert svg_count(text) == len(newest.profile["columns"]) > 0
    assert text.count("<title id=") == len(newest.profile["columns"])
    assert "Histogram of income" in text and "Most frequent values of purpose" in text
    assert newest.content_hash in text and "Missing cells" in text
    assert '<label for="compare">' in text and 'aria-current="page"' in text
    used = text[text.index('id="used-by"') :]  # from the lineage graph
    assert re.search(r'pipeline run <a href="/ui/pipelines/[0-9a-f]{32}">', used)
    assert re.search(r'model version <a href="/ui/models/[^/"]+/versions/\d+">', used)
    css = demo_ui.client.get("/static/datasets.css")
    assert css.status_code == 200 and "svg.chart" in css.text


def test_the_compare_view_shows_the_drifted_versions_differences(demo_ui: DemoUi) -> None:
    drifted, reference = demo_ui.drifted, demo_ui.reference
    page = demo_ui.client.get(
        f"/ui/datasets/{demo_ui.dataset}/versions/{drifted.version}",
        params={"compare": str(reference.version)},
    )
    assert page.status_code == 200
    text = page.text
    assert f'<h2 id="comparison">v{reference.version} → v{drifted.version}</h2>' in text
    purpose = re.search(r'<tr class="shifted"><th scope="row">purpose</th>.*?</tr>', text)
    assert purpose and "crypto" in purpose.group(0)  # the drifted data's unseen purpose
    assert text.count('<tr class="shifted">') >= 2
    assert f'<option value="{reference.version}" selected>' in text
    assert drifted.profile is not None and svg_count(text) == len(drifted.profile["columns"])


def test_unknown_datasets_and_versions_are_404_pages_and_bad_numbers_400(demo_ui: DemoUi) -> None:
    for path in ("/ui/datasets/nowhere", f"/ui/datasets/{demo_ui.dataset}/versions/999"):
        answer = demo_ui.client.get(path)
        assert answer.status_code == 404 and "<title>Not found" in answer.text, path
    assert "no dataset named &#39;nowhere&#39;" in demo_ui.client.get("/ui/datasets/nowhere").text
    for path, params in (
        (f"/ui/datasets/{demo_ui.dataset}/versions/x", {}),
        (f"/ui/datasets/{demo_ui.dataset}", {"compare": "-1"}),
        (f"/ui/datasets/{demo_ui.dataset}", {"compare": "9" * 30}),
        ("/ui/datasets", {"page": "0"}),
    ):
        answer = demo_ui.client.get(path, params=params)
        assert answer.status_code == 400 and 'role="alert"' in answer.text, (path, params)
    compared = demo_ui.client.get(f"/ui/datasets/{demo_ui.dataset}", params={"compare": "999"})
    assert compared.status_code == 404


def test_the_pages_need_a_login(demo_platform: DemoPlatform) -> None:
    with TestClient(create_platform_app(demo_platform.settings)) as client:
        for path in ("/ui/datasets", f"/ui/datasets/{demo_platform.summary.dataset}"):
            answer = client.get(path, follow_redirects=False)
            assert answer.status_code == 303 and answer.headers["location"] == "/ui/login"


def test_names_and_categories_with_html_are_escaped(local: LocalHome) -> None:
    pages = [local.client.get("/ui/datasets"), local.client.get("/ui/datasets/evil")]
    for page in pages:
        assert page.status_code == 200
        assert "<script>" not in page.text and "<img" not in page.text
    text = pages[1].text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "Histogram of &lt;script&gt;alert(1)&lt;/script&gt;" in text  # inside the SVG
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in text
    assert svg_count(text) == 2


def test_without_a_stored_profile_the_snapshot_is_profiled(local: LocalHome) -> None:
    computed = dataset_page(local.store, "snapshot-only")
    assert computed["profile_origin"] == "computed from the snapshot"
    assert chart_count(computed["cards"]) == 2
    page = local.client.get("/ui/datasets/snapshot-only")
    assert "this one was computed from the snapshot" in page.text and svg_count(page.text) == 2
    bare = dataset_page(local.store, "bare")
    assert bare["cards"] == [] and bare["profile_origin"] == "none"
    assert "No profile" in local.client.get("/ui/datasets/bare").text


def test_the_catalog_is_paged(local: LocalHome) -> None:
    first = datasets_page(local.store, 1, per_page=2)
    second = datasets_page(local.store, 2, per_page=2)
    assert (first["total"], first["pages"], second["page"]) == (FILLERS + 3, 26, 2)
    assert [d.name for d in first["datasets"]] == ["bare", "snapshot-only"]  # newest first
    assert [d.name for d in second["datasets"]] == ["evil", f"set-{FILLERS - 1:02d}"]
    assert datasets_page(local.store, 27, per_page=2)["datasets"] == []
    for bad in ({"offset": -1}, {"limit": 0}, {"limit": True}):
        with pytest.raises(InvalidArgument):
            list_datasets_page(local.store, **bad)
    assert dataset_version_numbers(local.store, "evil") == [1]
    with pytest.raises(DatasetNotFound):
        dataset_version_numbers(local.store, "nowhere")

    one = local.client.get("/ui/datasets")
    two = local.client.get("/ui/datasets", params={"page": "2"})
    assert one.text.count('scope="rowgroup"') == 50 and "Page 1 of 2" in one.text
    assert 'href="/ui/datasets?page=2" rel="next"' in one.text
    assert two.text.count('scope="rowgroup"') == 1 and "set-00" in two.text
    assert 'rel="prev"' in two.text and 'rel="next"' not in two.text
    assert "No datasets on page 3" in local.client.get("/ui/datasets?page=3").text


def test_a_chart_escapes_its_labels_and_names_itself() -> None:
    frame = pd.DataFrame({"<b>": ["<i>", "<i>", "x&y"]})
    card = column_card(0, profile_frame(frame).columns["<b>"])
    assert card.chart is not None
    svg = str(chart_svg(card.chart, 'c"0'))
    assert svg.startswith('<svg class="chart chart-bars"') and 'role="img"' in svg
    assert 'aria-labelledby="c&#34;0-title c&#34;0-desc"' in svg
    assert '<title id="c&#34;0-title">Most frequent values of &lt;b&gt;</title>' in svg
    assert "<title>&lt;i&gt;: 2</title>" in svg and "x&amp;y" in svg
    assert "<i>" not in svg and "<b>" not in svg
