"""What a running step can reach: its settings, metrics to log, lineage links to record."""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from iml4e.config import Settings
from iml4e.pipelines.errors import NotInStep

if TYPE_CHECKING:
    from iml4e.store import Store


@dataclass(frozen=True)
class LinkRecord:
    """A step's link to a dataset version (by catalog id) or a model version."""

    kind: str  # "dataset_version" | "model_version"
    role: str  # "input" | "output"
    dataset_version_id: int | None = None
    model_name: str | None = None
    model_version: str | None = None


@dataclass
class StepContext:
    """Handed to the code of a running step through :func:`current_step`.

    Metrics, params and tags are collected here and logged to the step's nested MLflow run in
    one batch when the step ends; links become edges of the lineage graph.
    """

    settings: Settings
    pipeline_run_id: str
    step_name: str
    attempt: int
    experiment_id: str | None = None
    parent_mlflow_run_id: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    links: list[LinkRecord] = field(default_factory=list)
    _mlflow_run_id: str | None = None
    _store: Store | None = None

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        """Metrics of this step (also shown on the pipeline's MLflow run)."""
        self.metrics.update({key: float(value) for key, value in metrics.items()})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Extra parameters of this step's MLflow run (its arguments are logged already)."""
        self.params.update(params)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        """Tags of this step's MLflow run."""
        self.tags.update({key: str(value) for key, value in tags.items()})

    def record_dataset(self, dataset: Any, *, role: str = "input") -> None:
        """Link a catalog dataset version (anything with an ``id``, or the id) to this step."""
        dataset_id = dataset if isinstance(dataset, int) else int(dataset.id)
        self.links.append(LinkRecord("dataset_version", _role(role), dataset_version_id=dataset_id))

    def record_model(self, name: str, version: str | int, *, role: str = "output") -> None:
        """Link a registered model version to this step (``output`` when it registered it)."""
        self.links.append(
            LinkRecord("model_version", _role(role), model_name=name, model_version=str(version))
        )

    @property
    def store(self) -> Store:
        """The metadata store, opened on first use and closed when the step ends."""
        if self._store is None:
            from iml4e.store import open_store

            self._store = open_store(self.settings)
        return self._store

    @property
    def mlflow_run_id(self) -> str:
        """This step's nested MLflow run, created now if the step needs it while running."""
        if self._mlflow_run_id is None:
            from iml4e.tracking import connect_tracking

            client = connect_tracking(self.settings, self.store)
            tags = {"iml4e.pipeline_run": self.pipeline_run_id, "iml4e.step": self.step_name}
            if self.parent_mlflow_run_id:
                tags["mlflow.parentRunId"] = self.parent_mlflow_run_id
            run = client.create_run(
                self.experiment_id or "0",
                start_time=int(time.time() * 1000),
                tags=tags,
                run_name=self.step_name,
            )
            self._mlflow_run_id = run.info.run_id
        return self._mlflow_run_id

    @property
    def created_mlflow_run_id(self) -> str | None:
        """The nested run the step created itself, if it asked for one."""
        return self._mlflow_run_id

    @contextmanager
    def mlflow_run(self) -> Iterator[str]:
        """Make this step's nested run MLflow's active run (for ``mlflow.log_model`` & co)."""
        from iml4e.tracking import activate_tracking

        run_id = self.mlflow_run_id
        activate_tracking(self.settings)
        import mlflow

        with mlflow.start_run(run_id=run_id, nested=mlflow.active_run() is not None):
            yield run_id

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def _role(role: str) -> str:
    if role not in ("input", "output"):
        raise ValueError(f"role must be 'input' or 'output', not {role!r}")
    return role


def current_step() -> StepContext:
    """The context of the step running in this thread; :class:`NotInStep` outside a step."""
    context = _CURRENT.get()
    if context is None:
        raise NotInStep("current_step() is only available while a pipeline step runs")
    return context


_CURRENT: contextvars.ContextVar[StepContext | None] = contextvars.ContextVar(
    "iml4e_current_step", default=None
)
