"""Persistence: SQLAlchemy ORM over SQLite (or PostgreSQL), migrations, content-addressed artifacts."""
