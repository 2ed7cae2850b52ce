"""Fuller model cards and datasheets, findings (incidents) and sign-off reviews for compliance reports.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _text(name: str) -> sa.Column:
    # Existing rows get an empty field, which the report then lists as a gap.
    return sa.Column(name, sa.Text(), nullable=False, server_default="")


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN: a batch (copy-and-rename) rebuild of these tables would trip the
    # foreign keys that versions, batches and alerts hold on them.
    op.add_column("models", _text("limitations"))
    op.add_column("models", _text("ethical_considerations"))
    op.add_column("models", sa.Column("validator", sa.String(128), nullable=False, server_default=""))
    op.add_column("models", sa.Column("next_review_at", sa.DateTime(), nullable=True))
    op.add_column("datasets", _text("description"))
    op.add_column("datasets", _text("source"))
    op.add_column("datasets", _text("limitations"))
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("model_id", sa.Integer(), sa.ForeignKey("models.id"), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("versions", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("root_cause", sa.Text(), nullable=False),
        sa.Column("corrective_action", sa.Text(), nullable=False),
        sa.Column("alert_id", sa.Integer(), sa.ForeignKey("alerts.id"), nullable=True),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("opened_by", sa.String(128), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by", sa.String(128), nullable=True),
    )
    op.create_index("ix_findings_model_status", "findings", ["model_id", "status"])
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("model_id", sa.Integer(), sa.ForeignKey("models.id"), nullable=False),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("versions.id"), nullable=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.String(128), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_reviews_model_at", "reviews", ["model_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_reviews_model_at", "reviews")
    op.drop_table("reviews")
    op.drop_index("ix_findings_model_status", "findings")
    op.drop_table("findings")
    for name in ("limitations", "source", "description"):
        op.drop_column("datasets", name)  # SQLite ≥ 3.35 drops a column in place
    for name in ("next_review_at", "validator", "ethical_considerations", "limitations"):
        op.drop_column("models", name)
