"""Record pipeline runs and their steps in the store: status, timings, errors."""

from __future__ import annotations

import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from iml4e.store import Store
from iml4e.store.models import PipelineRun, StepRun, utcnow


class PipelineRecorder:
    """Records one run of a pipeline; use as a context manager, each stage inside ``step``."""

    def __init__(self, store: Store, pipeline: str, params: dict[str, Any] | None = None) -> None:
        self.store = store
        self.pipeline = pipeline
        self.params = dict(params or {})
        self.run_id = uuid.uuid4().hex
        self.durations: dict[str, float] = {}

    def __enter__(self) -> PipelineRecorder:
        with self.store.session() as session:
            session.add(
                PipelineRun(
                    id=self.run_id, pipeline=self.pipeline, status="running", params=self.params
                )
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self.store.session() as session:
            run = session.get(PipelineRun, self.run_id)
            assert run is not None
            run.status = "succeeded" if exc is None else "failed"
            run.finished_at = utcnow()
            if exc is not None:
                run.error = f"{type(exc).__name__}: {exc}"

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time and record the stage ``name``; a failure keeps its traceback."""
        with self.store.session() as session:
            step = StepRun(pipeline_run_id=self.run_id, name=name, status="running")
            session.add(step)
            session.flush()
            step_id = step.id
        started = time.perf_counter()
        error: str | None = None
        try:
            yield
        except BaseException:
            error = traceback.format_exc()
            raise
        finally:
            duration = time.perf_counter() - started
            self.durations[name] = duration
            with self.store.session() as session:
                step = session.get(StepRun, step_id)
                assert step is not None
                step.status = "failed" if error else "succeeded"
                step.finished_at = utcnow()
                step.duration_s = duration
                step.error = error

    def link_mlflow_run(self, mlflow_run_id: str) -> None:
        """Remember the MLflow run that holds this pipeline run's params, metrics and model."""
        with self.store.session() as session:
            run = session.get(PipelineRun, self.run_id)
            assert run is not None
            run.mlflow_run_id = mlflow_run_id
