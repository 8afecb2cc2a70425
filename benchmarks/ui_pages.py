"""Every web UI page on a large store, beside the MLflow calls its UI makes for the same view.

The home is seeded by :mod:`seed_large_store` (the demo's story plus 1,000 pipeline runs, 100
versions of ``credit-default`` and 1,000,000 logged requests; ``--home`` keeps it for reruns).
Then ``iml4e up`` is started on it as a user would (auth on, the MLflow UI as its child), an
admin logs in through the login form, and:

- pages are discovered from the platform app itself: every GET route under ``/ui``, its path
  parameters filled from the seeded store (deployment, model and version, dataset and version,
  pipeline run, AI system, assessment); a page whose parameter cannot be filled is listed as
  not measured, with the parameter's name;
- each page is requested once to warm up, then ``--repeat`` times: median and max wall time
  (client side, over loopback HTTP), the page's size and its ``Server-Timing`` render time;
  the target is a median under 300 ms;
- the MLflow REST calls behind the MLflow UI's comparable views (registered models, the 100
  versions of one model, 100 runs, experiments) are timed the same way on the MLflow server
  ``iml4e up`` started (the same database), directly and through the platform's ``/mlflow``
  proxy; a page of the same room is shown with its ratio to that call.

    .venv/bin/python benchmarks/ui_pages.py --home /tmp/bench-ui --json ui_pages.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _environment import environment_facts  # benchmarks/_environment.py
from seed_large_store import (
    ADMIN,
    PASSWORD,
    SeededHome,
    add_size_options,
    seed_home,
    sizes_of,
)

TARGET_MS = 300.0
READY_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 30.0
PARAMETER = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::[A-Za-z]+)?}")

# The collection a path segment names, for generic parameters (``name``, ``id``) after it.
ROOM_OF_SEGMENT = {
    "deployments": "deployment",
    "deployment": "deployment",
    "serving": "deployment",
    "monitoring": "deployment",
    "inference": "deployment",
    "models": "model",
    "model": "model",
    "registry": "model",
    "versions": "version",
    "datasets": "dataset",
    "dataset": "dataset",
    "data": "dataset",
    "pipelines": "pipeline",
    "pipeline": "pipeline",
    "runs": "run",
    "run": "run",
    "systems": "system",
    "system": "system",
    "compliance": "system",
    "assessments": "assessment",
    "assessment": "assessment",
}
# A parameter named after what it is, whatever the path around it.
ROOM_OF_PARAMETER = {
    "deployment": "deployment",
    "deployment_name": "deployment",
    "model": "model",
    "model_name": "model",
    "model_version": "model_version",
    "dataset": "dataset",
    "dataset_name": "dataset",
    "dataset_version": "dataset_version",
    "run_id": "run",
    "pipeline_run_id": "run",
    "pipeline": "pipeline",
    "pipeline_name": "pipeline",
    "system": "system",
    "system_name": "system",
    "assessment_id": "assessment",
    "alias": "alias",
}
VALUE_OF_ROOM = {
    "deployment": "deployment",
    "model": "model",
    "model_version": "model_version",
    "dataset": "dataset",
    "dataset_version": "dataset_version",
    "run": "pipeline_run_id",
    "pipeline": "pipeline",
    "system": "system",
    "assessment": "assessment_id",
    "alias": "alias",
}
GENERIC = {"name", "id", "key", "version", "number"}


@dataclass
class PageResult:
    """One discovered page: what was requested and how long it took."""

    route: str
    url: str | None
    status: int | None = None
    median_ms: float | None = None
    max_ms: float | None = None
    render_ms: float | None = None
    kilobytes: float | None = None
    comparable: str | None = None
    not_measured: str | None = None


@dataclass
class MlflowCall:
    """One MLflow REST call of the MLflow UI, timed directly and through the platform."""

    name: str
    method: str
    path: str
    body: dict[str, Any] | None
    median_ms: float = 0.0
    max_ms: float = 0.0
    kilobytes: float = 0.0
    proxied_median_ms: float | None = None
    items: int = 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="folder of the seeded home")
    parser.add_argument("--repeat", type=int, default=5, help="timed requests per page")
    parser.add_argument("--json", type=Path, help="write the results as JSON to this file")
    add_size_options(parser)
    args = parser.parse_args(argv)

    seeded = seed_home(
        args.home, sizes_of(args), log=lambda line: print(line, flush=True), reseed=args.reseed
    )
    routes = discover_pages(seeded)
    running = RunningPlatform(seeded)
    with running as (base, mlflow_base), http_client(base) as client:
        log_in(client)
        pages = [measure_page(client, route, args.repeat) for route in routes]
        platform_rss_mb = running.platform_rss_mb()
        calls = [
            measure_mlflow_call(client, mlflow_base, call, args.repeat)
            for call in mlflow_calls(seeded)
        ]
    print()
    print(render(pages, calls, seeded, args.repeat))
    print(f"\nRSS of the platform process after every page was served: {platform_rss_mb:.0f} MB")
    if args.json:
        report = {
            "environment": environment_facts("iml4e", "mlflow"),
            "sizes": asdict(seeded.sizes),
            "facts": seeded.facts,
            "repeat": args.repeat,
            "target_ms": TARGET_MS,
            "platform_rss_mb": round(platform_rss_mb, 1),
            "pages_met": sum(_met(page) for page in pages),
            "pages_missed_or_not_measured": sum(not _met(page) for page in pages),
            "pages": [asdict(page) for page in pages],
            "mlflow": [asdict(call) for call in calls],
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nresults written to {args.json}")


# --- discovering pages ------------------------------------------------------------------------


@dataclass(frozen=True)
class PageRoute:
    """A GET route under ``/ui``, with its path filled in or the parameter that could not be."""

    route: str
    url: str | None
    missing: str | None
    room: str | None


def discover_pages(seeded: SeededHome) -> list[PageRoute]:
    """Every GET page of the platform app under ``/ui``, its parameters filled from the store."""
    from fastapi.routing import APIRoute

    from iml4e.server.app import create_platform_app
    from iml4e.server.ui import PREFIX

    app = create_platform_app(seeded.settings)
    pages = []
    for path, route in get_routes(app.routes):
        if not isinstance(route, APIRoute) or "GET" not in route.methods:
            continue
        if path != PREFIX and not path.startswith(PREFIX + "/"):
            continue
        url, missing = fill_path(path, seeded.facts)
        pages.append(PageRoute(path, url, missing, room_of(path)))
    return pages


def get_routes(routes: list[Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``(full path, route)`` of every route, routers included by ``include_router`` opened.

    FastAPI 0.165 keeps an included router as one entry (its ``original_router`` and the
    include's ``prefix``); earlier versions copy its routes into the app's list.
    """
    found = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            found += get_routes(included.routes, prefix + getattr(context, "prefix", ""))
        elif hasattr(route, "path"):
            found.append((prefix + route.path, route))
    return found


