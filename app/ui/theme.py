"""Light and dark themes: Fusion palette + a QSS file, stage badge colours, tinted SVG icons."""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

from app.ui.resources import read_text, resource_path

__all__ = [
    "THEMES", "apply_theme", "current_theme", "color", "stage_colors", "risk_color", "status_style", "icon", "app_icon",
]

THEMES = ("light", "dark")

# One small set of named colours per theme; the QSS files use the same values.
_COLORS = {
    "light": {
        "window": "#f4f5f7", "surface": "#ffffff", "text": "#1f2328", "muted": "#5c6570",
        "border": "#d7dbe1", "accent": "#2f6fde", "selection": "#d3e3fd", "selection_text": "#0f2547",
        "alt_row": "#f8f9fb", "error": "#c62828", "link": "#2f6fde", "on_accent": "#ffffff",
    },
    "dark": {
        "window": "#1d2026", "surface": "#252930", "text": "#e4e7eb", "muted": "#9aa3ae",
        "border": "#3a404a", "accent": "#5b9bff", "selection": "#2c4a7a", "selection_text": "#ffffff",
        "alt_row": "#2a2e36", "error": "#ff7b72", "link": "#7fb0ff", "on_accent": "#ffffff",
    },
}
# (background, foreground) of the stage badges.
_STAGES = {
    "light": {"production": ("#d8f2e0", "#176b2f"), "staging": ("#ffefc2", "#7a4f00"),
              "archived": ("#e8ebee", "#56616c")},
    "dark": {"production": ("#1e4a2c", "#8ae6a8"), "staging": ("#56420f", "#ffd77a"),
             "archived": ("#363b43", "#b8c0c9")},
}
# (background, border, text) of status banners, readable in both themes.
_STATUS = {
    "light": {"ok": ("#e6f4ea", "#34a853", "#0d652d"), "broken": ("#fce8e6", "#d93025", "#a50e0e"),
              "info": ("#e8f0fe", "#4285f4", "#174ea6")},
    "dark": {"ok": ("#16321f", "#2e7d4a", "#9fe3b4"), "broken": ("#3d1b1a", "#b3412f", "#ffb4a9"),
             "info": ("#1b2a44", "#4a78c2", "#b5cdfa")},
}
_RISK = {
    "light": {"high": "#b42318", "medium": "#7a4f00", "low": "#176b2f"},
    "dark": {"high": "#ff8a80", "medium": "#ffd77a", "low": "#8ae6a8"},
}


def current_theme() -> str:
    app = QApplication.instance()
    name = app.property("steward_theme") if app is not None else None
    return name if name in THEMES else "light"


def color(name: str) -> QColor:
    return QColor(_COLORS[current_theme()][name])


def stage_colors(stage: str) -> tuple[QColor, QColor] | None:
    pair = _STAGES[current_theme()].get(str(stage))
    return (QColor(pair[0]), QColor(pair[1])) if pair else None


def status_style(kind: str, selector: str) -> str:
    """QSS for a banner of `kind` ('ok', 'broken', 'info') that also colours the labels inside it."""
    bg, border, fg = _STATUS[current_theme()].get(kind, _STATUS[current_theme()]["info"])
    return (f"{selector} {{ background: {bg}; border: 1px solid {border}; border-radius: 4px; }} "
            f"{selector} QLabel {{ color: {fg}; background: transparent; }}")


def risk_color(tier: str) -> QColor | None:
    value = _RISK[current_theme()].get(str(tier))
    return QColor(value) if value else None


def _palette(name: str) -> QPalette:
    c = {k: QColor(v) for k, v in _COLORS[name].items()}
    pal = QPalette()
    for role, key in (
        (QPalette.ColorRole.Window, "window"), (QPalette.ColorRole.Base, "surface"),
        (QPalette.ColorRole.AlternateBase, "alt_row"), (QPalette.ColorRole.WindowText, "text"),
        (QPalette.ColorRole.Text, "text"), (QPalette.ColorRole.ButtonText, "text"),
        (QPalette.ColorRole.Button, "surface"), (QPalette.ColorRole.Highlight, "selection"),
        (QPalette.ColorRole.HighlightedText, "selection_text"), (QPalette.ColorRole.ToolTipBase, "surface"),
        (QPalette.ColorRole.ToolTipText, "text"), (QPalette.ColorRole.PlaceholderText, "muted"),
        (QPalette.ColorRole.Link, "link"), (QPalette.ColorRole.Mid, "border"),
        (QPalette.ColorRole.Accent, "accent"),
    ):
        pal.setColor(role, c[key])
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, c["muted"])
    return pal


def apply_theme(name: str) -> str:
    """Switch the whole application to `name` ('light' or 'dark'); returns the theme applied."""
    name = name if name in THEMES else "light"
    app = QApplication.instance()
    app.setStyle("Fusion")  # the same look on every platform, and it honours the palette fully
    app.setPalette(_palette(name))
    app.setProperty("steward_theme", name)
    # QSS resolves url() against the working directory, so the icon folder is filled in here.
    app.setStyleSheet(read_text("styles", f"{name}.qss").replace("@ICONS@", resource_path("icons").as_posix()))
    _tinted.cache_clear()
    return name


@lru_cache(maxsize=64)
def _tinted(name: str, tint: str, size: int) -> QIcon:
    svg = read_text("icons", f"{name}.svg")
    if not svg:
        return QIcon()
    # Monochrome icons are drawn with currentColor so one file serves both themes.
    renderer = QSvgRenderer(QByteArray(svg.replace("currentColor", tint).encode()))
    out = QIcon()
    for scale in (1, 2):
        pix = QPixmap(QSize(size * scale, size * scale))
        pix.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pix)
        renderer.render(painter)
        painter.end()
        pix.setDevicePixelRatio(scale)
        out.addPixmap(pix)
    return out


def icon(name: str, *, role: str = "muted", size: int = 20) -> QIcon:
    """A monochrome icon from resources/icons/<name>.svg in the theme colour `role`."""
    return _tinted(name, _COLORS[current_theme()][role], size)


def app_icon() -> QIcon:
    return QIcon(str(resource_path("icons", "app.svg")))
