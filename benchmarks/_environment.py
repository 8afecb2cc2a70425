"""The machine and package versions a benchmark's JSON records beside its figures."""

from __future__ import annotations

import os
import platform
from importlib.metadata import version


def environment_facts(*packages: str) -> dict[str, object]:
    """Python, platform, CPU count and the installed version of each of ``packages``."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        **{package: version(package) for package in packages},
    }
