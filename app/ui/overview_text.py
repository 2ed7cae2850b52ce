"""The Overview's data (read in the background) and its linked tables, as rich text for QLabels."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from app.core.entities import ModelSummary
from app.core.monitoring import Alert, Batch
from app.services import queries
from app.services.alerts import list_alerts
from app.services.monitoring_queries import Overview, list_batches, overview
from app.store.workspace import Workspace
from app.ui import theme
from app.ui.palette import severity_color
from app.ui.formatting import fmt_time

__all__ = ["OverviewData", "load_overview", "models_table", "alerts_table", "RECENT_ALERTS"]

RECENT_ALERTS = 6  # the newest open alerts listed under the tiles; the rest are one click away
MODELS_SHOWN = 12  # models listed on the Overview, those needing attention first; the rest are on the Models page


@dataclass(frozen=True)
class OverviewData:
    counts: Overview
    recent_alerts: list[Alert] = field(default_factory=list)
    models: list[tuple[ModelSummary, Batch | None]] = field(default_factory=list)  # with its latest batch
    total_models: int = 0


def load_overview(ws: Workspace) -> OverviewData:
    """Counts, the newest open alerts and the latest batch of the models most in need of attention
    (run off the GUI thread). A thousand-model inventory lists a dozen here, not a thousand rows."""
    counts = overview(ws)
    models = queries.list_models(ws)
    drifting = set(counts.drifting_models)
    models.sort(key=lambda m: (-counts.alerts_by_model.get(m.name, 0), m.name not in drifting,
                               -m.last_change_at.timestamp(), m.name))
    shown = models[:MODELS_SHOWN]
    shown.sort(key=lambda m: m.name)
    return OverviewData(counts=counts, recent_alerts=list_alerts(ws, status="open")[:RECENT_ALERTS],
                        models=[(m, next(iter(list_batches(ws, m.name, limit=1)), None)) for m in shown],
                        total_models=len(models))


def _link(href: str, text: str, *, bold: bool = False) -> str:
    weight = "; font-weight:600" if bold else ""
    return f"<a style='color:{theme.color('link').name()}{weight}' href='{escape(href)}'>{escape(text)}</a>"


def _cell(html: str, gap: int = 28) -> str:
    return f"<td style='padding:4px {gap}px 4px 0'>{html}</td>"


def models_table(data: OverviewData) -> str:
    """One row per model: Production version, latest batch, its drift, open alerts; each part a link."""
    if not data.models:
        return "<span>No models yet: register one on the Models page.</span>"
    muted = theme.color("muted").name()
    head = "".join(f"<td style='padding:0 28px 4px 0; color:{muted}; font-weight:600'>{t}</td>"
                   for t in ("Model", "Production", "Latest batch", "Drifted features in it", "Open alerts"))
    rows = [f"<tr>{head}</tr>"]
    counts = data.counts
    for model, batch in data.models:
        name = model.name
        production = f"v{model.production_version}" if model.production_version else \
            f"<span style='color:{muted}'>none</span>"
        if batch is None:
            latest = drift = f"<span style='color:{muted}'>no batches yet</span>"
        else:
            latest = _link(f"monitoring:{name}", f"{fmt_time(batch.created_at)}" + (f" · {batch.label}"
                                                                                     if batch.label else ""))
            drifted = [f["name"] for f in batch.drift.get("features", []) if f.get("drifted")]
            share = f"{batch.drift_share or 0:.0%} of features"
            drift = (f"<span style='color:{severity_color('medium').name()}; font-weight:600'>{share}</span> "
                     f"<span style='color:{muted}'>({escape(', '.join(drifted[:3]))}"
                     f"{'…' if len(drifted) > 3 else ''})</span>" if drifted else
                     f"<span style='color:{muted}'>none</span>")
        alerts = counts.alerts_by_model.get(name, 0)
        alerts_html = _link(f"alerts:{name}", f"{alerts} open") if alerts else f"<span style='color:{muted}'>—</span>"
        rows.append("<tr>" + _cell(_link(f"model:{name}", name, bold=True)) + _cell(production) + _cell(latest)
                    + _cell(drift) + _cell(alerts_html, gap=0) + "</tr>")
    more = data.total_models - len(data.models)
    if more > 0:
        rows.append(f"<tr><td colspan='5' style='padding:6px 0 0 0; color:{muted}'>Those needing attention first; "
                    f"{_link('models:', f'{more} more on the Models page')}</td></tr>")
    return f"<table>{''.join(rows)}</table>"


def alerts_table(data: OverviewData) -> str:
    if not data.recent_alerts:
        return "<span>No open alerts.</span>"
    muted = theme.color("muted").name()
    rows = []
    for alert in data.recent_alerts:
        color = severity_color(alert.severity.value).name()
        rows.append(f"<tr><td style='padding:4px 10px 4px 0; color:{color}'>●</td>"
                    + _cell(_link(f"alerts:{alert.model_name}", f"#{alert.id}"), gap=14)
                    + _cell(escape(alert.model_name), gap=14)
                    + _cell(f"{escape(alert.title)} <span style='color:{muted}'>({alert.status.value}, opened "
                            f"{fmt_time(alert.opened_at)})</span>", gap=0) + "</tr>")
    return f"<table>{''.join(rows)}</table>"
