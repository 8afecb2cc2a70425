"""pipelines: step cache keys, artifacts, artifact uses and lineage links

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("iml4e_pipeline_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pipeline_ref", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("executor", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("resumed_from", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("options", sa.JSON(), nullable=True))
    with op.batch_alter_table("iml4e_step_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("step_ref", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("code_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("cache_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("params", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("mlflow_run_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("cached_from", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("logs", sa.Text(), nullable=True))
        batch_op.create_index("ix_iml4e_step_run_cache_key", ["cache_key"], unique=False)
        batch_op.create_foreign_key(
            "fk_iml4e_step_run_cached_from_iml4e_step_run",
            "iml4e_step_run",
            ["cached_from"],
            ["id"],
        )
    op.create_table(
        "iml4e_artifact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("serializer", sa.String(length=60), nullable=False),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("type_name", sa.String(length=300), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_iml4e_artifact"),
        sa.UniqueConstraint(
            "content_hash", "serializer", name="uq_iml4e_artifact_content_hash_serializer"
        ),
    )
    op.create_index("ix_iml4e_artifact_content_hash", "iml4e_artifact", ["content_hash"])
    op.create_table(
        "iml4e_artifact_use",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("step_run_id", sa.Integer(), nullable=False),
        sa.Column("artifact_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["step_run_id"],
            ["iml4e_step_run.id"],
            name="fk_iml4e_artifact_use_step_run_id_iml4e_step_run",
        ),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["iml4e_artifact.id"],
            name="fk_iml4e_artifact_use_artifact_id_iml4e_artifact",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_iml4e_artifact_use"),
    )
    op.create_index("ix_iml4e_artifact_use_step_run_id", "iml4e_artifact_use", ["step_run_id"])
    op.create_index(
        "ix_iml4e_artifact_use_artifact_id_role", "iml4e_artifact_use", ["artifact_id", "role"]
    )
    op.create_table(
        "iml4e_lineage_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("step_run_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("dataset_version_id", sa.Integer(), nullable=True),
        sa.Column("model_name", sa.String(length=200), nullable=True),
        sa.Column("model_version", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["step_run_id"],
            ["iml4e_step_run.id"],
            name="fk_iml4e_lineage_link_step_run_id_iml4e_step_run",
        ),
        sa.ForeignKeyConstraint(
            ["dataset_version_id"],
            ["iml4e_dataset_version.id"],
            name="fk_iml4e_lineage_link_dataset_version_id_iml4e_dataset_version",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_iml4e_lineage_link"),
    )
    op.create_index("ix_iml4e_lineage_link_step_run_id", "iml4e_lineage_link", ["step_run_id"])
    op.create_index(
        "ix_iml4e_lineage_link_dataset_version_id", "iml4e_lineage_link", ["dataset_version_id"]
    )
    op.create_index(
        "ix_iml4e_lineage_link_model", "iml4e_lineage_link", ["model_name", "model_version"]
    )


def downgrade() -> None:
    op.drop_table("iml4e_lineage_link")
    op.drop_table("iml4e_artifact_use")
    op.drop_table("iml4e_artifact")
    with op.batch_alter_table("iml4e_step_run", schema=None) as batch_op:
        batch_op.drop_constraint("fk_iml4e_step_run_cached_from_iml4e_step_run", type_="foreignkey")
        batch_op.drop_index("ix_iml4e_step_run_cache_key")
        for column in (
            "logs",
            "cached_from",
            "mlflow_run_id",
            "attempts",
            "params",
            "cache_key",
            "code_hash",
            "step_ref",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("iml4e_pipeline_run", schema=None) as batch_op:
        for column in ("options", "resumed_from", "executor", "pipeline_ref"):
            batch_op.drop_column(column)
