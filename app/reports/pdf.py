"""Render the report's evidence as an A4 PDF with Qt's QtGui only (QPdfWriter, QPainter, QtSvg).

No QtWidgets and no pyqtgraph: the command line renders PDFs without a window, and the GUI renders them
on a worker thread, where only QImage/QPdfWriter painting is safe (no QPixmap anywhere here).

Pagination and contents, in two passes: the body (sections 0–11) is measured into units and placed on
pages (app.reports.pdf_flow), which records the page of every section and model heading. Then the
cover and contents are laid out with those page numbers shifted past the front pages; the number slots
have a fixed width, so the count of front pages cannot change when the numbers are filled in (the loop
re-checks anyway). Finally every page is painted: its units, the charts (vectors, from the same SVG as
the HTML), and the running header (report id) and footer ("Page i of n").
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from app.reports.blocks import Heading
from app.reports.charts import render_svg
from app.reports.outline import build_outline
from app.reports.outline_models import COMPACT_ABOVE
from app.reports.pdf_flow import DPI, PALETTE, Flow, Styles, dp, no_ligatures, paint_ops
from app.reports.pdf_units import UnitBuilder
from app.reports.text import Badge, Mono, fmt_time

__all__ = ["render_pdf", "ensure_gui_app", "pick_fonts"]

_APP: Any = None  # the QGuiApplication we created, kept alive for the process

# Page geometry in points (A4 is 595.3 × 841.9 pt).
_LEFT = _RIGHT = 50.0
_TOP, _BOTTOM = 64.0, 58.0
_SANS = ("DejaVu Sans", "Noto Sans", "Liberation Sans", "Arial", "Helvetica")
_MONO = ("DejaVu Sans Mono", "Noto Sans Mono", "Liberation Mono", "Consolas", "Menlo", "Courier New")


def ensure_gui_app() -> Any:
    """The running QGuiApplication (a QApplication counts), creating one, offscreen on a headless Linux, if none."""
    global _APP
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtGui import QGuiApplication

    app = QCoreApplication.instance()
    if app is None:
        headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
        if not os.environ.get("QT_QPA_PLATFORM") and headless and sys.platform not in ("win32", "darwin"):
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        _APP = QGuiApplication([sys.argv[0] if sys.argv and sys.argv[0] else "steward"])
        return _APP
    if not isinstance(app, QGuiApplication):
        from app.core.errors import StewardError

        raise StewardError("PDF reports need a GUI-capable Qt application, but a console-only one is running.",
                           hint="Export the report as HTML or JSON from this process.")
    return app


def pick_fonts() -> tuple[str, str]:
    """(sans, mono) families that exist here, preferring DejaVu (full Unicode coverage, embeddable)."""
    from PySide6.QtGui import QFontDatabase

    families = set(QFontDatabase.families())
    sans = next((f for f in _SANS if f in families), QFontDatabase.systemFont(QFontDatabase.GeneralFont).family())
    mono = next((f for f in _MONO if f in families), QFontDatabase.systemFont(QFontDatabase.FixedFont).family())
    return sans, mono


def _chrome(painter: Any, page: int, total: int, meta: dict[str, Any], fonts: tuple[str, str],
            width: float, height: float) -> None:
    """Running header (title, report id) and footer (application, generated, Page i of n)."""
    from PySide6.QtCore import QLineF, QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QPen

    font = QFont(fonts[0])
    font.setPointSizeF(7.2)
    no_ligatures(font)
    painter.setFont(font)
    painter.setPen(QColor(PALETTE["muted"]))
    left, right = dp(_LEFT), width - dp(_RIGHT)
    head = QRectF(left, dp(30), right - left, dp(14))
    painter.drawText(head, int(Qt.AlignLeft | Qt.AlignVCenter), meta.get("title") or "Model risk audit report")
    painter.drawText(head, int(Qt.AlignRight | Qt.AlignVCenter), f"Report {meta.get('report_id') or '?'}")
    foot = QRectF(left, height - dp(_BOTTOM) + dp(20), right - left, dp(14))
    painter.drawText(foot, int(Qt.AlignLeft | Qt.AlignVCenter),
                     f"Model Steward {meta.get('app_version') or ''} · generated "
                     f"{fmt_time(meta.get('generated_at'))} UTC")
    painter.drawText(foot, int(Qt.AlignRight | Qt.AlignVCenter), f"Page {page} of {total}")
    painter.setPen(QPen(QColor(PALETTE["rule"]), dp(0.6)))
    painter.drawLine(QLineF(left, head.bottom() + dp(3), right, head.bottom() + dp(3)))
    painter.drawLine(QLineF(left, foot.top() - dp(3), right, foot.top() - dp(3)))


def _front_facts(evidence: dict[str, Any]) -> list[tuple[str, Any]]:
    meta = evidence.get("metadata") or {}
    overall = (evidence.get("conclusions") or {}).get("overall") or "not assessed"
    return [("Report ID", Mono(meta.get("report_id") or "?")),
            ("Generated", f"{fmt_time(meta.get('generated_at'), seconds=True)} UTC"),
            ("Prepared by", meta.get("prepared_by") or "not stated"),
            ("Prepared for", meta.get("prepared_for") or "not stated"),
            ("Models in scope", f"{len(evidence.get('inventory') or []):,}"),
            ("Overall", Badge(overall, "good" if overall == "criteria met" else "bad")),
            ("Evidence SHA-256", Mono((evidence.get("integrity") or {}).get("evidence_sha256") or "—"))]


def render_pdf(evidence: dict[str, Any], path: Path) -> None:
    """Write the report to `path` as an A4 PDF with contents, page numbers, charts and embedded fonts."""
    ensure_gui_app()
    from PySide6.QtCore import QByteArray, QMarginsF
    from PySide6.QtGui import QPageLayout, QPageSize, QPainter, QPdfWriter
    from PySide6.QtSvg import QSvgRenderer

    meta = evidence.get("metadata") or {}
    fonts = pick_fonts()
    writer = QPdfWriter(str(path))
    writer.setResolution(DPI)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.A4), QPageLayout.Portrait, QMarginsF(0, 0, 0, 0),
                                     QPageLayout.Point))
    writer.setTitle(f"{meta.get('title') or 'Model risk audit report'} {meta.get('report_id') or ''}".strip())
    writer.setCreator(f"Model Steward {meta.get('app_version') or ''}".strip())
    width, height = writer.width(), writer.height()
    body_w, body_h = width - dp(_LEFT) - dp(_RIGHT), height - dp(_TOP) - dp(_BOTTOM)
    styles = Styles(writer, *fonts)

    # Pass 1: the body, page by page; every section and model heading learns its page.
    blocks = build_outline(evidence)
    builder = UnitBuilder(styles, body_w, body_h)
    body = Flow(body_h)
    body.place([unit for block in blocks for unit in builder.units(block)])  # one list: headings look ahead
    body_pages = body.finish()

    # Pass 2: cover and contents, with the body's page numbers shifted past the front pages.
    detailed = len(evidence.get("models") or []) <= COMPACT_ABOVE
    listed = [b for b in blocks
              if isinstance(b, Heading) and b.anchor and (b.level == 1 or (b.level == 2 and detailed))]
    entries = [(h.level, h.number, h.title) for h in listed]
    title = meta.get("title") or "Model risk audit report"
    facts = _front_facts(evidence)
    front_pages = 1
    for _attempt in range(4):  # page numbers have fixed-width slots, so this settles at once
        numbers = [front_pages + body.marks[h.anchor] + 1 if h.anchor in body.marks else None for h in listed]
        front = Flow(body_h)
        front.place(UnitBuilder(styles, body_w, body_h).front(facts, title, entries, numbers))
        if front.finish() == front_pages:
            break
        front_pages = len(front.pages)
    total = front_pages + body_pages

    def draw_chart(index: int, painter: Any, rect: Any) -> None:
        painter.setFont(styles["body"].font)  # QtSvg starts from the painter's font (else a bold heading's)
        svg = render_svg(builder.charts[index], font_family=fonts[0])
        QSvgRenderer(QByteArray(svg.encode("utf-8"))).render(painter, rect)

    painter = QPainter(writer)
    if not painter.isActive():  # an unwritable path: Qt would otherwise draw into nothing, silently
        from app.core.errors import InvalidInputError

        raise InvalidInputError(f"Cannot write the PDF report to '{path}'.", hint="Check the folder exists and is "
                                "writable.")
    try:
        number = 0
        for flow in (front, body):
            for placed in flow.pages:
                if number:
                    writer.newPage()
                number += 1
                state: dict = {}
                for y, unit in placed:
                    if unit.ops:
                        paint_ops(painter, styles, unit.ops, dp(_LEFT), dp(_TOP) + y, draw_chart, state)
                _chrome(painter, number, total, meta, fonts, width, height)
    finally:
        painter.end()
