"""Rendering compliance reports: the PDF (poppler reads it back) and the self-contained, escaped HTML."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from app.reports.text import SECTIONS

POPPLER = all(shutil.which(tool) for tool in ("pdftotext", "pdfinfo", "pdffonts", "pdftoppm"))
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext, pdfinfo, pdffonts, pdftoppm) "
                                                       "is not installed")
XSS_NAME = "<script>alert(1)</script>"
XSS_TEXT = '"><img src=x onerror=alert(2)> &amp; Co'


def _export(root: Path, build) -> dict:
    """Open a workspace at `root/ws`, let `build` fill it, export all three formats; paths and evidence."""
    from app.core.settings import WorkspacePaths
    from app.services.reports import export_report
    from app.services.report_data import ReportScope
    from app.store.workspace import open_workspace

    with pytest.MonkeyPatch.context() as mp:  # module-scoped: the per-test autouse isolation is not active yet
        mp.setenv("STEWARD_HOME", str(root / "home"))
        mp.setenv("STEWARD_ACTOR", "alice")
        ws = open_workspace(WorkspacePaths(root / "ws"))
        try:
            build(ws)
            result = export_report(ws, ReportScope(prepared_for="Model risk committee"), ["pdf", "html", "json"],
                                   root / "out")
        finally:
            ws.close()
    evidence = json.loads(result.files["json"].read_text(encoding="utf-8"))
    return {"pdf": result.files["pdf"], "html": result.files["html"], "evidence": evidence, "result": result}


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory, qapp):
    # qapp first: the export must reuse a running QApplication, and must not leave a bare
    # QGuiApplication behind for widget tests later in the session.
    from app.services.demo import create_demo

    return _export(tmp_path_factory.mktemp("demo-report"), create_demo)


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory, classifier_files, qapp):
    """Two models whose name, owner and description try to inject markup; no batches at all."""
    from app.services.register import ModelCard, register_model

    def build(ws):
        f = classifier_files
        register_model(ws, XSS_NAME, f.model, f.train, f.target, test_data=f.test,
                       card=ModelCard(description="plain", owner="eve", risk_tier="high"))
        register_model(ws, "lending-score", f.model, f.train, f.target, test_data=f.test,
                       card=ModelCard(description=XSS_TEXT, owner=XSS_TEXT, intended_use=XSS_TEXT, risk_tier="low"))

    return _export(tmp_path_factory.mktemp("hostile-report"), build)


@pytest.fixture(scope="module")
def single_model_report(tmp_path_factory, classifier_files, qapp):
    from app.services.register import register_model

    def build(ws):
        f = classifier_files
        register_model(ws, "only-model", f.model, f.train, f.target)

    return _export(tmp_path_factory.mktemp("single-report"), build)


def _pdftotext(pdf: Path, *args: str) -> str:
    return subprocess.run(["pdftotext", *args, str(pdf), "-"], check=True, capture_output=True, text=True).stdout


class _Scan(HTMLParser):
    """Every start tag and attribute, to look for anything active or remote."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, name, value or "") for name, value in attrs]

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        self.text.append(data)


def _scan(html: str) -> _Scan:
    scan = _Scan()
    scan.feed(html)
    scan.close()
    return scan


def _assert_inert(html: str) -> _Scan:
    scan = _scan(html)
    for forbidden in ("script", "link", "iframe", "object", "embed", "base", "form"):
        assert forbidden not in scan.tags, f"<{forbidden}> in the report"
    for tag, name, value in scan.attrs:
        assert not name.startswith("on"), f"event handler {name}= on <{tag}>"
        assert not re.match(r"\s*(https?:|ftp:|//|javascript:)", value, re.I), f"URL in {tag} {name}={value!r}"
    return scan


# -- PDF ----------------------------------------------------------------------------------------------
@needs_poppler
def test_pdf_has_every_section_the_checkpoint_and_embedded_fonts(demo_report):
    pdf, evidence = demo_report["pdf"], demo_report["evidence"]
    text = _pdftotext(pdf)
    for title in SECTIONS:
        assert title in text, title
    checkpoint = evidence["integrity"]["checkpoint"]
    assert checkpoint["root"] in text
    assert str(checkpoint["events"]) in text
    assert evidence["integrity"]["key_fingerprint"] in text
    assert evidence["integrity"]["evidence_sha256"] in text
    for limit in evidence["integrity"]["limits"]:
        assert " ".join(limit.split()[:8]) in " ".join(text.split())
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    assert pages > 3
    assert "A4" in info or re.search(r"Page size:\s+595(\.\d+)? x 841(\.\d+)?", info)
    fonts = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
    assert rows, fonts
    # Columns: name type [type…] encoding emb sub uni object ID; emb is the 5th field from the end.
    assert all(row[-5] == "yes" for row in rows), fonts


