"""Tamper-evident audit trail: canonical event encoding, hash chain, its verifier, and appending in a transaction."""
