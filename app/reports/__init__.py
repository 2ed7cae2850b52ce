"""Render a compliance report's evidence (a JSON-ready dict) as HTML and PDF; the schema of that evidence."""