def fill_path(path: str, facts: dict[str, Any]) -> tuple[str | None, str | None]:
    """``path`` with every ``{parameter}`` replaced by a seeded value; else the one missing."""
    from urllib.parse import quote

    filled = path
    segments = path.strip("/").split("/")
    for index, segment in enumerate(segments):
        found = PARAMETER.fullmatch(segment)
        if not found:
            continue
        name = found.group(1)
        value = parameter_value(name, segments[:index], facts)
        if value is None:
            return None, name
        filled = filled.replace(segment, quote(str(value), safe=""), 1)
    return filled, None


def parameter_value(name: str, before: list[str], facts: dict[str, Any]) -> Any:
    """The seeded value for parameter ``name`` following the path segments ``before``."""
    room = ROOM_OF_PARAMETER.get(name)
    if room is None and name in GENERIC:
        room = _room_before(before)
        if room in ("version", None) or name in ("version", "number"):
            # a version belongs to the model or dataset named earlier in the path
            owner = _room_before([s for s in before if ROOM_OF_SEGMENT.get(s) != "version"])
            room = {"model": "model_version", "dataset": "dataset_version"}.get(owner or "")
        elif room == "pipeline" and name == "id":
            room = "run"
    if room is None:
        return None
    return {"alias": "champion", **facts}.get(VALUE_OF_ROOM[room])


def _room_before(before: list[str]) -> str | None:
    for segment in reversed(before):
        if PARAMETER.fullmatch(segment):
            continue
        if segment in ROOM_OF_SEGMENT:
            return ROOM_OF_SEGMENT[segment]
    return None


def room_of(path: str) -> str | None:
    """The room a page shows: the first path segment after ``/ui`` that names one."""
    for segment in path.strip("/").split("/")[1:]:
        if segment in ROOM_OF_SEGMENT:
            return ROOM_OF_SEGMENT[segment]
    return None


# --- the running platform ---------------------------------------------------------------------


