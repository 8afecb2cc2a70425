"""What one deployment serves: its model URIs by role and the traffic rule, checked once.

The same :class:`ServeSpec` is checked by ``iml4e deploy create`` before anything starts,
turned into the ``iml4e serve`` command line of the managed process, stored with the
deployment record, and read by the server itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from iml4e.serving.errors import InvalidDeploymentSpec

ROLE_OPTIONS = {"challenger": "--challenger", "shadow": "--shadow", "fallback": "--fallback"}


@dataclass(frozen=True)
class ServeSpec:
    """A deployment's models (``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``) and rule.

        ``split`` is the share of requests the canary ``challenger_uri`` answers; a
        ``shadow_uri`` sees every request but is only logged; ``fallback_uri`` answers while the
        deployment is paused. ``operator_routes`` mounts ``/operator``: on loopback servers, and on
    others only behind ``operator_auth`` (API tokens and roles).
    """

    model_uri: str
    deployment: str
    challenger_uri: str | None = None
    split: float | None = None
    shadow_uri: str | None = None
    fallback_uri: str | None = None
    operator_routes: bool = False
    operator_auth: bool = False
    """Whether the operator routes ask for an API token whose role allows the action."""

    def check(self) -> None:
        """Raise :class:`InvalidDeploymentSpec` naming the option that does not fit."""
        if self.challenger_uri is not None and self.shadow_uri is not None:
            raise InvalidDeploymentSpec(
                "a deployment has a canary challenger or a shadow, not both", where="--shadow"
            )
        if self.split is not None and self.challenger_uri is None:
            raise InvalidDeploymentSpec("a split needs --challenger (the canary)", where="--split")
        if self.challenger_uri is not None and self.split is None:
            raise InvalidDeploymentSpec(
                "a canary needs --split (the fraction of requests it answers)",
                where="--challenger",
            )
        if self.split is not None and not 0 < self.split < 1:
            raise InvalidDeploymentSpec(
                f"must be strictly between 0 and 1 (got {self.split:g})", where="--split"
            )

    def follow(self) -> dict[str, str]:
        """The URI of each role (an alias URI is followed when it moves)."""
        uris = {
            "champion": self.model_uri,
            "challenger": self.challenger_uri,
            "shadow": self.shadow_uri,
            "fallback": self.fallback_uri,
        }
        return {role: uri for role, uri in uris.items() if uri is not None}

    def serve_options(self) -> list[str]:
        """The ``iml4e serve`` options after the model URI that give this spec."""
        options = ["--deployment", self.deployment]
        for role, uri in self.follow().items():
            if role in ROLE_OPTIONS:
                options += [ROLE_OPTIONS[role], uri]
        if self.split is not None:
            options += ["--split", repr(self.split)]
        return options

    def as_record(self, *, workers: int) -> dict[str, Any]:
        """The spec as stored with the deployment (what ``iml4e deploy`` was asked for)."""
        return {
            "model_uri": self.model_uri,
            "challenger_uri": self.challenger_uri,
            "split": self.split,
            "shadow_uri": self.shadow_uri,
            "fallback_uri": self.fallback_uri,
            "workers": workers,
        }
