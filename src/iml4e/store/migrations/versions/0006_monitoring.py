"""monitoring: reference profiles, feedback labels, monitor reports, alerts and their history

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "iml4e_monitor_reference",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("model_version", sa.String(length=32), nullable=False),
        sa.Column("dataset_version_id", sa.Integer(), nullable=True),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_version_id"],
            ["iml4e_dataset_version.id"],
            name="fk_iml4e_monitor_reference_dataset_version",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_iml4e_monitor_reference"),
        sa.UniqueConstraint(
            "model_name",
            "model_version",
            name="uq_iml4e_monitor_reference_model_name_model_version",
        ),
    )
    op.create_table(
        "iml4e_feedback_label",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deployment", sa.String(length=200), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("label", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_iml4e_feedback_label"),
        sa.UniqueConstraint(
            "deployment", "request_id", name="uq_iml4e_feedback_label_deployment_request_id"
        ),
    )
    op.create_table(
        "iml4e_monitor_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deployment", sa.String(length=200), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=True),
        sa.Column("window_end", sa.DateTime(), nullable=True),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("model_versions", sa.JSON(), nullable=False),
        sa.Column("drift", sa.JSON(), nullable=False),
        sa.Column("quality", sa.JSON(), nullable=False),
        sa.Column("performance", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.Column("html_path", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_iml4e_monitor_report"),
    )
    op.create_index(
        "ix_iml4e_monitor_report_deployment_created_at",
        "iml4e_monitor_report",
        ["deployment", "created_at"],
    )
    op.create_table(
        "iml4e_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deployment", sa.String(length=200), nullable=False),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("since", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_iml4e_alert"),
        sa.UniqueConstraint("deployment", "rule", name="uq_iml4e_alert_deployment_rule"),
    )
    op.create_table(
        "iml4e_alert_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["iml4e_alert.id"], name="fk_iml4e_alert_event_alert_id_iml4e_alert"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_iml4e_alert_event"),
    )
    op.create_index("ix_iml4e_alert_event_alert_id", "iml4e_alert_event", ["alert_id"])


def downgrade() -> None:
    op.drop_index("ix_iml4e_alert_event_alert_id", table_name="iml4e_alert_event")
    op.drop_table("iml4e_alert_event")
    op.drop_table("iml4e_alert")
    op.drop_index(
        "ix_iml4e_monitor_report_deployment_created_at", table_name="iml4e_monitor_report"
    )
    op.drop_table("iml4e_monitor_report")
    op.drop_table("iml4e_feedback_label")
    op.drop_table("iml4e_monitor_reference")
