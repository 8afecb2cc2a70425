"""audit trail (hash-chained), users, API tokens and login sessions

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "iml4e_audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("previous_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_iml4e_audit_event"),
        sa.UniqueConstraint("hash", name="uq_iml4e_audit_event_hash"),
    )
    for column in ("at", "actor", "action"):
        op.create_index(f"ix_iml4e_audit_event_{column}", "iml4e_audit_event", [column])
    op.create_table(
        "iml4e_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("display_name", sa.String(length=300), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_iml4e_user"),
        sa.UniqueConstraint("name", name="uq_iml4e_user_name"),
    )
    op.create_table(
        "iml4e_api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["iml4e_user.id"], name="fk_iml4e_api_token_user_id_iml4e_user"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_iml4e_api_token"),
        sa.UniqueConstraint("prefix", name="uq_iml4e_api_token_prefix"),
    )
    op.create_index("ix_iml4e_api_token_user_id", "iml4e_api_token", ["user_id"])
    op.create_table(
        "iml4e_login_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["iml4e_user.id"], name="fk_iml4e_login_session_user_id_iml4e_user"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_iml4e_login_session"),
        sa.UniqueConstraint("session_hash", name="uq_iml4e_login_session_session_hash"),
    )
    op.create_index("ix_iml4e_login_session_user_id", "iml4e_login_session", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_iml4e_login_session_user_id", table_name="iml4e_login_session")
    op.drop_table("iml4e_login_session")
    op.drop_index("ix_iml4e_api_token_user_id", table_name="iml4e_api_token")
    op.drop_table("iml4e_api_token")
    op.drop_table("iml4e_user")
    for column in ("at", "actor", "action"):
        op.drop_index(f"ix_iml4e_audit_event_{column}", table_name="iml4e_audit_event")
    op.drop_table("iml4e_audit_event")
