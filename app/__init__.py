"""Model Steward: offline model registry, monitoring and verifiable audit trail."""

__version__ = "0.1.0"
