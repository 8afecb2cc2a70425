"""dataset versions keep their profile, contract and data snapshot

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("iml4e_dataset_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("profile", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("contract", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("snapshot_uri", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("iml4e_dataset_version", schema=None) as batch_op:
        batch_op.drop_column("snapshot_uri")
        batch_op.drop_column("contract")
        batch_op.drop_column("profile")
