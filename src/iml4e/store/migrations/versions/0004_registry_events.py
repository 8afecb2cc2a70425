"""registry: events (registrations, alias moves, approvals, promotions, rollbacks)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "iml4e_registry_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("model_version", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("alias", sa.String(length=200), nullable=True),
        sa.Column("previous_version", sa.String(length=32), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_iml4e_registry_event"),
    )
    op.create_index("ix_iml4e_registry_event_model_name", "iml4e_registry_event", ["model_name"])


def downgrade() -> None:
    op.drop_index("ix_iml4e_registry_event_model_name", table_name="iml4e_registry_event")
    op.drop_table("iml4e_registry_event")
