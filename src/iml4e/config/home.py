"""Create the home folder and the local artifact root, and prove they are writable."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from iml4e.config.errors import ConfigError
from iml4e.config.settings import Settings


def prepare_home(settings: Settings) -> None:
    """Create ``home`` (and a local ``artifact_root``) and check this process can write there.

    Raises :class:`ConfigError` naming the folder when it cannot be created or written.
    """
    folders = [("home", settings.home), ("home", settings.inference_log_root)]
    if "://" not in settings.artifact_root:
        folders.append(("artifact_root", Path(settings.artifact_root)))
    for setting, folder in folders:
        _ensure_writable_folder(folder, setting)


def _ensure_writable_folder(folder: Path, setting: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor, probe = tempfile.mkstemp(prefix=".write-probe-", dir=folder)
        os.close(descriptor)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(f"folder {folder} is not writable ({reason})", where=setting) from None
