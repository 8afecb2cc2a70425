"""The platform server: ``iml4e up`` runs it with the MLflow UI beside it.

:func:`create_platform_app` builds the ASGI app (health, landing page, MLflow UI proxied
under ``/mlflow``); :func:`run_platform` initialises the installation and runs both servers in
the foreground until SIGINT or SIGTERM.
"""

from iml4e.server.app import create_platform_app
from iml4e.server.errors import PlatformStartFailed, PortInUse, ServerAddressError
from iml4e.server.run import run_platform

__all__ = [
    "PlatformStartFailed",
    "PortInUse",
    "ServerAddressError",
    "create_platform_app",
    "run_platform",
]
