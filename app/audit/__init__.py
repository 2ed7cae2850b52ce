"""Tamper-evident audit trail: canonical event encoding, hash chain and its verifier (pure)."""
