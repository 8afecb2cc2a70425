"""The registry room: model versions and aliases in MLflow's registry, and the gates before."""

from iml4e.registry.errors import GateFailed, RegistryError
from iml4e.registry.gates import (
    GateResult,
    Threshold,
    evaluate_gate,
    parse_threshold,
    require_gate,
)
from iml4e.registry.versions import ModelVersionInfo, register_model_version, set_alias

__all__ = [
    "GateFailed",
    "GateResult",
    "ModelVersionInfo",
    "RegistryError",
    "Threshold",
    "evaluate_gate",
    "parse_threshold",
    "register_model_version",
    "require_gate",
    "set_alias",
]
