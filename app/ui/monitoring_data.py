"""What the Monitoring page shows for one model, read in one background call (no Qt here)."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.core.entities import Version
from app.core.monitoring import Alert, Batch, FeaturePoint
from app.services import queries
from app.services.alerts import list_alerts
from app.services.monitoring_queries import drift_history, list_batches
from app.services.settings import effective_settings
from app.store.workspace import Workspace

__all__ = ["MonitoringData", "load_monitoring"]


@dataclass(frozen=True)
class MonitoringData:
    """Everything the page shows for one model, read in one background call."""

    model: str
    batches: list[Batch]  # oldest first
    history: list[FeaturePoint]
    alerts: list[Alert]
    thresholds: dict
    versions: list[Version] = field(default_factory=list)

    @property
    def production(self) -> int | None:
        return next((v.number for v in self.versions if v.stage.value == "production"), None)

    def version(self, number: int | None) -> Version | None:
        return next((v for v in self.versions if v.number == number), None)


def load_monitoring(ws: Workspace, name: str) -> MonitoringData:
    """The reads behind the page (tens of milliseconds on a long history): run off the GUI thread."""
    return MonitoringData(model=name, batches=list_batches(ws, name), history=drift_history(ws, name),
                          alerts=list_alerts(ws, name), thresholds=effective_settings(ws, "drift", name),
                          versions=queries.list_versions(ws, name))
