"""Turn report blocks into measured PDF units: headings, paragraph lines, table rows, charts, the cover and contents.

Each table row is one unit with its own grid lines, so a page break falls between rows and the header
row is drawn again at the top of the next page. A row taller than a page (a very long rationale) is the
only thing that is cut, at line boundaries.
"""

from __future__ import annotations

from typing import Any

from app.reports.blocks import Bullets, Chart, Code, Heading, KeyValues, Para, Table, Verdict
from app.reports.charts import CHART_HEIGHT, CHART_WIDTH, ChartSpec
from app.reports.pdf_flow import PALETTE, TONES, Styles, Unit, dp
from app.reports.text import Badge, Hash, Lines, Mono, Strong, more_note, short_hash

__all__ = ["UnitBuilder"]

Line = tuple[float, list]  # (height, ops relative to the line's top-left)
_PARA_STYLE = {"": "body", "lead": "lead", "muted": "muted", "empty": "empty", "warn": "warn"}


class UnitBuilder:
    """Measures blocks for one content width; collects chart specs in the order their units draw them."""

    def __init__(self, styles: Styles, width: float, page_height: float) -> None:
        self.s, self.width, self.page_height = styles, width, page_height
        self.charts: list[ChartSpec] = []
        self.first_section = True
        self.pad_x, self.pad_y = dp(2.6), dp(1.6)

    # -- cell contents ---------------------------------------------------------------------------
    def _text_lines(self, text: str, key: str, width: float, right: bool, color: str | None = None) -> list[Line]:
        style = self.s[key]
        out = []
        for line in style.wrap(text, width):
            x = width - style.width(line) if right else 0.0
            out.append((style.line, [("t", key, x, style.ascent, line, color)]))
        return out

    def _badge_lines(self, badge: Badge, width: float, right: bool) -> list[Line]:
        """A coloured label; one wider than its column wraps into several labels, one per line."""
        style = self.s["badge"]
        bg, fg = TONES.get(badge.tone, TONES["neutral"])
        inset, pad = dp(2.5), dp(1.1)
        out = []
        for text in style.wrap(badge.text, max(width - 2 * inset, dp(6))):
            box_w = style.width(text) + 2 * inset
            x = max(0.0, width - box_w) if right else 0.0
            out.append((style.line + 2 * pad, [("r", x, pad * 0.5, box_w, style.line + pad, bg, None),
                                               ("t", "badge", x + inset, pad + style.ascent, text, fg)]))
        return out

    def cell_lines(self, value: Any, width: float, *, key: str = "cell", mono: str = "mono",
                   right: bool = False) -> list[Line]:
        if value is None or value == "":
            return self._text_lines("—", key, width, right)
        if isinstance(value, str):
            return self._text_lines(value, key, width, right)
        if isinstance(value, Badge):
            return self._badge_lines(value, width, right)
        if isinstance(value, Hash):
            return self._text_lines(short_hash(value.value) if value.value else "—", mono, width, right)
        if isinstance(value, Mono):
            return self._text_lines(value.text, mono, width, right)
        if isinstance(value, Strong):
            return self._text_lines(value.text, "cell_strong" if key == "cell" else key, width, right)
        if isinstance(value, Lines):
            return [line for item in value.items for line in self.cell_lines(item, width, key=key, mono=mono,
                                                                              right=right)]
        return self._text_lines(str(value), key, width, right)

    # -- rows --------------------------------------------------------------------------------------
    def _row_units(self, cells: list[list[Line]], xs: list[float], *, fills: list[str | None] | None = None,
                   top_rule: bool = False, keep: bool = False, header: Unit | None = None) -> list[Unit]:
        """One unit per row (several if the row is taller than a page), with its grid lines."""
        rule, pad_y = PALETTE["rule"], self.pad_y
        heights = [sum(h for h, _ops in lines) for lines in cells]
        limit = self.page_height * 0.8 - (header.height if header else 0)
        slices: list[list[list[Line]]] = [cells]
        if max(heights, default=0) + 2 * pad_y > limit:
            slices = _slice_row(cells, limit - 2 * pad_y)
        units = []
        for part in slices:
            height = max((sum(h for h, _o in lines) for lines in part), default=0.0) + 2 * pad_y
            ops: list = []
            for i, lines in enumerate(part):
                if fills and fills[i]:
                    ops.append(("r", xs[i], 0.0, xs[i + 1] - xs[i], height, fills[i], None))
                y = pad_y
                for h, line_ops in lines:
                    dx = xs[i] + self.pad_x
                    for op in line_ops:
                        ops.append(_shift(op, dx, y))
                    y += h
            width = dp(0.5)
            if top_rule:
                ops.append(("l", xs[0], 0.0, xs[-1], 0.0, rule, width))
            ops.append(("l", xs[0], height, xs[-1], height, rule, width))
            ops += [("l", x, 0.0, x, height, rule, width) for x in xs]
            units.append(Unit(height, ops, keep=keep, header=header))
        return units

    def _columns(self, block: Table) -> list[float]:
        n = len(block.columns)
        if len(block.widths) == n and sum(block.widths) > 0:
            total = sum(block.widths)
            fractions = [w / total for w in block.widths]
        else:
            fractions = self._auto_fractions(block)
        xs = [0.0]
        for f in fractions:
            xs.append(xs[-1] + f * self.width)
        return xs

    def _auto_fractions(self, block: Table) -> list[float]:
        """Share the width by each column's natural width (header and up to 60 rows), with a floor."""
        cell, head = self.s["cell"], self.s["cell_b"]
        natural = [head.width(c) for c in block.columns]
        for row in block.rows[:60]:
            for i, value in enumerate(row):
                natural[i] = max(natural[i], min(_plain_width(value, cell, self.s["mono"]), self.width * 0.5))
        natural = [w + 2 * self.pad_x for w in natural]
        total = sum(natural) or 1.0
        floor = 0.35 / len(natural)
        fractions = [max(floor, w / total) for w in natural]
        scale = sum(fractions)
        return [f / scale for f in fractions]

    def table(self, block: Table) -> list[Unit]:
        xs = self._columns(block)
        numeric = set(block.numeric)
        inner = [xs[i + 1] - xs[i] - 2 * self.pad_x for i in range(len(block.columns))]
        head_cells = [self.cell_lines(c, inner[i], key="cell_b", right=i in numeric)
                      for i, c in enumerate(block.columns)]
        head = self._row_units(head_cells, xs, fills=[PALETTE["head"]] * len(inner), top_rule=True, keep=True)[0]
        units = [Unit(dp(2), kind="gap"), head]
        for row in block.rows:
            cells = [self.cell_lines(v, inner[i], right=i in numeric) for i, v in enumerate(row)]
            units += self._row_units(cells, xs, header=head)
        if block.more:
            units += self.paragraph(Para(more_note(block.more, block.what), "empty"))
        units.append(Unit(dp(6), kind="gap"))
        return units

    def key_values(self, block: KeyValues) -> list[Unit]:
        xs = [0.0, self.width * 0.24, self.width]
        label_w, value_w = xs[1] - 2 * self.pad_x, xs[2] - xs[1] - 2 * self.pad_x
        units = [Unit(dp(2), kind="gap")]
        for i, (label, value) in enumerate(block.rows):
            cells = [self.cell_lines(label, label_w, key="kv_label"),
                     self.cell_lines(value, value_w, key="kv", mono="mono_kv")]
            units += self._row_units(cells, xs, fills=[PALETTE["band"], None], top_rule=i == 0)
        units.append(Unit(dp(6), kind="gap"))
        return units

    # -- text blocks --------------------------------------------------------------------------------
    def paragraph(self, block: Para) -> list[Unit]:
        key = _PARA_STYLE.get(block.tone, "body")
        lines = self._text_lines(block.text, key, self.width, False)
        units = [Unit(h, ops, keep=len(lines) > 2 and i == 0) for i, (h, ops) in enumerate(lines)]
        return [Unit(dp(1.5), kind="gap"), *units, Unit(dp(4), kind="gap")]

    def bullets(self, block: Bullets) -> list[Unit]:
        units, indent = [Unit(dp(1), kind="gap")], dp(16)
        body = self.s["body"]
        for n, item in enumerate(block.items, 1):
            marker = f"{n}." if block.ordered else "•"
            lines = self._text_lines(item, "body", self.width - indent, False)
            for i, (h, ops) in enumerate(lines):
                ops = [_shift(op, indent, 0.0) for op in ops]
                if i == 0:
                    ops.append(("t", "body", indent - dp(4) - body.width(marker), body.ascent, marker, None))
                units.append(Unit(h + (dp(1.5) if i == len(lines) - 1 else 0.0), ops))
        units.append(Unit(dp(5), kind="gap"))
        return units

    def heading(self, block: Heading) -> list[Unit]:
        key = {1: "h1", 2: "h2"}.get(block.level, "h3")
        style = self.s[key]
        units: list[Unit] = []
        if block.level == 1:
            if not self.first_section:
                units.append(Unit(0.0, kind="break"))
            self.first_section = False
        else:
            units.append(Unit(dp(10) if block.level == 2 else dp(7), kind="gap"))
        ops: list = []
        x = 0.0
        if block.number:
            ops.append(("t", key, 0.0, style.ascent, block.number, PALETTE["accent"]))
            x = style.width(block.number) + style.width("  ")
        lines = style.wrap(block.title, self.width - x)
        for i, line in enumerate(lines):
            ops.append(("t", key, x, style.ascent + i * style.line, line, None))
        height = style.line * len(lines) + (dp(3) if block.level == 1 else dp(1))
        mark = block.anchor if block.level <= 2 and block.anchor else None
        units += [Unit(height, ops, keep=True, mark=mark), Unit(dp(2), kind="gap")]
        return units

    def chart(self, block: Chart) -> list[Unit]:
        index = len(self.charts)
        self.charts.append(block.spec)
        w = min(self.width, dp(470))
        h = w * CHART_HEIGHT / CHART_WIDTH
        ops: list = [("c", index, 0.0, 0.0, w, h), ("r", 0.0, 0.0, w, h, None, PALETTE["rule"])]
        y = h + dp(3)
        for line_h, line_ops in self._text_lines(block.caption, "chart_caption", w, False) if block.caption else []:
            ops += [_shift(op, 0.0, y) for op in line_ops]
            y += line_h
        return [Unit(dp(3), kind="gap"), Unit(y, ops), Unit(dp(5), kind="gap")]

    def code(self, block: Code) -> list[Unit]:
        units = self.paragraph(Para(block.caption, "muted")) if block.caption else []
        pad = dp(4)
        lines = self._text_lines(block.pdf_text, "code", self.width - 2 * pad, False)
        height = sum(h for h, _o in lines) + 2 * pad
        ops: list = [("r", 0.0, 0.0, self.width, height, PALETTE["band"], PALETTE["rule"])]
        y = pad
        for h, line_ops in lines:
            ops += [_shift(op, pad, y) for op in line_ops]
            y += h
        return [*units, Unit(height, ops), Unit(dp(6), kind="gap")]

    def verdict(self, block: Verdict) -> list[Unit]:
        style = self.s["verdict"]
        bg, fg = TONES.get(block.tone, TONES["neutral"])
        pad = dp(5)
        w = style.width(block.text) + 2 * pad
        h = style.line + 2 * pad
        return [Unit(h, [("r", 0.0, 0.0, w, h, bg, None), ("t", "verdict", pad, pad + style.ascent, block.text, fg)]),
                Unit(dp(6), kind="gap")]

    def units(self, block: Any) -> list[Unit]:
        if isinstance(block, Heading):
            return self.heading(block)
        if isinstance(block, Para):
            return self.paragraph(block)
        if isinstance(block, Table):
            return self.table(block)
        if isinstance(block, KeyValues):
            return self.key_values(block)
        if isinstance(block, Bullets):
            return self.bullets(block)
        if isinstance(block, Chart):
            return self.chart(block)
        if isinstance(block, Code):
            return self.code(block)
        if isinstance(block, Verdict):
            return self.verdict(block)
        raise TypeError(f"unknown block {type(block).__name__}")

    # -- cover and contents ---------------------------------------------------------------------------
    def front(self, facts: list[tuple[str, Any]], title: str, entries: list[tuple[int, str, str]],
              pages: list[int | None]) -> list[Unit]:
        """The cover (title and key facts) and the contents with page numbers (placeholders while None)."""
        units = self._text_units("MODEL STEWARD · COMPLIANCE REPORT", "kicker")
        units += self._text_units(title, "title")
        units.append(Unit(dp(6), kind="gap"))
        xs = [0.0, self.width * 0.22, self.width]
        for label, value in facts:
            cells = [self.cell_lines(label, xs[1] - 2 * self.pad_x, key="muted"),
                     self.cell_lines(value, xs[2] - xs[1] - 2 * self.pad_x, key="kv", mono="mono_kv")]
            row = self._row_units(cells, xs)[0]
            row.ops = [op for op in row.ops if op[0] != "l"]  # no grid on the cover
            units.append(row)
        units.append(Unit(dp(14), kind="gap"))
        units += self.heading(Heading(2, "", "Contents"))
        number_w, page_w = dp(24), dp(30)
        for (level, number, text), page in zip(entries, pages, strict=True):
            key = "toc1" if level == 1 else "toc2"
            style = self.s[key]
            indent = 0.0 if level == 1 else number_w
            x_text = indent + (number_w if level == 1 else style.width(number) + style.width("  "))
            lines = style.wrap(text, self.width - x_text - page_w)
            ops: list = [("t", key, indent, style.ascent, number, PALETTE["accent"] if level == 1 else PALETTE["muted"])]
            ops += [("t", key, x_text, style.ascent + i * style.line, line, None) for i, line in enumerate(lines)]
            shown = "000" if page is None else str(page)
            ops.append(("t", key, self.width - style.width(shown), style.ascent, shown, None))
            gap = dp(2.6) if level == 1 else dp(0.4)
            units.append(Unit(style.line * len(lines) + gap, [_shift(op, 0.0, gap) for op in ops]))
        return units

    def _text_units(self, text: str, key: str) -> list[Unit]:
        return [Unit(h, ops) for h, ops in self._text_lines(text, key, self.width, False)]