@needs_poppler
def test_pdf_contents_page_numbers_match_where_the_sections_are(demo_report):
    pages = _pdftotext(demo_report["pdf"], "-layout").split("\f")
    listed, found = {}, {}
    for number, page in enumerate(pages, 1):
        for line in page.splitlines():
            for i, title in enumerate(SECTIONS):
                if m := re.fullmatch(rf"\s*{i}\s+{re.escape(title)}\s+(\d+)\s*", line):
                    listed.setdefault(i, int(m.group(1)))
                elif re.fullmatch(rf"\s*{i}\s+{re.escape(title)}\s*", line):
                    found.setdefault(i, number)
    assert set(listed) == set(range(12)), listed
    assert listed == found
    total = len([p for p in pages if p.strip()])
    assert f"Page 1 of {total}" in pages[0] and f"Page {total} of {total}" in pages[total - 1]
    report_id = demo_report["evidence"]["metadata"]["report_id"]
    assert all(report_id in p for p in pages if p.strip())  # the running header


@needs_poppler
def test_pdf_checkpoint_block_is_copyable_json(demo_report):
    text = _pdftotext(demo_report["pdf"])
    start = text.index('{"at": ')
    end = text.index('"}', start) + 2
    assert json.loads(text[start:end]) == demo_report["evidence"]["integrity"]["checkpoint"]


@needs_poppler
def test_pdf_pages_render_to_images_with_ink(demo_report, tmp_path):
    from PySide6.QtGui import QImage

    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "6", str(demo_report["pdf"]),
                    str(tmp_path / "page")], check=True)
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == 6
    for path in images:
        image = QImage(str(path))
        assert not image.isNull() and path.stat().st_size > 2000
        colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
        assert len(colours) > 5, f"{path.name} is blank"


@needs_poppler
def test_pdf_draws_the_drift_and_metric_charts(demo_report):
    text = _pdftotext(demo_report["pdf"])
    models = demo_report["evidence"]["models"]
    assert text.count("Share of drifted features per batch") == sum(1 for m in models if m["monitoring"]["batches"])
    assert text.count("per version (validation)") == sum(1 for m in models if m["validation"])


# -- HTML ---------------------------------------------------------------------------------------------
def test_html_has_every_section_toc_and_inline_charts(demo_report):
    html = demo_report["html"].read_text(encoding="utf-8")
    scan = _assert_inert(html)
    body = " ".join(" ".join(scan.text).split())
    for i, title in enumerate(SECTIONS):
        assert f"{i} {title}" in body, title
        assert f'href="#s{i}"' in html and f'id="s{i}"' in html
    models = demo_report["evidence"]["models"]
    drift_charts = sum(1 for m in models if m["monitoring"]["batches"])
    assert scan.tags.count("svg") == drift_charts + sum(1 for m in models if m["validation"])
    assert body.count("Share of drifted features per batch") == drift_charts
    assert "<img" not in html and "http://" not in html and "https://" not in html


def test_html_states_the_evidence_in_full(demo_report):
    html = demo_report["html"].read_text(encoding="utf-8")
    evidence = demo_report["evidence"]
    integrity = evidence["integrity"]
    cp = integrity["checkpoint"]
    for value in (cp["root"], cp["head_hash"], cp["log_id"], integrity["key_fingerprint"],
                  integrity["evidence_sha256"], evidence["metadata"]["report_id"]):
        assert value in html
    from html import escape

    assert escape(json.dumps(cp, sort_keys=True), quote=True) in html
    decision = evidence["models"][0]["decisions"][0]
    assert f'title="{decision["input_sha256"]}"' in html  # shortened in the cell, whole in the tooltip
    for gap in evidence["conclusions"]["gaps"]:
        assert escape(gap["text"], quote=True) in html
    for row in evidence["conclusions"]["gap_matrix"]["rows"]:
        assert escape(row["model"]) in html


def test_html_escapes_hostile_names_and_texts(hostile_report):
    html = hostile_report["html"].read_text(encoding="utf-8")
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html and "onerror=alert(2)>" not in html
    scan = _assert_inert(html)
    text = "".join(scan.text)
    assert XSS_NAME in text  # shown as text, not run
    assert XSS_TEXT in text  # '&amp;' typed by the user reads back as '&amp;', not '&'
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&amp;amp; Co" in html
    assert scan.tags.count("svg") == 2  # the metric chart of each model; no batches, so no drift chart


