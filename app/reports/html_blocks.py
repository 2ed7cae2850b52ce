"""Browser HTML for each kind of block; every piece of evidence text passes through `html.escape(quote=True)`.

Only class names chosen here (never text from the evidence) reach attribute names or class values, and
the only attribute values built from evidence (hash tooltips, chart labels) are escaped as well.
"""

from __future__ import annotations

from html import escape
from typing import Any

from app.reports.blocks import Bullets, Chart, Code, Heading, KeyValues, Para, Table, Verdict
from app.reports.charts import render_svg
from app.reports.text import Badge, Hash, Lines, Mono, Strong, more_note, short_hash

__all__ = ["block_html", "cell_html"]

_TONES = frozenset({"good", "bad", "warn", "info", "neutral"})
_PARA_TONES = {"": "", "muted": "muted", "empty": "empty", "warn": "warn", "lead": "lead"}


def _e(text: Any) -> str:
    return escape(str(text), quote=True)


def cell_html(value: Any) -> str:
    """One table cell's content (str, Badge, Hash, Mono, Strong, Lines or None)."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return _e(value)
    if isinstance(value, Badge):
        tone = value.tone if value.tone in _TONES else "neutral"
        return f'<span class="badge b-{tone}">{_e(value.text)}</span>'
    if isinstance(value, Hash):
        if not value.value:
            return "—"
        return f'<code class="hash" title="{_e(value.value)}">{_e(short_hash(value.value))}</code>'
    if isinstance(value, Mono):
        return f"<code>{_e(value.text)}</code>"
    if isinstance(value, Strong):
        return f"<strong>{_e(value.text)}</strong>"
    if isinstance(value, Lines):
        return "".join(f"<div>{cell_html(item)}</div>" for item in value.items)
    return _e(value)


def _heading(block: Heading) -> str:
    tag = {1: "h2", 2: "h3"}.get(block.level, "h4")
    anchor = f' id="{_e(block.anchor)}"' if block.anchor else ""
    number = f'<span class="num">{_e(block.number)}</span> ' if block.number else ""
    return f"<{tag}{anchor}>{number}{_e(block.title)}</{tag}>"


def _table(block: Table) -> str:
    numeric = set(block.numeric)
    out = ['<div class="table-wrap"><table>']
    if block.widths and len(block.widths) == len(block.columns):
        out.append("<colgroup>" + "".join(f'<col style="width:{int(w)}%">' for w in block.widths) + "</colgroup>")
    out.append("<thead><tr>" + "".join(('<th class="n">' if i in numeric else "<th>") + f"{_e(c)}</th>"
                                       for i, c in enumerate(block.columns)) + "</tr></thead><tbody>")
    plain, right = "<td>", '<td class="n">'
    for row in block.rows:
        out.append("<tr>" + "".join((right if i in numeric else plain) + cell_html(v) + "</td>"
                                    for i, v in enumerate(row)) + "</tr>")
    out.append("</tbody></table></div>")
    if block.more:
        out.append(f'<p class="more">{_e(more_note(block.more, block.what))}</p>')
    return "".join(out)


def _key_values(block: KeyValues) -> str:
    rows = "".join(f'<tr><th scope="row">{_e(k)}</th><td>{cell_html(v)}</td></tr>' for k, v in block.rows)
    return f'<table class="kv"><tbody>{rows}</tbody></table>'


def block_html(block: Any) -> str:
    """HTML for one block (headings are handled by the caller, which also opens and closes sections)."""
    if isinstance(block, Heading):
        return _heading(block)
    if isinstance(block, Para):
        cls = _PARA_TONES.get(block.tone, "")
        return f'<p class="{cls}">{_e(block.text)}</p>' if cls else f"<p>{_e(block.text)}</p>"
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, KeyValues):
        return _key_values(block)
    if isinstance(block, Bullets):
        tag = "ol" if block.ordered else "ul"
        return f"<{tag}>" + "".join(f"<li>{_e(i)}</li>" for i in block.items) + f"</{tag}>"
    if isinstance(block, Chart):
        svg = render_svg(block.spec, xmlns=False)
        caption = f"<figcaption>{_e(block.caption)}</figcaption>" if block.caption else ""
        return f'<figure class="chart">{svg}{caption}</figure>'
    if isinstance(block, Code):
        caption = f'<div class="code-caption">{_e(block.caption)}</div>' if block.caption else ""
        return f'<div class="code-block">{caption}<pre class="code">{_e(block.text)}</pre></div>'
    if isinstance(block, Verdict):
        tone = block.tone if block.tone in _TONES else "neutral"
        return f'<p class="verdict v-{tone}">{_e(block.text)}</p>'
    raise TypeError(f"unknown block {type(block).__name__}")
