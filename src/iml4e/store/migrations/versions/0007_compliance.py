"""compliance: AI systems, assessments and control results, attestations, incidents, documents

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "iml4e_ai_system",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("intended_purpose", sa.Text(), nullable=False),
        sa.Column("provider", sa.String(length=300), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("classification", sa.JSON(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_iml4e_ai_system"),
        sa.UniqueConstraint("name", name="uq_iml4e_ai_system_name"),
    )
    op.create_table(
        "iml4e_assessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=200), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("model_version", sa.String(length=32), nullable=False),
        sa.Column("deployment", sa.String(length=200), nullable=True),
        sa.Column("catalogue_version", sa.String(length=40), nullable=False),
        sa.Column("basis", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_iml4e_assessment"),
    )
    op.create_index(
        "ix_iml4e_assessment_system_model",
        "iml4e_assessment",
        ["system", "model_name", "model_version"],
    )
    op.create_table(
        "iml4e_control_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("control_id", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["iml4e_assessment.id"],
            name="fk_iml4e_control_result_assessment_id_iml4e_assessment",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_iml4e_control_result"),
    )
    op.create_index(
        "ix_iml4e_control_result_assessment_id", "iml4e_control_result", ["assessment_id"]
    )
    op.create_table(
        "iml4e_attestation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=200), nullable=False),
        sa.Column("control_id", sa.String(length=80), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=True),
        sa.Column("model_version", sa.String(length=32), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_iml4e_attestation"),
    )
    op.create_index(
        "ix_iml4e_attestation_system_control", "iml4e_attestation", ["system", "control_id"]
    )
    op.create_table(
        "iml4e_incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=200), nullable=False),
        sa.Column("deployment", sa.String(length=200), nullable=False),
        sa.Column("model_version", sa.String(length=32), nullable=True),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("opened_by", sa.String(length=200), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("reported_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("freeze_override", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_iml4e_incident"),
    )
    op.create_index("ix_iml4e_incident_system", "iml4e_incident", ["system"])
    op.create_table(
        "iml4e_compliance_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=True),
        sa.Column("model_version", sa.String(length=32), nullable=True),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_iml4e_compliance_document"),
    )
    op.create_index("ix_iml4e_compliance_document_system", "iml4e_compliance_document", ["system"])


def downgrade() -> None:
    op.drop_index("ix_iml4e_compliance_document_system", table_name="iml4e_compliance_document")
    op.drop_table("iml4e_compliance_document")
    op.drop_index("ix_iml4e_incident_system", table_name="iml4e_incident")
    op.drop_table("iml4e_incident")
    op.drop_index("ix_iml4e_attestation_system_control", table_name="iml4e_attestation")
    op.drop_table("iml4e_attestation")
    op.drop_index("ix_iml4e_control_result_assessment_id", table_name="iml4e_control_result")
    op.drop_table("iml4e_control_result")
    op.drop_index("ix_iml4e_assessment_system_model", table_name="iml4e_assessment")
    op.drop_table("iml4e_assessment")
    op.drop_table("iml4e_ai_system")
