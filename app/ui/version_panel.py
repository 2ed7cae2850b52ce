"""The selected version's metrics and lineage: where it came from and how it was judged."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from app.core.entities import Dataset, Version
from app.ui.formatting import fmt_metric, fmt_time, metric_direction, metric_label, short_hash
from app.ui.forms import section_label

__all__ = ["VersionPanel"]

_LIBRARIES = ("scikit-learn", "numpy", "pandas", "joblib", "python")


def _value_label(text: str, tooltip: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    if tooltip:
        label.setToolTip(tooltip)
    return label


class VersionPanel(QWidget):
    """Read-only description of one version; `dataset_lookup` turns a hash into its Dataset (or None)."""

    def __init__(self, dataset_lookup: Callable[[str], Dataset | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lookup = dataset_lookup
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.title = section_label("Version")
        outer.addWidget(self.title)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self._body = QWidget()
        self._body.setObjectName("VersionBody")
        self._layout = QVBoxLayout(self._body)
        self._layout.setContentsMargins(0, 4, 6, 4)
        self._layout.setSpacing(6)
        self.metrics_form = QFormLayout()
        self.lineage_form = QFormLayout()
        for form in (self.metrics_form, self.lineage_form):
            form.setHorizontalSpacing(14)
            form.setVerticalSpacing(5)
            form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.evaluation_label = _value_label("")
        self.evaluation_label.setObjectName("Muted")
        self._layout.addWidget(section_label("Metrics"))
        self._layout.addLayout(self.metrics_form)
        self._layout.addWidget(self.evaluation_label)
        self._layout.addSpacing(6)
        self._layout.addWidget(section_label("Lineage"))
        self._layout.addLayout(self.lineage_form)
        self._layout.addStretch(1)
        scroll.setWidget(self._body)
        outer.addWidget(scroll, 1)
        self.version: Version | None = None

    def show_version(self, version: Version | None) -> None:
        self.version = version
        for form in (self.metrics_form, self.lineage_form):
            while form.rowCount():
                form.removeRow(0)
        if version is None:
            self.title.setText("VERSION")
            self.evaluation_label.setText("Select a version to see its metrics and lineage.")
            return
        self.title.setText(f"VERSION {version.number}  ·  {version.stage.label.upper()}"
                           if version.stage.value != "none" else f"VERSION {version.number}")
        for key, value in version.metrics.items():
            self.metrics_form.addRow(metric_label(key), _value_label(fmt_metric(value), metric_direction(key)))
        if not version.metrics:
            self.metrics_form.addRow(_value_label("No metrics recorded."))
        self.evaluation_label.setText(self._evaluation_text(version))
        for label, text, tip in self._lineage_rows(version):
            self.lineage_form.addRow(label, _value_label(text, tip))

    def _dataset_text(self, sha: str) -> tuple[str, str]:
        ds = self._lookup(sha)
        if ds is None:
            return f"sha256 {short_hash(sha)}", f"sha256 {sha}"
        return (f"{ds.name}  ·  {ds.rows:,} rows × {len(ds.columns)} columns  ·  sha256 {short_hash(sha)}",
                f"sha256 {sha}\nfrom {ds.source_path}\nregistered {fmt_time(ds.created_at)} by {ds.created_by}")

    @staticmethod
    def _evaluation_text(version: Version) -> str:
        ev = version.evaluation
        method, rows = ev.get("method", ""), ev.get("rows")
        text = f"Evaluated on {method}" + (f" ({rows:,} rows)" if isinstance(rows, int) else "") if method else ""
        if ev.get("caution"):
            text += f"; {ev['caution']}"
        return text + "." if text else ""

    def _lineage_rows(self, v: Version) -> list[tuple[str, str, str]]:
        rows = [("Training data", *self._dataset_text(v.train_dataset_sha256))]
        if v.test_dataset_sha256:
            rows.append(("Test data", *self._dataset_text(v.test_dataset_sha256)))
        else:
            frac = v.evaluation.get("fraction")
            share = f"{frac:.0%} " if isinstance(frac, float) else ""
            rows.append(("Test data", f"None; {share}hold-out split of the training data "
                                      f"(seed {v.evaluation.get('seed', '—')})", ""))
        rows.append(("Parent version", f"v{v.parent_number}" if v.parent_number else "— (first version)", ""))
        classes = f" (classes {', '.join(v.classes)})" if v.classes else ""
        rows.append(("Predicts", f"{v.target}{classes} from {len(v.features)} features  ·  {v.task.value}",
                     "Features:\n" + "\n".join(f"{f.name}  ({f.dtype}, {f.kind})" for f in v.features)))
        libs = "  ·  ".join(f"{k} {v.environment[k]}" for k in _LIBRARIES if k in v.environment)
        rows.append(("Libraries", libs or "—", ""))
        rows.append(("Pickle scan", *self._scan_text(v)))
        rows.append(("Artifact", f"sha256 {short_hash(v.artifact_sha256, 16)}  ·  {v.artifact_size / 1024:,.1f} KiB",
                     f"sha256 {v.artifact_sha256}"))
        if v.note:
            rows.append(("Note", v.note, ""))
        return rows

    @staticmethod
    def _scan_text(v: Version) -> tuple[str, str]:
        p = v.provenance
        source = p.get("source_file", "?")
        found = p.get("globals") or []
        bad = p.get("disallowed") or []
        tip = "Globals the file imports:\n" + "\n".join(found) if found else ""
        if p.get("trusted") and bad:
            return (f"⚠ {source}: trusted explicitly despite {len(bad)} global(s) outside the allowlist: "
                    f"{', '.join(bad)}", tip)
        fmt = p.get("scan_format", "pickle")
        return f"{source} ({fmt}): {len(found)} globals, all on the allowlist", tip
