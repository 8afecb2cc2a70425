"""Which model of a deployment answers a request: champion, canary challenger, shadow, fallback.

A deployment serves one champion and optionally a challenger, either on a share of the traffic
(canary: ``split``) or in shadow mode (it sees every request, its answers are logged, never
returned). While the deployment is paused (human oversight, AI Act Art. 14) requests get a 503,
or the fallback model's answer when one is configured.

The split is decided by a hash of the request id, so a retried request (same id) meets the same
model and the share is exact over many requests. Models are swapped in place
(:meth:`Router.swap`): requests already waiting on the old model finish on it, new ones go to
the new model, and the old model's predict thread is closed once it is idle.
"""

from __future__ import annotations

import asyncio
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from iml4e.serving.errors import DeploymentPaused, PayloadError
from iml4e.serving.inference_log import InferenceLogWriter
from iml4e.serving.metrics import ServingMetrics
from iml4e.serving.scoring import Scorer
from iml4e.serving.served_model import ServedModel

ROLES = ("champion", "challenger", "shadow", "fallback")
Parsed = TypeVar("Parsed")


@dataclass(frozen=True)
class Routed:
    """The answer to one request and the model that gave it."""

    outputs: list[Any]
    model: ServedModel
    role: str


@dataclass(frozen=True)
class Answering(Generic[Parsed]):
    """How one request is scored: parse its body for a given model, then predict."""

    parse: Callable[[ServedModel], Parsed]
    protocol: str
    request_id: str
    started: float
    caller: str | None