def _shift(op: tuple, dx: float, dy: float) -> tuple:
    kind = op[0]
    if kind == "t":
        return ("t", op[1], op[2] + dx, op[3] + dy, op[4], op[5])
    if kind == "r":
        return ("r", op[1] + dx, op[2] + dy, *op[3:])
    if kind == "l":
        return ("l", op[1] + dx, op[2] + dy, op[3] + dx, op[4] + dy, op[5], op[6])
    return ("c", op[1], op[2] + dx, op[3] + dy, op[4], op[5])


def _plain_width(value: Any, style: Any, mono: Any) -> float:
    if value is None:
        return style.width("—")
    if isinstance(value, str):
        return style.width(value) if len(value) < 120 else style.width(value[:120])
    if isinstance(value, Badge):
        return style.width(value.text) + dp(6)
    if isinstance(value, Hash):
        return mono.width(short_hash(value.value))
    if isinstance(value, (Mono, Strong)):
        return (mono if isinstance(value, Mono) else style).width(value.text[:120])
    if isinstance(value, Lines):
        return max((_plain_width(v, style, mono) for v in value.items), default=0.0)
    return style.width(str(value))


def _slice_row(cells: list[list[Line]], limit: float) -> list[list[list[Line]]]:
    """Cut a row taller than `limit` into parts at line boundaries (each cell cut at the same heights)."""
    parts: list[list[list[Line]]] = []
    remaining = [list(lines) for lines in cells]
    while any(remaining):
        part = []
        for i, lines in enumerate(remaining):
            taken, used = [], 0.0
            while lines and (used + lines[0][0] <= limit or not taken):
                used += lines[0][0]
                taken.append(lines.pop(0))
            part.append(taken)
            remaining[i] = lines
        parts.append(part)
    return parts
