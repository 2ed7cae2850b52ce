"""Machine-learning domain: data loading, model inspection, metrics, pickle scanning (no Qt, no SQL)."""