class RunningPlatform:
    """``iml4e up`` on the seeded home, on free loopback ports; stopped (SIGINT) on exit."""

    def __init__(self, seeded: SeededHome) -> None:
        self.seeded = seeded
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> tuple[str, str]:
        from seed_large_store import _free_port

        settings = self.seeded.settings
        port, mlflow_port = _free_port(), _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("IML4E_")}
        env.update(settings.as_environment())
        env.update(IML4E_SERVER_PORT=str(port), IML4E_MLFLOW_PORT=str(mlflow_port))
        log = settings.home / "logs" / "bench-up.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "iml4e", "--home", str(settings.home), "up"],
                env=env,
                cwd=settings.home,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        base, mlflow_base = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{mlflow_port}"
        _wait_ok(f"{base}/health", self.process)
        _wait_ok(f"{mlflow_base}/health", self.process)
        return base, mlflow_base

    def platform_rss_mb(self) -> float:
        """RSS of the platform process now (its MLflow UI child not included)."""
        import psutil

        assert self.process is not None
        return psutil.Process(self.process.pid).memory_info().rss / 2**20

    def __exit__(self, *exc: object) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _wait_ok(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    with httpx.Client(trust_env=False, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"iml4e up exited with {process.returncode}; see logs/")
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer 200 within {READY_TIMEOUT_S} s")


def http_client(base: str) -> httpx.Client:
    """A client of ``base`` that ignores proxy settings of the environment."""
    return httpx.Client(base_url=base, trust_env=False, timeout=120.0)


def log_in(client: httpx.Client) -> None:
    """Log the admin in through the login form; the client keeps the session cookie."""
    answer = client.post("/ui/login", data={"name": ADMIN, "password": PASSWORD})
    if answer.status_code != 303 or answer.headers.get("location") != "/ui/":
        raise RuntimeError(f"login as {ADMIN} failed: {answer.status_code}")


# --- measuring --------------------------------------------------------------------------------


def measure_page(client: httpx.Client, page: PageRoute, repeat: int) -> PageResult:
    """Warm once, then time ``repeat`` requests of the page."""
    result = PageResult(route=page.route, url=page.url, comparable=_comparable(page))
    if page.url is None:
        result.not_measured = f"parameter {page.missing}"
        return result
    times, renders = [], []
    answer = None
    try:
        client.get(page.url)
        for _ in range(repeat):
            start = time.perf_counter()
            answer = client.get(page.url)
            times.append((time.perf_counter() - start) * 1000)
            renders.append(_render_ms(answer.headers.get("server-timing", "")))
    except httpx.HTTPError as error:
        result.not_measured = f"request failed: {type(error).__name__}"
        print(f"{page.url}: {result.not_measured}", flush=True)
        return result
    assert answer is not None
    result.status = answer.status_code
    result.median_ms = round(statistics.median(times), 1)
    result.max_ms = round(max(times), 1)
    known = [value for value in renders if value is not None]
    result.render_ms = round(statistics.median(known), 1) if known else None
    result.kilobytes = round(len(answer.content) / 1024, 1)
    print(
        f"{page.url}: {answer.status_code} median {result.median_ms} ms, max {result.max_ms} ms",
        flush=True,
    )
    return result


def _render_ms(header: str) -> float | None:
    found = re.search(r"render;dur=([0-9.]+)", header)
    return float(found.group(1)) if found else None


def mlflow_calls(seeded: SeededHome) -> list[MlflowCall]:
    """The REST calls the MLflow UI makes for its models, model, runs and experiments views."""
    model = seeded.facts.get("model") or ""
    return [
        MlflowCall(
            "registered models (models list)",
            "GET",
            "/api/2.0/mlflow/registered-models/search?max_results=100",
            None,
        ),
        MlflowCall(
            f"versions of {model} (model page)",
            "GET",
            f"/api/2.0/mlflow/model-versions/search?filter=name%3D%27{model}%27&max_results=100",
            None,
        ),
        MlflowCall(
            "100 runs (experiment page)",
            "POST",
            "/api/2.0/mlflow/runs/search",
            {"experiment_ids": _experiment_ids(seeded), "max_results": 100},
        ),
        MlflowCall(
            "experiments (home page)",
            "GET",
            "/api/2.0/mlflow/experiments/search?max_results=100",
            None,
        ),
    ]


def _experiment_ids(seeded: SeededHome) -> list[str]:
    from iml4e.store import open_store
    from iml4e.tracking import connect_tracking

    with open_store(seeded.settings, migrate=False) as store:
        client = connect_tracking(seeded.settings, store)
        return [e.experiment_id for e in client.search_experiments(max_results=1000)]


# Which MLflow call the MLflow UI makes for the view a page of this room replaces.
COMPARABLE = {
    "model": "registered models (models list)",
    "model_detail": "versions of",
    "pipeline": "100 runs (experiment page)",
    "run": "100 runs (experiment page)",
    None: "experiments (home page)",
}


def _comparable(page: PageRoute) -> str | None:
    if page.room == "model":
        return "versions of" if "{" in page.route else COMPARABLE["model"]
    if page.room in ("pipeline", "run"):
        return COMPARABLE["pipeline"]
    if page.room is None and page.route.rstrip("/") == "/ui":
        return COMPARABLE[None]
    return None


def measure_mlflow_call(
    client: httpx.Client, mlflow_base: str, call: MlflowCall, repeat: int
) -> MlflowCall:
    """Time ``call`` on the MLflow server directly, then through the platform's proxy."""
    with http_client(mlflow_base) as direct:
        times, answer = _time_calls(direct, call.method, call.path, call.body, repeat)
    answer.raise_for_status()
    call.median_ms = round(statistics.median(times), 1)
    call.max_ms = round(max(times), 1)
    call.kilobytes = round(len(answer.content) / 1024, 1)
    call.items = max((len(v) for v in answer.json().values() if isinstance(v, list)), default=0)
    proxied, answer = _time_calls(client, call.method, f"/mlflow{call.path}", call.body, repeat)
    if answer.status_code == 200:
        call.proxied_median_ms = round(statistics.median(proxied), 1)
    print(f"mlflow {call.name}: median {call.median_ms} ms ({call.items} items)", flush=True)
    return call


def _time_calls(
    client: httpx.Client, method: str, path: str, body: dict[str, Any] | None, repeat: int
) -> tuple[list[float], httpx.Response]:
    client.request(method, path, json=body)
    times = []
    answer = None
    for _ in range(repeat):
        start = time.perf_counter()
        answer = client.request(method, path, json=body)
        times.append((time.perf_counter() - start) * 1000)
    assert answer is not None
    return times, answer


# --- the table --------------------------------------------------------------------------------


def render(
    pages: list[PageResult], calls: list[MlflowCall], seeded: SeededHome, repeat: int
) -> str:
    """The results as two small tables for people."""
    by_name = {call.name: call for call in calls}
    sizes = seeded.sizes
    lines = [
        f"store: {sizes.runs:,} pipeline runs, {sizes.versions} versions of "
        f"{seeded.facts.get('model')}, {sizes.requests:,} logged requests (+ the demo's story);",
        f"median and max of {repeat} requests after one warm-up, over loopback HTTP to `iml4e up`",
        f"(auth on, admin session); target: median under {TARGET_MS:.0f} ms. render ms is the",
        "page's Server-Timing header: the template alone, after the page's data was read.",
        "",
    ]
    header = ("page", "status", "median ms", "max ms", "render ms", "KB", "target", "MLflow call")
    rows = []
    for page in pages:
        if page.not_measured:
            rows.append(
                (page.route, "-", "-", "-", "-", "-", f"not measured ({page.not_measured})", "-")
            )
            continue
        call = next(
            (c for n, c in by_name.items() if page.comparable and n.startswith(page.comparable)),
            None,
        )
        ratio = (
            f"{call.median_ms:.1f} ms ({page.median_ms / call.median_ms:.1f}x)"
            if call and page.median_ms and call.median_ms
            else "-"
        )
        met = _met(page)
        rows.append(
            (
                page.url or page.route,
                str(page.status),
                f"{page.median_ms:.1f}",
                f"{page.max_ms:.1f}",
                "-" if page.render_ms is None else f"{page.render_ms:.1f}",
                f"{page.kilobytes:.0f}",
                "met" if met else "MISSED",
                ratio,
            )
        )
    lines += _table(header, rows)
    lines += [
        "",
        "MLflow REST calls of the MLflow UI, on the MLflow server `iml4e up` started:",
        "",
    ]
    header = ("MLflow call", "items", "median ms", "max ms", "KB", "via /mlflow ms")
    rows = [
        (
            call.name,
            str(call.items),
            f"{call.median_ms:.1f}",
            f"{call.max_ms:.1f}",
            f"{call.kilobytes:.0f}",
            "-" if call.proxied_median_ms is None else f"{call.proxied_median_ms:.1f}",
        )
        for call in calls
    ]
    lines += _table(header, rows)
    return "\n".join(lines)


def _met(page: PageResult) -> bool:
    """Whether the page answered 200 with a median under the target."""
    return page.status == 200 and page.median_ms is not None and page.median_ms < TARGET_MS


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(
            cell.ljust(widths[i]) if i in (0, len(header) - 1) else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()
        for row in [header, *rows]
    ]


if __name__ == "__main__":
    main()
