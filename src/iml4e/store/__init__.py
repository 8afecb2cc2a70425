"""The metadata store: SQLAlchemy models, sessions and Alembic migrations.

iml4e shares its database with MLflow. Its own tables are prefixed ``iml4e_`` and its
migration history is kept in ``iml4e_alembic_version``, apart from MLflow's ``alembic_version``.
"""

from iml4e.store.errors import NotFound, StoreError, StoreUnavailable
from iml4e.store.migrate import current_revision, head_revision, upgrade_schema
from iml4e.store.store import Store, open_store

__all__ = [
    "NotFound",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "current_revision",
    "head_revision",
    "open_store",
    "upgrade_schema",
]
