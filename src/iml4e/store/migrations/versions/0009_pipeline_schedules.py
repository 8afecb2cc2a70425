"""pipeline schedules run by the background scheduler of ``iml4e up``

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "iml4e_pipeline_schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("pipeline", sa.String(length=500), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("executor", sa.String(length=200), nullable=True),
        sa.Column("interval_s", sa.Float(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("next_run_at", sa.DateTime(), nullable=False),
        sa.Column("last_run_at", sa.DateTime(), nullable=True),
        sa.Column("last_run_id", sa.String(length=64), nullable=True),
        sa.Column("last_status", sa.String(length=20), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_iml4e_pipeline_schedule"),
        sa.UniqueConstraint("name", name="uq_iml4e_pipeline_schedule_name"),
    )
    op.create_index(
        "ix_iml4e_pipeline_schedule_next_run_at", "iml4e_pipeline_schedule", ["next_run_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_iml4e_pipeline_schedule_next_run_at", table_name="iml4e_pipeline_schedule")
    op.drop_table("iml4e_pipeline_schedule")
