"""The report as a flat list of blocks (headings, paragraphs, tables, charts), independent of any markup.

Both renderers walk the same list, so the HTML and the PDF cannot drift apart in content; each only
decides how a block looks (browser HTML and CSS, or the rich-text subset of QTextDocument).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.reports.charts import ChartSpec
from app.reports.text import Cell

__all__ = ["Heading", "Para", "Bullets", "KeyValues", "Table", "Chart", "Code", "Verdict", "Block"]


@dataclass(frozen=True, slots=True)
class Heading:
    """level 1: a numbered section; level 2: a numbered subsection (one per model); level 3: a titled part."""

    level: int
    number: str
    title: str
    anchor: str = ""

    @property
    def label(self) -> str:
        return f"{self.number} {self.title}" if self.number else self.title


@dataclass(frozen=True, slots=True)
class Para:
    """tone: '' plain, 'muted' small print, 'empty' (nothing to show), 'warn' (a caution), 'lead' (intro)."""

    text: str
    tone: str = ""


@dataclass(frozen=True, slots=True)
class Bullets:
    items: tuple[str, ...]
    ordered: bool = False


@dataclass(frozen=True, slots=True)
class KeyValues:
    rows: tuple[tuple[str, Cell], ...]


@dataclass(frozen=True, slots=True)
class Table:
    """A table with a header row; `more` rows were left out (they are in the JSON); `numeric` columns align right."""

    columns: tuple[str, ...]
    rows: list[tuple[Cell, ...]]
    more: int = 0
    what: str = "rows"
    numeric: tuple[int, ...] = ()
    widths: tuple[int, ...] = field(default=())  # percent per column, or empty for automatic


@dataclass(frozen=True, slots=True)
class Chart:
    spec: ChartSpec
    caption: str = ""


@dataclass(frozen=True, slots=True)
class Code:
    """Text to copy verbatim: `text` is what the HTML shows; `pdf_text` the same content broken into lines that fit."""

    text: str
    pdf_text: str
    caption: str = ""


@dataclass(frozen=True, slots=True)
class Verdict:
    text: str
    tone: str


Block = Heading | Para | Bullets | KeyValues | Table | Chart | Code | Verdict
