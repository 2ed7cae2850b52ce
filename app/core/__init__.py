"""Entities, errors, settings and small protocols shared by every layer (no Qt, no SQL)."""
