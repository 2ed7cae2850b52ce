"""Monitoring: settings, reference profiles, batches, per-feature drift, alerts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settings",
        sa.Column("scope", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "reference_profiles",
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("versions.id"), primary_key=True),
        sa.Column("artifact_sha256", sa.String(64), sa.ForeignKey("artifacts.sha256"), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "batches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("model_id", sa.Integer(), sa.ForeignKey("models.id"), nullable=False),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("versions.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("input_name", sa.String(255), nullable=False),
        sa.Column("input_sha256", sa.String(64), sa.ForeignKey("artifacts.sha256"), nullable=False),
        sa.Column("output_sha256", sa.String(64), sa.ForeignKey("artifacts.sha256"), nullable=True),
        sa.Column("prediction_column", sa.String(255), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("drift_share", sa.Double(), nullable=True),
        sa.Column("dataset_drift", sa.Boolean(), nullable=False),
        sa.Column("drift", sa.JSON(), nullable=False),
        sa.Column("labels_sha256", sa.String(64), sa.ForeignKey("artifacts.sha256"), nullable=True),
        sa.Column("performance", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_batches_model_created", "batches", ["model_id", "created_at"])
    op.create_table(
        "feature_drift",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("batch_id", sa.Integer(), sa.ForeignKey("batches.id"), nullable=False),
        sa.Column("feature", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("psi", sa.Double(), nullable=True),
        sa.Column("js_distance", sa.Double(), nullable=True),
        sa.Column("wasserstein_norm", sa.Double(), nullable=True),
        sa.Column("ks_statistic", sa.Double(), nullable=True),
        sa.Column("ks_pvalue", sa.Double(), nullable=True),
        sa.Column("chi2_pvalue", sa.Double(), nullable=True),
        sa.Column("drifted", sa.Boolean(), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("missing_rate", sa.Double(), nullable=True),
        sa.Column("out_of_range_share", sa.Double(), nullable=True),
        sa.Column("unseen_share", sa.Double(), nullable=True),
    )
    op.create_index("ix_feature_drift_batch", "feature_drift", ["batch_id"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("model_id", sa.Integer(), sa.ForeignKey("models.id"), nullable=False),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("versions.id"), nullable=False),
        sa.Column("batch_id", sa.Integer(), sa.ForeignKey("batches.id"), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(128), nullable=True),
        sa.Column("ack_note", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(128), nullable=True),
        sa.Column("decision", sa.String(16), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("linked_version_id", sa.Integer(), sa.ForeignKey("versions.id"), nullable=True),
    )
    op.create_index("ix_alerts_model_status", "alerts", ["model_id", "status"])


def downgrade() -> None:
    for table in ("alerts", "feature_drift", "batches", "reference_profiles", "settings"):
        op.drop_table(table)
