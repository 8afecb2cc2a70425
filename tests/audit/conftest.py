"""The serving tests' session model (a real MLflow registry and a tiny model) for the wiring
test of ``create_deployment`` / ``stop_deployment``."""

from tests.serving.conftest import registered_model  # noqa: F401  (a fixture, used by name)
