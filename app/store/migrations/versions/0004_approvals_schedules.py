"""Approvals, retraining schedules, shadow scores, and alerts linked to the job that answered them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("model_id", sa.Integer(), sa.ForeignKey("models.id"), nullable=False),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("versions.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("override", sa.Boolean(), nullable=False),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.String(128), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=True),
    )
    op.create_index("ix_approvals_status", "approvals", ["status"])
    op.create_table(
        "schedules",
        sa.Column("model_id", sa.Integer(), sa.ForeignKey("models.id"), primary_key=True),
        sa.Column("cron", sa.String(120), nullable=True),
        sa.Column("on_alert_severity", sa.String(16), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_due_at", sa.DateTime(), nullable=True),
        sa.Column("last_run_at", sa.DateTime(), nullable=True),
        sa.Column("last_job_id", sa.Integer(), sa.ForeignKey("jobs.id"), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "shadow_scores",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("batch_id", sa.Integer(), sa.ForeignKey("batches.id"), nullable=False),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("versions.id"), nullable=False),
        sa.Column("output_sha256", sa.String(64), sa.ForeignKey("artifacts.sha256"), nullable=False),
        sa.Column("agreement", sa.Double(), nullable=False),
        sa.Column("performance", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("batch_id", "version_id", name="uq_shadow_batch_version"),
    )
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("linked_job_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_alerts_linked_job", "jobs", ["linked_job_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint("fk_alerts_linked_job", type_="foreignkey")
        batch.drop_column("linked_job_id")
    for table in ("shadow_scores", "schedules", "approvals"):
        op.drop_table(table)
