"""Keep a running server in step with the registry and its deployment record.

A model server started on ``models:/NAME@ALIAS`` follows that alias: when someone promotes or
rolls back (the alias moves), the watcher loads the new version in the background and swaps it
in (:meth:`~iml4e.serving.router.Router.swap`) without a restart and without dropping a
request. It also follows the deployment's state in the store, so ``iml4e deploy pause`` reaches
every worker. A version that fails to load is reported once and the old model keeps serving.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Mapping
from typing import Any

from iml4e.config import Settings
from iml4e.errors import Iml4eError
from iml4e.serving.deployments import add_deployment_event, get_deployment, record_deployment
from iml4e.serving.router import Router
from iml4e.serving.served_model import MODEL_URI, load_served_model
from iml4e.store import Store

ACTOR = "model-server"
"""Who the server's own changes are attributed to (the person is on the registry event)."""


class DeploymentWatcher:
    """A background thread that applies alias moves and pause/resume to one server's router."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        router: Router,
        *,
        follow: Mapping[str, str],
        interval: float | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.router = router
        self.follow = {role: uri for role, uri in follow.items() if _alias_of(uri) is not None}
        self.interval = settings.serving_watch_interval_s if interval is None else interval
        self._failed: set[tuple[str, str]] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Any = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Check every ``interval`` seconds on a daemon thread, applying changes on ``loop``."""
        self._loop = loop
        self._thread = threading.Thread(target=self._run, name="iml4e-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop checking (waits for a check in progress)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def check_once(self) -> list[str]:
        """Apply what changed since the last check; returns a line per change made."""
        changes = [change for role in self.follow if (change := self._follow_alias(role))]
        state = get_deployment(self.store, self.router.deployment).state
        if state == "paused" and not self.router.paused:
            self.router.pause()
            changes.append("paused")
        elif state == "serving" and self.router.paused:
            self.router.resume()
            changes.append("resumed")
        return changes

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                for change in self.check_once():
                    print(f"iml4e serve {self.router.deployment}: {change}", file=sys.stderr)
            except Exception as exc:  # the registry or store is unreachable: keep serving
                print(f"iml4e serve {self.router.deployment}: check failed: {exc}", file=sys.stderr)

    def _follow_alias(self, role: str) -> str | None:
        from iml4e.registry import current_alias_version

        name, alias = _alias_of(self.follow[role]) or ("", "")
        version = current_alias_version(self._mlflow(), name, alias)
        current = self.router.model(role)
        if version is None:
            if role == "champion" or current is None:
                return None  # a champion without its alias keeps serving what it has
            self._swap(role, None)
            self._event("unassigned", role, alias, current.version, None)
            return f"{role} removed ({alias} unset)"
        if current is not None and current.version == version:
            return None
        if (role, version) in self._failed:
            return None
        try:
            model = self.router.loaded(name, version) or load_served_model(
                self.settings, f"models:/{name}/{version}"
            )
        except Iml4eError as exc:
            self._failed.add((role, version))
            self._event("swap_failed", role, alias, None, version, error=str(exc))
            return f"{role} version {version} failed to load: {exc}"
        previous = None if current is None else current.version
        self._swap(role, model)
        if role == "champion":
            self._record_champion(model.name, version)
        self._event("swapped", role, alias, previous, version)
        return f"{role} {previous} -> {version}"

    def _swap(self, role: str, model: Any) -> None:
        assert self._loop is not None  # start() set it
        scorer = None if model is None else self.router.make_scorer(model)

        async def swap() -> None:
            self.router.swap(role, scorer)

        asyncio.run_coroutine_threadsafe(swap(), self._loop).result(timeout=60)

    def _record_champion(self, model_name: str, version: str) -> None:
        recorded = get_deployment(self.store, self.router.deployment)
        if recorded.model_version == version:
            return  # another worker of this deployment recorded it already
        record_deployment(
            self.store,
            self.router.deployment,
            model_name=model_name,
            model_version=version,
            url=recorded.url,
            actor=ACTOR,
            state=recorded.state,
        )

    def _event(
        self,
        kind: str,
        role: str,
        alias: str,
        previous: str | None,
        version: str | None,
        **extra: str,
    ) -> None:
        add_deployment_event(
            self.store,
            self.router.deployment,
            kind,
            actor=ACTOR,
            detail={
                "role": role,
                "alias": alias,
                "previous_version": previous,
                "version": version,
                "pid": os.getpid(),
                **extra,
            },
        )

    def _mlflow(self) -> Any:
        if self._client is None:
            from mlflow import MlflowClient

            self._client = MlflowClient(
                self.settings.mlflow_tracking_uri, self.settings.mlflow_registry_uri
            )
        return self._client


def _alias_of(uri: str) -> tuple[str, str] | None:
    match = MODEL_URI.match(uri)
    return None if match is None or not match["alias"] else (match["name"], match["alias"])
