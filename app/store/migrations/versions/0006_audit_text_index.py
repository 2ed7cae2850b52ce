"""A trigram full-text index over the audit log's object and details, for the Audit page's text search.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # External content: the index holds only the trigrams, the text stays in audit_events. Events are
    # only ever inserted (triggers refuse UPDATE and DELETE), so an insert trigger keeps it complete.
    op.execute("CREATE VIRTUAL TABLE audit_fts USING fts5(object, details, content='audit_events', "
               "content_rowid='seq', tokenize='trigram')")
    op.execute("INSERT INTO audit_fts(audit_fts) VALUES ('rebuild')")
    op.execute("CREATE TRIGGER audit_fts_insert AFTER INSERT ON audit_events BEGIN "
               "INSERT INTO audit_fts(rowid, object, details) VALUES (new.seq, new.object, new.details); END")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_fts_insert")
    op.execute("DROP TABLE IF EXISTS audit_fts")
