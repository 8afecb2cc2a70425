"""The settings object and the values derived from it."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import make_url

DEFAULT_HOME = Path(".iml4e")
DATABASE_FILE = "iml4e.db"
ARTIFACTS_FOLDER = "artifacts"


class Settings(BaseModel):
    """The effective settings of one iml4e installation.

    Every path is absolute and every URI explicit once loaded; derived values (database URL,
    artifact root, MLflow URIs) are filled in by :func:`iml4e.config.load_settings`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    home: Path = Field(description="Folder holding the database, artifacts and logs.")
    database_url: str = Field(
        description="SQLAlchemy URL of the metadata database (iml4e and MLflow tables)."
    )
    artifact_root: str = Field(description="Folder or URI where artifacts and models are stored.")
    server_host: str = Field(description="Address the platform server binds to.")
    server_port: int = Field(ge=1, le=65535, description="Port of the platform server.")
    server_auth: Literal["auto", "on", "off"] = Field(
        description="Whether the platform server asks who is calling: `on`, `off`, or `auto` "
        "(on unless it binds to loopback, where one local user is the default)."
    )
    server_max_body_bytes: int = Field(
        ge=1,
        description="Largest request body the platform server accepts (413 above it).",
    )
    mlflow_port: int = Field(ge=1, le=65535, description="Port of the MLflow UI started by `up`.")
    mlflow_tracking_uri: str = Field(description="MLflow tracking URI (the database by default).")
    mlflow_registry_uri: str = Field(description="MLflow registry URI (the database by default).")
    sqlite_busy_timeout_ms: int = Field(
        ge=0, description="How long a SQLite writer waits for a lock before failing."
    )
    user: str = Field(description="Who acts, recorded in registry events until logins exist.")
    pipeline_executor: str = Field(
        description="Where pipeline steps run: `local`, `local:N` (N threads), `ray` or `ray://…`."
    )
    pipeline_workers: int = Field(
        ge=0, description="Steps the local executor runs at once (0: one per CPU)."
    )
    ray_address: str = Field(
        description="Ray cluster the `ray` executor joins (empty: start Ray on this machine)."
    )
    serving_watch_interval_s: float = Field(
        gt=0,
        le=3600,
        description="How often a model server checks its aliases and deployment state.",
    )
    monitor_interval_s: float = Field(
        ge=0,
        description="How often `iml4e up` monitors every serving deployment (0: never).",
    )
    monitor_window: str = Field(
        min_length=1, description="The window each scheduled monitoring run looks at."
    )
    serving_max_connections: int = Field(
        ge=1,
        description="Open connections a model server worker holds before answering 503.",
    )

    @property
    def is_sqlite(self) -> bool:
        """Whether the metadata database is a SQLite file."""
        return self.database_url.startswith("sqlite")

    @property
    def inference_log_root(self) -> Path:
        """Folder holding the inference log segments of every deployment."""
        return self.home / "inference"

    @property
    def artifact_location_uri(self) -> str:
        """The artifact root as a URI (``file://…`` for a local folder)."""
        if "://" in self.artifact_root:
            return self.artifact_root
        return Path(self.artifact_root).as_uri()

    def as_environment(self) -> dict[str, str]:
        """Every setting as an ``IML4E_*`` variable, so a child process sees exactly these."""
        return {
            f"IML4E_{key.upper()}": str(value)
            for key, value in self.model_dump(mode="json").items()
        }

    def masked(self) -> dict[str, object]:
        """The settings as plain data with passwords in URLs replaced by ``***``."""
        values = self.model_dump(mode="json")
        for key in ("database_url", "mlflow_tracking_uri", "mlflow_registry_uri"):
            values[key] = mask_url(values[key])
        return values


def mask_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a SQLAlchemy URL (e.g. http://, file://): nothing to mask
        return url