class Router:
    """The models of one deployment and the rule choosing which one answers."""

    def __init__(
        self,
        deployment: str,
        champion: Scorer,
        *,
        challenger: Scorer | None = None,
        split: float = 0.0,
        shadow: Scorer | None = None,
        fallback: Scorer | None = None,
    ) -> None:
        if challenger is not None and shadow is not None:
            raise ValueError("a deployment has either a canary challenger or a shadow, not both")
        if not 0.0 <= split < 1.0:
            raise ValueError("split must be in [0, 1)")
        self.deployment = deployment
        self.split = split
        self.paused = False
        self._scorers: dict[str, Scorer | None] = {
            "champion": champion,
            "challenger": challenger,
            "shadow": shadow,
            "fallback": fallback,
        }
        self._background: set[asyncio.Task[None]] = set()
        self._publish()

    @classmethod
    def for_models(
        cls,
        deployment: str,
        log: InferenceLogWriter,
        champion: ServedModel,
        *,
        challenger: ServedModel | None = None,
        split: float = 0.0,
        shadow: ServedModel | None = None,
        fallback: ServedModel | None = None,
    ) -> Router:
        """A router over loaded models, all logging to ``log`` and counted in one registry."""
        metrics = ServingMetrics()

        def scorer(model: ServedModel | None) -> Scorer | None:
            return None if model is None else Scorer(model, deployment, log, metrics)

        return cls(
            deployment,
            Scorer(champion, deployment, log, metrics),
            challenger=scorer(challenger),
            split=split,
            shadow=scorer(shadow),
            fallback=scorer(fallback),
        )

    @property
    def champion(self) -> ServedModel:
        """The champion model (its signature is the deployment's)."""
        return self._scorer("champion").model

    @property
    def metrics(self) -> ServingMetrics:
        """The deployment's Prometheus metrics."""
        return self._scorer("champion").metrics

    @property
    def ready(self) -> bool:
        """Whether requests are answered (not paused, or paused with a fallback)."""
        return not self.paused or self._scorers["fallback"] is not None

    def make_scorer(self, model: ServedModel) -> Scorer:
        """A scorer for ``model`` sharing this deployment's inference log and metrics."""
        champion = self._scorer("champion")
        return Scorer(model, self.deployment, champion.log, champion.metrics)

    def model(self, role: str) -> ServedModel | None:
        """The model serving ``role``, if any."""
        scorer = self._scorers[role]
        return None if scorer is None else scorer.model

    def loaded(self, name: str, version: str) -> ServedModel | None:
        """The model ``name`` version ``version`` if a role already holds it (a promoted
        challenger becomes champion without loading it again)."""
        for scorer in self._scorers.values():
            if scorer is not None and (scorer.model.name, scorer.model.version) == (name, version):
                return scorer.model
        return None

    def served(self) -> list[tuple[str, str, str]]:
        """``(model name, version, role)`` of every model this deployment holds."""
        return [
            (scorer.model.name, scorer.model.version, role)
            for role, scorer in self._scorers.items()
            if scorer is not None
        ]

    def serves(self, name: str) -> bool:
        """Whether ``name`` (the deployment's or a served model's) addresses this server."""
        return name == self.deployment or any(name == served[0] for served in self.served())

    def has_version(self, version: str) -> bool:
        """Whether a request may pin model ``version`` (a champion or challenger version)."""
        return any(
            scorer is not None and scorer.model.version == version
            for role, scorer in self._scorers.items()
            if role in ("champion", "challenger")
        )

    def choose(self, request_id: str, *, version: str | None = None) -> tuple[Scorer, str]:
        """The scorer that answers ``request_id`` and its role; raise
        :class:`DeploymentPaused` when paused without a fallback."""
        if self.paused:
            fallback = self._scorers["fallback"]
            if fallback is None:
                raise DeploymentPaused(
                    "the deployment is paused by an operator; try again later",
                    where=self.deployment,
                )
            return fallback, "fallback"
        challenger = self._scorers["challenger"]
        if version is not None:
            if challenger is not None and challenger.model.version == version:
                return challenger, "challenger"
            return self._scorer("champion"), "champion"
        if challenger is not None and _share(request_id) < self.split:
            return challenger, "challenger"
        return self._scorer("champion"), "champion"

    async def answer(self, request: Answering[Any], *, version: str | None = None) -> Routed:
        """Parse and predict ``request`` on the chosen model, log it, and mirror it to the
        shadow (whose answer is logged only)."""
        scorer, role = self.choose(request.request_id, version=version)
        outputs = await scorer.predict_and_log(
            request.parse(scorer.model),
            protocol=request.protocol,
            request_id=request.request_id,
            started=request.started,
            caller=request.caller,
            role=role,
        )
        shadow = self._scorers["shadow"]
        if shadow is not None and role == "champion":
            self._in_background(self._mirror(shadow, request))
        return Routed(outputs, scorer.model, role)

    async def _mirror(self, shadow: Scorer, request: Answering[Any]) -> None:
        try:
            await shadow.predict_and_log(
                request.parse(shadow.model),
                protocol=request.protocol,
                request_id=request.request_id,
                started=request.started,
                caller=request.caller,
                role="shadow",
            )
        except PayloadError as exc:  # the shadow's signature refuses what the champion took
            print(
                f"iml4e serve: shadow {shadow.model.name}/{shadow.model.version} refused request "
                f"{request.request_id}: {exc}",
                file=sys.stderr,
            )

    def swap(self, role: str, scorer: Scorer | None) -> None:
        """Serve ``role`` with ``scorer`` from now on (``None`` removes a challenger, shadow
        or fallback); the replaced scorer finishes its queued requests, then closes."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        if role == "champion" and scorer is None:
            raise ValueError("a deployment always has a champion")
        old, self._scorers[role] = self._scorers[role], scorer
        self._publish()
        if old is not None and old is not scorer:
            self._in_background(_retire(old))

    def pause(self) -> None:
        """Refuse requests (503) or send them to the fallback model."""
        self.paused = True

    def resume(self) -> None:
        """Serve requests again."""
        self.paused = False

    async def close(self) -> None:
        """Wait for mirrored requests and retirements, then close every predict thread."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)
        for scorer in {id(s): s for s in self._scorers.values() if s is not None}.values():
            scorer.batcher.close()

    def _scorer(self, role: str) -> Scorer:
        scorer = self._scorers[role]
        assert scorer is not None  # the champion is never removed (swap refuses it)
        return scorer

    def _publish(self) -> None:
        self._scorer("champion").metrics.set_served(self.served())

    def _in_background(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _share(request_id: str) -> float:
    """A stable number in [0, 1) for ``request_id``."""
    return zlib.crc32(request_id.encode()) / 2**32


async def _retire(scorer: Scorer) -> None:
    while scorer.batcher.busy:
        await asyncio.sleep(0.01)
    await asyncio.get_running_loop().run_in_executor(None, scorer.batcher.close)
