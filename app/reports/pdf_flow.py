"""A small page-layout engine for the PDF: measured text, units of fixed height, pagination, painting.

Why not QTextDocument: for a 1,000-model report its table layout alone took over a minute and 1.6 GB,
it splits a table row across pages line by line, and it cannot keep a heading with what follows. Here
every block becomes "units" (a heading, a table row, a line of a paragraph) whose height is known up
front, so pagination is one pass: a unit that does not fit starts a new page, a table row repeats its
table's header there, and a heading is kept with the unit after it. Painting replays each unit's draw
operations (text runs stay real text, so pdftotext can read them). Lengths are PDF-writer pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["DPI", "dp", "no_ligatures", "Style", "Styles", "Unit", "Flow", "paint_ops", "PALETTE", "TONES"]

DPI = 300
PALETTE = {"ink": "#1d2733", "muted": "#5b6775", "rule": "#c9d1da", "band": "#f1f4f7", "navy": "#12355b",
           "accent": "#1f5fa8", "head": "#e6ebf1", "warn": "#93370d", "white": "#ffffff"}
# (background, text) per badge tone; the same palette as the HTML.
TONES = {"good": ("#dff3e7", "#05603a"), "bad": ("#fbe3e0", "#912018"), "warn": ("#fff0d6", "#93370d"),
         "info": ("#e3edf9", "#1849a9"), "neutral": ("#e9ecf0", "#404b59")}


def dp(points: float) -> float:
    """A length in points as PDF-writer pixels."""
    return points * DPI / 72


def no_ligatures(font: Any) -> None:
    """Switch off ligatures: with them pdftotext (and a reviewer's search) reads 'sign-oﬀs', not 'sign-offs'."""
    from PySide6.QtGui import QFont

    if hasattr(font, "setFeature"):  # Qt 6.7+
        for tag in ("liga", "clig", "dlig"):
            font.setFeature(QFont.Tag(tag), 0)
    else:
        font.setStyleStrategy(QFont.PreferNoShaping)


class Style:
    """A font with its metrics on the PDF writer, and cached advances of the words measured so far."""

    __slots__ = ("key", "font", "fm", "ascent", "line", "color", "_adv", "space")

    def __init__(self, key: str, family: str, size: float, device: Any, *, bold: bool = False,
                 italic: bool = False, color: str = PALETTE["ink"], leading: float = 1.22) -> None:
        from PySide6.QtGui import QFont, QFontMetricsF

        self.key, self.color = key, color
        self.font = QFont(family)
        self.font.setPointSizeF(size)
        self.font.setBold(bold)
        self.font.setItalic(italic)
        no_ligatures(self.font)
        self.fm = QFontMetricsF(self.font, device)
        self.ascent = self.fm.ascent()
        self.line = self.fm.height() * leading
        self._adv: dict[str, float] = {}
        self.space = self.width(" ")

    def width(self, text: str) -> float:
        adv = self._adv.get(text)
        if adv is None:
            adv = self._adv[text] = self.fm.horizontalAdvance(text)
        return adv

    def wrap(self, text: str, width: float) -> list[str]:
        """Lines of `text` no wider than `width`: breaks at spaces, and anywhere inside a word too long
        for a line (a hash, a path), so nothing ever runs past its column."""
        out: list[str] = []
        for para in text.split("\n"):
            if len(para) < 200 and self.width(para) <= width:
                out.append(para)
                continue
            line, used = "", 0.0
            for word in para.split(" "):
                w = self.width(word)
                if line and used + self.space + w <= width:
                    line, used = f"{line} {word}", used + self.space + w
                    continue
                if line:
                    out.append(line)
                if w <= width:
                    line, used = word, w
                    continue
                pieces = self._break_word(word, width)
                out += pieces[:-1]
                line, used = pieces[-1], self.width(pieces[-1])
            out.append(line)
        return out

    def _break_word(self, word: str, width: float) -> list[str]:
        pieces, start, used = [], 0, 0.0
        for i, ch in enumerate(word):
            w = self.width(ch)
            if used + w > width and i > start:
                pieces.append(word[start:i])
                start, used = i, 0.0
            used += w
        pieces.append(word[start:])
        return pieces


class Styles:
    """Every text style of the report, measured on one PDF writer."""

    def __init__(self, device: Any, sans: str, mono: str) -> None:
        def s(key: str, family: str, size: float, **kw: Any) -> Style:
            return Style(key, family, size, device, **kw)

        m = PALETTE
        self.sans, self.mono_family = sans, mono
        self.all = {st.key: st for st in (
            s("body", sans, 8.2), s("lead", sans, 8.6), s("cell", sans, 7.0), s("cell_strong", sans, 7.0, bold=True),
            s("cell_b", sans, 7.0, bold=True, color=m["navy"]),
            s("kv_label", sans, 7.4, bold=True, color=m["muted"]), s("kv", sans, 7.6),
            s("mono", mono, 6.3), s("mono_kv", mono, 6.9), s("code", mono, 6.6),
            s("muted", sans, 7.2, color=m["muted"]), s("empty", sans, 7.8, italic=True, color=m["muted"]),
            s("warn", sans, 7.8, color=m["warn"]), s("badge", sans, 6.4, bold=True),
            s("verdict", sans, 11.0, bold=True), s("h1", sans, 15.0, bold=True, color=m["navy"]),
            s("h2", sans, 11.5, bold=True, color=m["navy"]), s("h3", sans, 8.8, bold=True),
            s("title", sans, 22.0, bold=True, color=m["navy"]), s("kicker", sans, 8.0, color=m["muted"]),
            s("toc1", sans, 8.8, bold=True), s("toc2", sans, 7.8, color="#33404d"),
            s("chart_caption", sans, 7.0, color=m["muted"]),
        )}

    def __getitem__(self, key: str) -> Style:
        return self.all[key]


# Draw operations, relative to a unit's top-left corner:
#   ("t", style_key, x, baseline_y, text, color)   ("r", x, y, w, h, fill, stroke)
#   ("l", x1, y1, x2, y2, color, width)             ("c", chart_index, x, y, w, h)
Op = tuple


@dataclass(slots=True)
class Unit:
    """A piece that never splits across pages. kind: 'box' (drawn), 'gap' (space, dropped at a page top),
    'break' (start a new page). `keep` keeps it on the page of the next unit; `header` is the table
    header to repeat when this row starts a page; `mark` names a heading whose page is recorded."""

    height: float
    ops: list[Op] = field(default_factory=list)
    kind: str = "box"
    keep: bool = False
    header: Unit | None = None
    mark: str | None = None


class Flow:
    """Places units on pages of a fixed height; remembers the page of every marked heading."""

    def __init__(self, page_height: float) -> None:
        self.page_height = page_height
        self.pages: list[list[tuple[float, Unit]]] = [[]]
        self.y = 0.0
        self.marks: dict[str, int] = {}

    def _new_page(self) -> None:
        self.pages.append([])
        self.y = 0.0

    def _put(self, unit: Unit) -> None:
        self.pages[-1].append((self.y, unit))
        if unit.mark is not None:
            self.marks[unit.mark] = len(self.pages) - 1
        self.y += unit.height

    def place(self, units: list[Unit]) -> None:
        limit = self.page_height
        i, n = 0, len(units)
        while i < n:
            unit = units[i]
            i += 1
            if unit.kind == "break":
                if self.y > 0 or self.pages[-1]:
                    self._new_page()
                continue
            if unit.kind == "gap":
                if self.y > 0:
                    if self.y + unit.height >= limit:
                        self._new_page()
                    else:
                        self.y += unit.height
                continue
            need = unit.height
            k = i
            while unit.keep and k < n:  # a heading (and a table header) needs room for what follows it
                follower = units[k]
                if follower.kind == "break":
                    break
                need += follower.height
                if follower.kind != "gap" and not follower.keep:
                    break
                k += 1
            if self.y > 0 and (self.y + unit.height > limit or (need <= limit and self.y + need > limit)):
                self._new_page()
                if unit.header is not None:
                    self._put(unit.header)
            self._put(unit)

    def finish(self) -> int:
        """Drop trailing empty pages (a final page break); the number of pages, at least one."""
        while len(self.pages) > 1 and not self.pages[-1]:
            self.pages.pop()
        return len(self.pages)


def paint_ops(painter: Any, styles: Styles, ops: list[Op], x0: float, y0: float, charts: Any, state: dict) -> None:
    """Replay one unit's operations at (x0, y0); `state` avoids resetting the same font and pen."""
    from PySide6.QtCore import QLineF, QPointF, QRectF
    from PySide6.QtGui import QColor, QPen

    for op in ops:
        kind = op[0]
        if kind == "t":
            _, key, x, y, text, color = op
            style = styles[key]
            if state.get("font") is not style:
                painter.setFont(style.font)
                state["font"] = style
            color = color or style.color
            if state.get("pen") != color:
                painter.setPen(QColor(color))
                state["pen"] = color
            painter.drawText(QPointF(x0 + x, y0 + y), text)
        elif kind == "r":
            _, x, y, w, h, fill, stroke = op
            rect = QRectF(x0 + x, y0 + y, w, h)
            if fill:
                painter.fillRect(rect, QColor(fill))
            if stroke:
                painter.setPen(QPen(QColor(stroke), dp(0.5)))
                state["pen"] = None
                painter.drawRect(rect)
        elif kind == "l":
            _, x1, y1, x2, y2, color, width = op
            painter.setPen(QPen(QColor(color), width))
            state["pen"] = None
            painter.drawLine(QLineF(x0 + x1, y0 + y1, x0 + x2, y0 + y2))
        elif kind == "c":
            _, index, x, y, w, h = op
            charts(index, painter, QRectF(x0 + x, y0 + y, w, h))
            state.clear()  # the SVG renderer changes fonts and pens
