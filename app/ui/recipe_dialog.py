"""Edit a model's retraining recipe: the gate (minimum and allowed regression per metric), hold-out and seed."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QGridLayout, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout,
    QWidget,
)

from app.core.jobs import Recipe
from app.services.recipes import set_recipe
from app.store.workspace import Workspace
from app.ui.formatting import metric_direction, metric_label
from app.ui.forms import error_label, section_label
from app.ui.messages import describe_error
from app.ui.tasks import TaskRunner

__all__ = ["RecipeDialog", "recipe_summary", "is_error_metric"]

_DECIMALS = 4


def is_error_metric(metric: str) -> bool:
    return metric_direction(metric) == "lower is better"


def _regression_text(metric: str, value: float) -> str:
    return f"+{value:.0%} of the champion's" if is_error_metric(metric) else f"{value:g} worse at most"


def _minimum_text(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    return f"{'≤' if is_error_metric(metric) else '≥'} {value:g}"


def recipe_summary(recipe: Recipe) -> str:
    """The recipe as rich text: estimator, split, and the gate per metric."""
    params = ", ".join(f"{k}={v}" for k, v in recipe.params.items()) or "as registered"
    split = (f"newest {recipe.holdout:.0%} by '{escape(recipe.time_column)}'" if recipe.time_column
             else f"seeded hold-out of {recipe.holdout:.0%} (seed {recipe.seed})")
    rows = "".join(
        f"<tr><td style='padding:1px 18px 1px 0'>{metric_label(m)}</td>"
        f"<td style='padding:1px 18px 1px 0'>{_minimum_text(m, recipe.gate_min.get(m))}</td>"
        f"<td>{_regression_text(m, recipe.max_regression[m]) if m in recipe.max_regression else '—'}</td></tr>"
        for m in recipe.metrics)
    head = ("<tr><td style='padding:0 18px 2px 0'><i>Metric</i></td><td style='padding:0 18px 2px 0'><i>Minimum"
            "</i></td><td><i>Max regression vs champion</i></td></tr>")
    return (f"<b>{escape(recipe.estimator_class.rsplit('.', 1)[-1])}</b> (unfitted clone of v{recipe.source_version}); "
            f"parameters {escape(params)}<br>Evaluation: {split}<br>"
            f"<table style='margin-top:4px'>{head}{rows}</table>"
            f"<span style='font-size:8.5pt'>Revision {recipe.revision}, changed by {escape(recipe.updated_by)}</span>")


class _Bound(QWidget):
    """A check box that switches a number on or off (off: no such criterion)."""

    def __init__(self, value: float | None, *, lo: float, hi: float, step: float, prefix: str = "",
                 suffix: str = "", scale: float = 1.0, decimals: int = _DECIMALS) -> None:
        super().__init__()
        self.scale, self.decimals = scale, decimals
        self.check = QCheckBox()
        self.spin = QDoubleSpinBox()
        self.spin.setRange(lo, hi)
        self.spin.setDecimals(decimals)
        self.spin.setSingleStep(step)
        self.spin.setPrefix(prefix)
        self.spin.setSuffix(suffix)
        self.spin.setValue(value * scale if value is not None else lo)
        self.check.setChecked(value is not None)
        self.spin.setEnabled(value is not None)
        self.check.toggled.connect(self.spin.setEnabled)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.check)
        row.addWidget(self.spin, 1)

    def value(self) -> float | None:
        return round(self.spin.value() / self.scale, self.decimals + 2) if self.check.isChecked() else None

    def set_value(self, value: float | None) -> None:
        self.check.setChecked(value is not None)
        if value is not None:
            self.spin.setValue(value * self.scale)


def _changed(old: float | None, new: float | None, digits: int) -> bool:
    if old is None or new is None:
        return old is not new
    return round(old, digits) != round(new, digits)


class RecipeDialog(QDialog):
    """Saves only what changed, through `set_recipe` (which audits every change with its old and new value)."""

    recipe_saved = Signal(object)  # the new Recipe
    save_failed = Signal(object)

    def __init__(self, ws: Workspace, runner: TaskRunner, recipe: Recipe, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws, self.runner, self.recipe = ws, runner, recipe
        self.setWindowTitle(f"Recipe of {recipe.model_name}")
        self.setMinimumWidth(560)
        heading = QLabel(f"Recipe of {recipe.model_name}")
        heading.setObjectName("PageTitle")
        intro = QLabel("The gate decides whether a challenger passes: every criterion is checked on the same "
                       "held-out rows for the challenger and the champion. A challenger is registered in Staging "
                       "either way, with the gate result beside it. Each change is recorded in the audit log.")
        intro.setWordWrap(True)
        intro.setObjectName("Muted")
        grid = QGridLayout()
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(6)
        for col, text in enumerate(("Metric", "Minimum (ceiling for errors)", "Max regression vs champion")):
            grid.addWidget(section_label(text), 0, col)
        self.min_fields: dict[str, _Bound] = {}
        self.regression_fields: dict[str, _Bound] = {}
        for row, metric in enumerate(recipe.metrics, start=1):
            error = is_error_metric(metric)
            name = QLabel(metric_label(metric))
            name.setToolTip(metric_direction(metric))
            low = _Bound(recipe.gate_min.get(metric), lo=0.0, hi=1e9 if error else 1.0, step=0.01,
                         prefix="≤ " if error else "≥ ")
            low.setToolTip(f"The challenger's {metric_label(metric)} must be "
                           + ("at most this value." if error else "at least this value."))
            reg = _Bound(recipe.max_regression.get(metric), lo=0.0, hi=1000.0 if error else 1.0,
                         step=1.0 if error else 0.005, suffix=" %" if error else "", scale=100.0 if error else 1.0,
                         decimals=2 if error else _DECIMALS)
            reg.setToolTip("How much larger than the champion's error it may be, in percent." if error else
                           "How much lower than the champion's value it may be (absolute).")
            grid.addWidget(name, row, 0)
            grid.addWidget(low, row, 1)
            grid.addWidget(reg, row, 2)
            self.min_fields[metric], self.regression_fields[metric] = low, reg
        self.holdout_spin = QSpinBox()
        self.holdout_spin.setRange(5, 90)
        self.holdout_spin.setSuffix(" %")
        self.holdout_spin.setValue(round(recipe.holdout * 100))
        self.holdout_spin.setToolTip("Share of the retraining data held out to compare challenger and champion")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2_147_483_647)
        self.seed_spin.setValue(recipe.seed)
        self.seed_spin.setToolTip("The split's random seed: the same seed and data give the same split")
        split = QHBoxLayout()
        split.addWidget(QLabel("Hold-out"))
        split.addWidget(self.holdout_spin)
        split.addSpacing(18)
        split.addWidget(QLabel("Seed"))
        split.addWidget(self.seed_spin, 1)
        if recipe.time_column:
            split.addSpacing(12)
            split.addWidget(QLabel(f"(newest rows by '{recipe.time_column}' are held out)"))
        self.error_label = error_label()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setText("Save recipe")
        self.save_button.setObjectName("Primary")
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setSpacing(8)
        layout.addWidget(heading)
        layout.addWidget(intro)
        layout.addSpacing(4)
        layout.addLayout(grid)
        layout.addSpacing(4)
        layout.addWidget(section_label("Evaluation split"))
        layout.addLayout(split)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    def changes(self) -> dict:
        """The keyword arguments for set_recipe: only what differs from the recipe (None removes a criterion)."""
        r = self.recipe
        gate_min = {m: f.value() for m, f in self.min_fields.items()
                    if _changed(r.gate_min.get(m), f.value(), _DECIMALS)}
        regression = {m: f.value() for m, f in self.regression_fields.items()
                      if _changed(r.max_regression.get(m), f.value(), _DECIMALS)}
        out: dict = {}
        if gate_min:
            out["gate_min"] = gate_min
        if regression:
            out["max_regression"] = regression
        if round(r.holdout * 100) != self.holdout_spin.value():
            out["holdout"] = self.holdout_spin.value() / 100
        if r.seed != self.seed_spin.value():
            out["seed"] = self.seed_spin.value()
        return out

    def save(self) -> None:
        changes = self.changes()
        if not changes:
            self.accept()  # nothing changed: no new revision, no audit event
            return
        self.save_button.setEnabled(False)
        self.save_button.setText("Saving…")
        self.error_label.hide()
        self.runner.submit(set_recipe, self.ws, self.recipe.model_name, **changes,
                           on_success=self._saved, on_error=self._failed)

    def _saved(self, recipe: Recipe) -> None:
        self.recipe = recipe
        self.recipe_saved.emit(recipe)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        message, hint = describe_error(exc)
        self.error_label.setText(f"{message} {hint}".strip())
        self.error_label.show()
        self.save_button.setEnabled(True)
        self.save_button.setText("Save recipe")
        self.save_failed.emit(exc)