@needs_poppler
def test_pdf_prints_hostile_texts_literally(hostile_report):
    text = _pdftotext(hostile_report["pdf"])
    assert XSS_NAME in text
    assert "onerror=alert(2)>" in text


def test_one_model_without_batches_says_so_in_both_formats(single_model_report):
    html = single_model_report["html"].read_text(encoding="utf-8")
    _assert_inert(html)
    assert "No batches in the period." in html
    assert "No findings recorded." in html and "No reviews recorded." in html
    if POPPLER:
        text = " ".join(_pdftotext(single_model_report["pdf"]).split())
        assert "No batches in the period." in text
        for title in SECTIONS:
            assert title in text


# -- charts and scale ---------------------------------------------------------------------------------
def test_svg_chart_escapes_its_text_and_handles_no_points():
    from app.reports.charts import ChartSpec, render_svg

    spec = ChartSpec(title=XSS_NAME, y_label='"><b>', xs=(1.0, 2.0), ys=(0.1, 0.9), x_labels=("<v1>", "v2"),
                     series_label="a&b", threshold=0.5, threshold_label="<t>", marked=(False, True),
                     marked_label="drift")
    svg = render_svg(spec, xmlns=False)
    assert "<script" not in svg and "<b>" not in svg and "<v1>" not in svg and "<t>" not in svg
    assert "&lt;script&gt;" in svg and "a&amp;b" in svg
    _assert_inert(svg)
    empty = render_svg(ChartSpec(title="t", y_label="y", xs=(), ys=()))
    assert "No data points" in empty


def _large_evidence(base: dict, models: int, batches_in_one: int) -> dict:
    """The demo's evidence multiplied: `models` copies, the first carrying `batches_in_one` batches."""
    evidence = copy.deepcopy(base)
    template, card = base["models"][0], base["inventory"][0]
    evidence["models"], evidence["inventory"] = [], []
    for i in range(models):
        m = copy.deepcopy(template)
        m["name"] = f"model-{i:04d}"
        m["versions"] = [dict(template["versions"][0], number=n + 1) for n in range(10)]
        m["validation"] = [dict(template["validation"][0], version=n + 1) for n in range(10)]
        evidence["models"].append(m)
        evidence["inventory"].append(dict(card, name=m["name"]))
    first = evidence["models"][0]
    batch, decision = template["monitoring"]["batches"][0], template["decisions"][0]
    first["monitoring"]["batches"] = [dict(batch, id=k) for k in range(batches_in_one)]
    first["decisions"] = [dict(decision, batch=k) for k in range(batches_in_one)]
    return evidence


@pytest.mark.slow
def test_large_inventories_render_quickly_and_cap_long_tables(demo_report, tmp_path):
    from app.reports.html import render_html
    from app.reports.pdf import render_pdf

    evidence = _large_evidence(demo_report["evidence"], 1000, 450)
    started = time.perf_counter()
    html = render_html(evidence)
    assert time.perf_counter() - started < 30
    assert "250 more batches in the JSON evidence." in html
    assert html.count('id="s3-') == 1000

    small = _large_evidence(demo_report["evidence"], 40, 450)
    started = time.perf_counter()
    render_pdf(small, tmp_path / "large.pdf")
    assert time.perf_counter() - started < 60
    if POPPLER:
        text = " ".join(_pdftotext(tmp_path / "large.pdf").split())
        assert "250 more batches in the JSON evidence." in text


def test_pdf_renders_on_a_worker_thread_beside_a_running_qapplication(demo_report, qapp, qtbot, tmp_path):
    """The window exports through TaskRunner: QtGui painting off the GUI thread, with no thread warnings."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    from app.reports.pdf import ensure_gui_app, render_pdf
    from app.ui.tasks import TaskRunner

    assert ensure_gui_app() is qapp  # reuses the running QApplication
    messages: list[str] = []
    previous = qInstallMessageHandler(lambda kind, _ctx, text: messages.append(text)
                                      if kind != QtMsgType.QtDebugMsg else None)
    try:
        runner = TaskRunner()
        outcome: dict = {}
        task = runner.submit(render_pdf, demo_report["evidence"], tmp_path / "threaded.pdf",
                             on_success=lambda _r: outcome.setdefault("ok", True),
                             on_error=lambda exc: outcome.setdefault("error", exc))
        qtbot.waitUntil(lambda: bool(outcome), timeout=60_000)
        assert task is not None
    finally:
        qInstallMessageHandler(previous)
    assert outcome == {"ok": True}
    assert (tmp_path / "threaded.pdf").read_bytes().startswith(b"%PDF")
    assert not [m for m in messages if "thread" in m.lower() or "pixmap" in m.lower()], messages
