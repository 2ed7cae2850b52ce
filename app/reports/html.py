"""Render the report's evidence as one self-contained HTML file: inline CSS and SVG, no script, no external resource.

A Content-Security-Policy meta tag forbids scripts and remote loads as well, so even a mistake in
escaping could not run code or fetch anything when the file is opened.
"""

from __future__ import annotations

from html import escape
from typing import Any

from app.reports.blocks import Heading
from app.reports.html_blocks import block_html
from app.reports.outline import build_outline
from app.reports.outline_models import COMPACT_ABOVE
from app.reports.text import fmt_time

__all__ = ["render_html", "CSS"]

CSS = """
:root { --ink:#1d2733; --muted:#5b6775; --rule:#d5dbe2; --band:#f3f5f8; --navy:#12355b; --accent:#1f5fa8; }
* { box-sizing: border-box; }
html { font-size: 14px; }
body { margin: 0; color: var(--ink); background: #ffffff;
       font-family: "DejaVu Sans", "Segoe UI", "Helvetica Neue", Helvetica, Arial, sans-serif; line-height: 1.45; }
.page { max-width: 1080px; margin: 0 auto; padding: 28px 40px 60px; }
header.cover { border-bottom: 3px solid var(--navy); padding-bottom: 14px; margin-bottom: 18px; }
header.cover .kicker { color: var(--muted); text-transform: uppercase; letter-spacing: .08em; font-size: 12px; }
header.cover h1 { color: var(--navy); font-size: 28px; margin: 4px 0 6px; }
header.cover .facts { color: var(--muted); font-size: 13px; }
header.cover .facts code { color: var(--ink); }
nav.toc { background: var(--band); border: 1px solid var(--rule); border-radius: 6px; padding: 12px 20px;
          margin: 0 0 24px; columns: 2; column-gap: 32px; }
nav.toc h2 { margin: 0 0 6px; font-size: 15px; color: var(--navy); column-span: all; }
nav.toc ol { list-style: none; margin: 0; padding: 0; }
nav.toc li { margin: 2px 0; break-inside: avoid; }
nav.toc ol ol { padding-left: 18px; font-size: 12.5px; }
nav.toc a { color: var(--accent); text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
section { margin-top: 30px; }
h2 { color: var(--navy); font-size: 21px; border-bottom: 1px solid var(--rule); padding-bottom: 4px; margin: 0 0 12px; }
h3 { color: var(--navy); font-size: 16.5px; margin: 24px 0 8px; }
h4 { color: var(--ink); font-size: 13.5px; margin: 16px 0 6px; text-transform: uppercase; letter-spacing: .04em; }
h2 .num, h3 .num { color: var(--accent); margin-right: 4px; }
p { margin: 6px 0 10px; }
p.lead { font-size: 14.5px; }
p.muted, p.more, figcaption { color: var(--muted); font-size: 12.5px; }
p.more { font-style: italic; }
p.empty { color: var(--muted); font-style: italic; }
p.warn { background: #fff7e6; border-left: 4px solid #b54708; padding: 6px 10px; }
p.verdict { display: inline-block; font-weight: bold; font-size: 16px; padding: 6px 14px; border-radius: 4px; }
p.v-good { background: #e7f5ec; color: #05603a; border: 1px solid #6ce9a6; }
p.v-bad { background: #fdecea; color: #912018; border: 1px solid #fda29b; }
p.v-neutral, p.v-warn, p.v-info { background: var(--band); border: 1px solid var(--rule); }
.table-wrap { overflow-x: auto; margin: 6px 0 12px; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; }
th, td { border: 1px solid var(--rule); padding: 4px 7px; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; }
thead th { background: #e9edf2; color: var(--navy); font-weight: 600; overflow-wrap: normal; }
tbody tr:nth-child(even) td { background: #fafbfc; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
table.kv { width: 100%; margin: 6px 0 12px; }
table.kv th { width: 24%; background: var(--band); color: var(--muted); font-weight: 600; }
code { font-family: "DejaVu Sans Mono", Consolas, "Liberation Mono", Menlo, monospace; font-size: 12px;
       overflow-wrap: anywhere; }
code.hash { color: #334155; cursor: help; }
.badge { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 11.5px; font-weight: 600;
         white-space: nowrap; border: 1px solid transparent; }
.b-good { background: #e7f5ec; color: #05603a; border-color: #a6e9c0; }
.b-bad { background: #fdecea; color: #912018; border-color: #fdb8b0; }
.b-warn { background: #fff4e0; color: #93370d; border-color: #fedf89; }
.b-info { background: #e8f1fb; color: #1849a9; border-color: #b2ccf0; }
.b-neutral { background: #eef0f3; color: #404b59; border-color: #d5dbe2; }
figure.chart { margin: 8px 0 16px; }
figure.chart svg { max-width: 100%; height: auto; border: 1px solid var(--rule); border-radius: 4px; }
.code-block { margin: 8px 0 14px; }
.code-caption { font-size: 12px; color: var(--muted); margin-bottom: 2px; }
pre.code { background: var(--band); border: 1px solid var(--rule); padding: 8px 10px; border-radius: 4px;
           white-space: pre-wrap; word-break: break-all; font-family: "DejaVu Sans Mono", Consolas, monospace;
           font-size: 11.5px; margin: 0; }
footer.end { margin-top: 36px; border-top: 1px solid var(--rule); padding-top: 8px; color: var(--muted);
             font-size: 12px; }
@media print {
  @page { size: A4; margin: 15mm 14mm 16mm; }
  html { font-size: 10.5px; }
  .page { max-width: none; padding: 0; }
  nav.toc { break-after: page; border: none; background: none; }
  section.top { break-before: page; }
  h2, h3, h4 { break-after: avoid; }
  tr, figure.chart, table.kv { break-inside: avoid; }
  thead { display: table-header-group; }
  .table-wrap { overflow: visible; }
  tbody tr:nth-child(even) td { background: none; }
  a { color: inherit; }
}
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _e(text: Any) -> str:
    return escape(str(text), quote=True)


def _toc(headings: list[Heading], detailed: bool) -> str:
    out = ['<nav class="toc" aria-label="Contents"><h2>Contents</h2><ol>']
    open_sub = False
    for h in headings:
        if h.level == 1:
            if open_sub:
                out.append("</ol></li>")
                open_sub = False
            out.append(f'<li><a href="#{_e(h.anchor)}">{_e(h.number)} {_e(h.title)}</a>')
            out.append("<ol>")
            open_sub = True
        elif h.level == 2 and detailed:
            out.append(f'<li><a href="#{_e(h.anchor)}">{_e(h.number)} {_e(h.title)}</a></li>')
    if open_sub:
        out.append("</ol></li>")
    out.append("</ol></nav>")
    # Empty nested lists are harmless but untidy; drop them.
    return "".join(out).replace("<ol></ol>", "")


def render_html(evidence: dict[str, Any]) -> str:
    """The whole report as one HTML document (a str, UTF-8 when written)."""
    meta = evidence.get("metadata") or {}
    integrity = evidence.get("integrity") or {}
    blocks = build_outline(evidence)
    headings = [b for b in blocks if isinstance(b, Heading) and b.level <= 2 and b.anchor]
    detailed = len(evidence.get("models") or []) <= COMPACT_ABOVE
    title = meta.get("title") or "Model risk audit report"
    report_id = meta.get("report_id") or "?"
    out = [
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)} — {_e(report_id)}</title><style>{CSS}</style></head>",
        '<body><div class="page"><header class="cover">',
        '<div class="kicker">Model Steward · compliance report</div>',
        f"<h1>{_e(title)}</h1>",
        f'<div class="facts">Report <code>{_e(report_id)}</code> · generated '
        f"{_e(fmt_time(meta.get('generated_at'), seconds=True))} UTC"
        + (f" · prepared for {_e(meta['prepared_for'])}" if meta.get("prepared_for") else "")
        + (f" · prepared by {_e(meta['prepared_by'])}" if meta.get("prepared_by") else "") + "</div>",
        "</header>",
        _toc(headings, detailed),
        "<main>",
    ]
    in_section = False
    for block in blocks:
        if isinstance(block, Heading) and block.level == 1:
            if in_section:
                out.append("</section>")
            out.append(f'<section class="top" aria-labelledby="{_e(block.anchor)}">')
            in_section = True
        out.append(block_html(block))
    if in_section:
        out.append("</section>")
    out.append("</main>")
    out.append(f'<footer class="end">Report <code>{_e(report_id)}</code> · evidence SHA-256 '
               f"<code>{_e(integrity.get('evidence_sha256') or '—')}</code> · the JSON evidence file holds "
               "every value in full.</footer></div></body></html>\n")
    return "\n".join(out)
