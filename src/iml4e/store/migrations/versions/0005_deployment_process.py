"""serving: deployments started as managed processes (pid, address, log, create options)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("iml4e_deployment", sa.Column("pid", sa.Integer(), nullable=True))
    op.add_column("iml4e_deployment", sa.Column("port", sa.Integer(), nullable=True))
    op.add_column("iml4e_deployment", sa.Column("host", sa.String(length=255), nullable=True))
    op.add_column("iml4e_deployment", sa.Column("log_path", sa.Text(), nullable=True))
    op.add_column("iml4e_deployment", sa.Column("spec", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("iml4e_deployment") as batch:
        for column in ("spec", "log_path", "host", "port", "pid"):
            batch.drop_column(column)
