"""The Ray executor against a real Ray cluster on this machine (no mocks).

The cluster is a separate ``ray start --head --block`` process with its own temp dir and free
ports, so the tests join it by address like a user joins a cluster; it is stopped at the end by
signalling that process (its own process group), never with ``ray stop``, which would stop
every Ray on the machine.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from iml4e.errors import BadInput
from iml4e.pipelines import StepFailed, UnknownExecutor, get_run, list_runs, run_pipeline
from iml4e.pipelines.execute import StepOutcome, StepTask
from iml4e.pipelines.executors import open_executor
from iml4e.pipelines.executors.ray import ExecutorUnavailable, RayExecutor
from iml4e.store import open_store
from tests.pipelines import ray_sample as sample

pytestmark = pytest.mark.slow

START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class RayCluster:
    address: str  # GCS HOST:PORT
    client_address: str  # ray://HOST:PORT


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[RayCluster]:
    """A two-CPU Ray head node in its own process group; stopped (only it) at the end."""
    # short path: Ray's Unix sockets live under it and must stay under 108 characters
    temp_dir = Path(tempfile.mkdtemp(prefix="iml4e-ray-", dir="/tmp"))
    port, client_port = _free_port(), _free_port()
    log = (temp_dir / "ray-start.log").open("w")
    command = [
        str(Path(sys.executable).with_name("ray")), "start", "--head", "--block",
        "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
        f"--port={port}", f"--ray-client-server-port={client_port}", f"--temp-dir={temp_dir}",
    ]  # fmt: skip
    environment = {
        **os.environ,
        # `ray start` turns on token authentication once ~/.ray/auth_token exists (any local
        # ray.init creates it), and a driver joining by address only sends the token when
        # RAY_AUTH_MODE=token is in its environment: this test cluster runs without it.
        "RAY_AUTH_MODE": "disabled",
        # the Ray client proxy forks a server per client while gRPC threads run, which now
        # and then kills the child (ray-project/ray#63202); without gRPC's fork handlers it
        # did not happen in 50 connects
        "GRPC_ENABLE_FORK_SUPPORT": "0",
    }
    process = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=temp_dir,
        env=environment,
        start_new_session=True,
    )
    try:
        _wait_started(process, temp_dir / "ray-start.log")
        yield RayCluster(f"127.0.0.1:{port}", f"ray://127.0.0.1:{client_port}")
    finally:
        _stop(process)
        log.close()
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_wide_pipeline_runs_in_ray_workers_and_is_cached_the_second_time(
    ray_cluster: RayCluster, make_settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Ray puts the driver's working directory on the workers' sys.path; from tmp_path the
    # workers cannot import `tests`, so the steps can only reach them by value.
    monkeypatch.chdir(tmp_path)
    settings = make_settings()
    spec = f"ray:{ray_cluster.address}"
    result = run_pipeline(sample.wide, {"count": 100}, settings=settings, executor=spec)

    assert result.status == "succeeded"
    assert result.record.executor == spec
    assert {step.name: step.status for step in result.record.steps} == {
        "numbers": "succeeded",
        "power_sum": "succeeded",
        "power_sum_2": "succeeded",
        "power_sum_3": "succeeded",
        "join": "succeeded",
    }
    joined = result.output("join")
    values = range(100)
    assert joined["total"] == sum(values) + sum(v**2 for v in values) + sum(v**3 for v in values)
    source = result.output("numbers")
    assert os.getpid() not in {source["pid"], *joined["pids"]}
    assert source["tests_importable"] is False

    counting = CountingExecutor(RayExecutor(ray_cluster.address))
    try:
        again = run_pipeline(sample.wide, {"count": 100}, settings=settings, executor=counting)
    finally:
        counting.close()
    assert counting.submitted == []
    assert [step.status for step in again.record.steps] == ["cached"] * 5
    first_ids = {step.name: step.id for step in result.record.steps}
    assert {step.name: step.cached_from for step in again.record.steps} == first_ids
    assert again.output("join") == joined


def test_code_the_workers_import_from_the_same_file_goes_by_reference(
    ray_cluster: RayCluster, make_settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # From the repository root the workers import `tests` from the same files as this process,
    # so nothing is shipped by value and a dataclass output can be stored by its class name.
    import ray

    monkeypatch.chdir(Path(__file__).parents[2])
    settings = make_settings()
    executor = RayExecutor(ray_cluster.address)
    try:
        result = run_pipeline(sample.summarized, settings=settings, executor=executor)
        assert "tests" not in ray.cloudpickle.list_registry_pickle_by_value()
    finally:
        executor.close()
    assert result.output("summarize") == sample.Summary(count=10, total=45)


def test_failing_step_on_ray_keeps_its_traceback_and_output(
    ray_cluster: RayCluster, make_settings
) -> None:
    settings = make_settings()
    with pytest.raises(StepFailed, match="ValueError: boom on ray") as caught:
        run_pipeline(sample.failing, settings=settings, executor=f"ray:{ray_cluster.address}")
    assert caught.value.step == "explode"
    store = open_store(settings)
    try:
        record = get_run(store, caught.value.run_id)
    finally:
        store.close()
    assert record.status == "failed"
    explode = next(step for step in record.steps if step.name == "explode")
    assert explode.status == "failed"
    assert explode.error is not None
    assert "Traceback (most recent call last)" in explode.error
    assert "raise ValueError(message)" in explode.error
    assert explode.logs is not None and "about to fail in process" in explode.logs
    assert f"process {os.getpid()}\n" not in explode.logs


def test_worker_that_dies_fails_its_step_with_rays_error_in_plain_text(
    ray_cluster: RayCluster, make_settings
) -> None:
    settings = make_settings()
    with pytest.raises(StepFailed, match="WorkerCrashedError: ") as caught:
        run_pipeline(sample.dying, settings=settings, executor=f"ray:{ray_cluster.address}")
    assert caught.value.step == "die"
    assert "\x1b[" not in str(caught.value)
    store = open_store(settings)
    try:
        record = get_run(store, caught.value.run_id)
    finally:
        store.close()
    die = next(step for step in record.steps if step.name == "die")
    assert die.status == "failed" and die.attempts == 1
    assert die.error is not None and "worker died" in die.error.lower()


def test_step_past_its_timeout_fails_promptly_and_its_worker_is_killed(
    ray_cluster: RayCluster, make_settings, tmp_path: Path
) -> None:
    settings = make_settings()
    pid_file = tmp_path / "sleepy.pid"
    executor = RayExecutor(ray_cluster.address)
    started = time.perf_counter()
    try:
        with pytest.raises(StepFailed, match=r"TimeoutError: the attempt ran longer than 2 s"):
            run_pipeline(
                sample.slow,
                {"seconds": 30.0, "pid_file": str(pid_file)},
                settings=settings,
                executor=executor,
            )
        elapsed = time.perf_counter() - started
    finally:
        executor.close()
    assert elapsed < 10  # the step would sleep 30 s
    store = open_store(settings)
    try:
        [run] = list_runs(store)
    finally:
        store.close()
    assert run.status == "failed"
    assert [(step.name, step.status) for step in run.steps] == [
        ("numbers", "succeeded"),
        ("sleepy", "failed"),
    ]
    # abandoning the attempt killed its worker (ray.cancel(force=True)): its CPU is free again
    worker = int(pid_file.read_text(encoding="utf-8"))
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker)


def test_ray_client_address_runs_the_pipeline(ray_cluster: RayCluster, make_settings) -> None:
    settings = make_settings()
    result = run_pipeline(
        sample.wide, {"count": 10}, settings=settings, executor=ray_cluster.client_address
    )
    assert result.status == "succeeded"
    assert result.output("join")["total"] == 45 + 285 + 2025


def test_unreachable_or_malformed_address_is_a_clear_error(make_settings) -> None:
    settings = make_settings()
    nobody = f"127.0.0.1:{_free_port()}"
    for spec in (f"ray:{nobody}", f"ray://{nobody}"):
        started = time.perf_counter()
        with pytest.raises(ExecutorUnavailable, match=f"no Ray cluster answers at .*{nobody}"):
            run_pipeline(sample.wide, settings=settings, executor=spec)
        assert time.perf_counter() - started < 10
    with pytest.raises(ExecutorUnavailable) as caught:
        open_executor("ray", make_settings(ray_address=nobody))
    assert isinstance(caught.value, BadInput) and caught.value.where == nobody
    for spec in ("ray:", "ray:not-an-address", "ray:host:port"):
        with pytest.raises(UnknownExecutor, match="ray"):
            open_executor(spec, settings)
    store = open_store(settings)
    try:
        assert list_runs(store) == []  # refused before anything was recorded
    finally:
        store.close()


def test_importing_iml4e_does_not_import_ray_and_missing_ray_says_what_to_install() -> None:
    script = (
        "import sys\n"
        "import iml4e.pipelines, iml4e.pipelines.executors.ray\n"
        "assert 'ray' not in sys.modules, 'ray was imported'\n"
        "sys.modules['ray'] = None  # as if Ray were not installed\n"
        "from iml4e.pipelines.executors.ray import RayExecutor\n"
        "try:\n"
        "    RayExecutor()\n"
        "except iml4e.pipelines.UnknownExecutor as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert "pip install 'iml4e[ray]'" in done.stdout


class CountingExecutor:
    """A Ray executor that remembers which steps were submitted to it."""

    def __init__(self, inner: RayExecutor) -> None:
        self.inner = inner
        self.name = inner.name
        self.spec = inner.spec
        self.submitted: list[str] = []

    def submit(self, task: StepTask) -> Future[StepOutcome]:
        self.submitted.append(task.name)
        return self.inner.submit(task)

    def abandon(self, future: Future[StepOutcome]) -> None:
        self.inner.abandon(future)

    def close(self) -> None:
        self.inner.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait_started(process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if "Ray runtime started" in log.read_text(errors="replace"):
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"`ray start` did not start within {START_TIMEOUT_S:g} s:\n{tail}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to `ray start --block` stops its node; then kill whatever of its group is left."""
    with suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=40)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
