"""Register a model file with its training data: inline validation, background work, trust prompt."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
    QMessageBox, QPlainTextEdit, QProgressBar, QPushButton, QVBoxLayout, QWidget,
)

from app.core.entities import RiskTier, Version
from app.core.errors import InvalidInputError, UntrustedArtifactError
from app.core.identity import current_actor
from app.services.register import ModelCard, preview_columns, register_model, validate_model_name
from app.store.workspace import Workspace
from app.ui.dropfiles import DATA_SUFFIXES, MODEL_SUFFIXES, local_files
from app.ui.forms import browse_button, error_label, section_label, set_field_error, with_error
from app.ui.messages import describe_error
from app.ui.tasks import TaskRunner

__all__ = ["RegisterDialog"]

_TARGET_GUESSES = ("target", "label", "y", "class", "outcome")
_MODEL_FILTER = "Model files (*.joblib *.pkl *.pickle);;All files (*)"
_DATA_FILTER = "Data files (*.csv *.parquet *.pq);;All files (*)"


class RegisterDialog(QDialog):
    """Collects what `register_model` needs; emits `registered(Version)` and closes on success."""

    registered = Signal(object)  # Version
    columns_loaded = Signal(list)  # the training data's column names
    trust_asked = Signal(object)  # the QMessageBox asking whether to trust an unsafe pickle
    registration_failed = Signal(object)  # the exception, after it has been shown

    def __init__(self, ws: Workspace, runner: TaskRunner, parent: QWidget | None = None, *,
                 existing: dict[str, int] | None = None, model_file: str | Path | None = None,
                 model_name: str | None = None) -> None:
        super().__init__(parent)
        self.ws, self.runner = ws, runner
        self.existing = dict(existing or {})
        self.busy = False
        self.trust_box: QMessageBox | None = None
        self._columns_generation = 0
        self._loading_columns = False
        self._browse_buttons: list[QPushButton] = []
        self.setWindowTitle("Register model")
        self.setMinimumWidth(640)
        self.setAcceptDrops(True)
        self._build()
        if model_name:
            self.name_combo.setCurrentText(model_name)
        if model_file:
            self.model_edit.setText(str(model_file))

    # -- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        self.name_combo = QComboBox()
        self.name_combo.setEditable(True)
        self.name_combo.addItems(sorted(self.existing))
        self.name_combo.setCurrentIndex(-1)
        self.name_combo.lineEdit().setPlaceholderText("e.g. churn-classifier (an existing name adds a version)")
        self.name_combo.currentTextChanged.connect(self._on_name_changed)
        self.model_edit = QLineEdit()
        self.model_edit.setPlaceholderText(".joblib or .pkl file of a fitted scikit-learn estimator")
        self.train_edit = QLineEdit()
        self.train_edit.setPlaceholderText("CSV or Parquet with the features and the target column")
        self.train_edit.editingFinished.connect(self.load_columns)
        self.target_combo = QComboBox()
        self.target_combo.setPlaceholderText("Choose the training data first")
        self.target_combo.setEnabled(False)
        self.test_edit = QLineEdit()
        self.test_edit.setPlaceholderText("Optional: held-out rows; without it 20% of the training data is held out")
        self.description_edit = QPlainTextEdit()
        self.description_edit.setFixedHeight(54)
        self.description_edit.setTabChangesFocus(True)
        self.owner_edit = QLineEdit()
        self.owner_edit.setPlaceholderText(current_actor())
        self.intended_edit = QLineEdit()
        self.out_of_scope_edit = QLineEdit()
        self.risk_combo = QComboBox()
        self.risk_combo.addItems([t.value.capitalize() for t in RiskTier])
        self.risk_combo.setCurrentIndex(1)
        self.tags_edit = QLineEdit()
        self.tags_edit.setPlaceholderText("comma-separated, e.g. finance, quarterly")
        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText("What is new in this version (optional)")
        self.name_error, self.model_error, self.train_error, self.target_error, self.test_error = (
            error_label() for _ in range(5))
        self.card_hint = QLabel()
        self.card_hint.setObjectName("Muted")
        self.card_hint.setWordWrap(True)

        form = QFormLayout()
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(6)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow(section_label("Model", 8))
        form.addRow("Model name", with_error(self.name_combo, self.name_error))
        form.addRow("Model file", with_error(self.model_edit, self.model_error,
                                             self._browse(self.model_edit, _MODEL_FILTER)))
        form.addRow(section_label("Data", 8))
        form.addRow("Training data", with_error(self.train_edit, self.train_error,
                                                self._browse(self.train_edit, _DATA_FILTER, self.load_columns)))
        form.addRow("Target column", with_error(self.target_combo, self.target_error))
        form.addRow("Test data", with_error(self.test_edit, self.test_error,
                                            self._browse(self.test_edit, _DATA_FILTER)))
        form.addRow(section_label("Model card", 8))
        form.addRow(self.card_hint)
        form.addRow("Description", self.description_edit)
        form.addRow("Owner", self.owner_edit)
        form.addRow("Intended use", self.intended_edit)
        form.addRow("Out of scope", self.out_of_scope_edit)
        form.addRow("Risk tier", self.risk_combo)
        form.addRow("Tags", self.tags_edit)
        form.addRow(section_label("This version", 8))
        form.addRow("Note", self.note_edit)

        self.form_error = error_label()
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.hide()
        self.status_label = QLabel()
        self.status_label.setObjectName("Muted")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.register_button = self.buttons.addButton("Register", QDialogButtonBox.ButtonRole.AcceptRole)
        self.register_button.setObjectName("Primary")
        self.register_button.setDefault(True)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 14)
        layout.addLayout(form)
        layout.addSpacing(6)
        layout.addWidget(self.form_error)
        status = QHBoxLayout()
        status.addWidget(self.status_label, 1)
        status.addWidget(self.progress_bar, 1)
        layout.addLayout(status)
        layout.addWidget(self.buttons)
        self._inputs = [self.name_combo, self.model_edit, self.train_edit, self.target_combo, self.test_edit,
                        self.description_edit, self.owner_edit, self.intended_edit, self.out_of_scope_edit,
                        self.risk_combo, self.tags_edit, self.note_edit, *self._browse_buttons]
        self._on_name_changed("")

    def _browse(self, edit: QLineEdit, file_filter: str, chosen=None) -> QPushButton:
        button = browse_button(edit, file_filter, chosen)
        self._browse_buttons.append(button)
        return button

    # -- reactions ------------------------------------------------------------------------------
    def _on_name_changed(self, text: str) -> None:
        name = text.strip()
        existing = name in self.existing
        for w in (self.description_edit, self.owner_edit, self.intended_edit, self.out_of_scope_edit,
                  self.risk_combo, self.tags_edit):
            w.setEnabled(not existing and not self.busy)
        self.card_hint.setText(
            f"'{name}' exists: this registers version {self.existing[name] + 1}; its card stays as it is."
            if existing else "Describes the model for reviewers; used when the name is new.")
        set_field_error(self.name_combo, self.name_error, "")

    def load_columns(self) -> None:
        """Fill the target chooser from the training file's header, off the GUI thread."""
        path = self.train_edit.text().strip()
        self._columns_generation += 1
        generation = self._columns_generation
        self._loading_columns = False
        self.target_combo.clear()
        self.target_combo.setEnabled(False)
        set_field_error(self.train_edit, self.train_error, "")
        if not path:
            self.target_combo.setPlaceholderText("Choose the training data first")
            return
        if not Path(path).is_file():
            self.target_combo.setPlaceholderText("Choose the training data first")
            set_field_error(self.train_edit, self.train_error, f"No file at {path}.")
            return
        self.target_combo.setPlaceholderText("Reading columns…")
        self._loading_columns = True
        self.runner.submit(preview_columns, path,
                           on_success=lambda cols: self._columns_ready(generation, cols),
                           on_error=lambda exc: self._columns_failed(generation, exc))

    def _columns_ready(self, generation: int, columns: list[str]) -> None:
        if generation != self._columns_generation:
            return  # the user picked another file meanwhile
        self._loading_columns = False
        self.target_combo.addItems(columns)
        guess = next((i for i, c in enumerate(columns) if c.lower() in _TARGET_GUESSES), -1)
        self.target_combo.setCurrentIndex(guess)
        self.target_combo.setPlaceholderText("Choose the column the model predicts")
        self.target_combo.setEnabled(not self.busy)
        self.columns_loaded.emit(columns)

    def _columns_failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._columns_generation:
            return
        self._loading_columns = False
        message, hint = describe_error(exc)
        self.target_combo.setPlaceholderText("Choose a readable training file first")
        set_field_error(self.train_edit, self.train_error, f"Cannot read this file: {message} {hint}".strip())

    # -- validation and submission ----------------------------------------------------------------
    def _validate(self) -> bool:
        ok = True
        try:
            validate_model_name(self.name_combo.currentText())
            set_field_error(self.name_combo, self.name_error, "")
        except InvalidInputError as exc:
            blank = not self.name_combo.currentText().strip()
            text = "Give the model a name." if blank else f"{exc.message} {exc.hint or ''}".strip()
            set_field_error(self.name_combo, self.name_error, text)
            ok = False
        for edit, label, what, required in (
            (self.model_edit, self.model_error, "model file", True),
            (self.train_edit, self.train_error, "training data file", True),
            (self.test_edit, self.test_error, "test data file", False),
        ):
            path = edit.text().strip()
            if not path:
                error = f"Choose the {what}." if required else ""
            elif not Path(path).is_file():
                error = f"No file at {path}."
            else:
                error = label.text() if label.isVisible() and edit is self.train_edit else ""
            set_field_error(edit, label, error)
            ok = ok and not error
        train = self.train_edit.text().strip()
        if self.target_combo.count() == 0 and not self._loading_columns and train and Path(train).is_file() \
                and not self.train_error.isVisible():
            self.load_columns()  # the path was typed and never left its field, so nobody read the header yet
        if self.target_combo.currentIndex() < 0 and not self.train_error.isVisible():
            set_field_error(self.target_combo, self.target_error,
                            "Choose the target column (what the model predicts).")
            ok = False
        else:
            set_field_error(self.target_combo, self.target_error, "")
        return ok

    def card(self) -> ModelCard:
        tags = tuple(t.strip() for t in self.tags_edit.text().split(",") if t.strip())
        return ModelCard(
            description=self.description_edit.toPlainText().strip(), owner=self.owner_edit.text().strip(),
            intended_use=self.intended_edit.text().strip(), out_of_scope_use=self.out_of_scope_edit.text().strip(),
            risk_tier=self.risk_combo.currentText().lower(), tags=tags,
        )

    def submit(self, *, trust: bool = False) -> bool:
        """Validate, then run `register_model` in the background; False if a field needs fixing."""
        if self.busy:
            return False
        self.form_error.hide()
        if not self._validate():
            return False
        test = self.test_edit.text().strip() or None
        self._set_busy(True, "Starting…")
        self.runner.submit(
            register_model, self.ws, self.name_combo.currentText().strip(), self.model_edit.text().strip(),
            self.train_edit.text().strip(), self.target_combo.currentText(), test_data=test, card=self.card(),
            note=self.note_edit.text().strip(), trust=trust,
            on_progress=self._on_progress, on_success=self._on_registered, on_error=self._on_failed,
        )
        return True

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress_bar.setValue(round(fraction * 100))
        self.status_label.setText(message + "…" if fraction < 1 else message)

    def _on_registered(self, version: Version) -> None:
        self._set_busy(False, f"Registered {version.model_name} v{version.number}.")
        self.registered.emit(version)
        self.accept()

    def _on_failed(self, exc: BaseException) -> None:
        self._set_busy(False, "")
        if isinstance(exc, UntrustedArtifactError):
            self._ask_trust(exc)
            return
        message, hint = describe_error(exc)
        self.form_error.setText(f"Not registered. {message} {hint}".strip())
        self.form_error.show()
        self.registration_failed.emit(exc)

    def _ask_trust(self, exc: UntrustedArtifactError) -> None:
        box, trust = trust_prompt(self, Path(self.model_edit.text().strip()).name, exc.offending)
        self.trust_box = box

        def decided() -> None:
            self.trust_box = None
            if box.clickedButton() is trust:
                self.submit(trust=True)
            else:
                self.status_label.setText("Not registered: the file was not trusted.")
                self.registration_failed.emit(exc)

        box.finished.connect(decided)
        box.open()
        self.trust_asked.emit(box)

    def done(self, result: int) -> None:
        self._columns_generation += 1  # a header still being read must not fill a closed dialog
        super().done(result)

    def _set_busy(self, busy: bool, message: str) -> None:
        self.busy = busy
        for w in self._inputs:
            w.setEnabled(not busy)
        self.register_button.setEnabled(not busy)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setEnabled(not busy)
        if not busy:
            self._on_name_changed(self.name_combo.currentText())
            self.target_combo.setEnabled(self.target_combo.count() > 0)
        self.progress_bar.setVisible(busy)
        self.progress_bar.setValue(0)
        self.status_label.setText(message)

    def reject(self) -> None:
        if self.busy:  # the registration finishes (or fails) cleanly first; nothing is half-written
            self.status_label.setText("Registering… please wait for it to finish.")
            return
        super().reject()

    # -- drag and drop ----------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if local_files(event.mimeData(), MODEL_SUFFIXES + DATA_SUFFIXES):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for path in local_files(event.mimeData(), MODEL_SUFFIXES + DATA_SUFFIXES):
            if path.suffix.lower() in MODEL_SUFFIXES:
                self.model_edit.setText(str(path))
            elif not self.train_edit.text().strip():
                self.train_edit.setText(str(path))
                self.load_columns()
            else:
                self.test_edit.setText(str(path))
        event.acceptProposedAction()


def trust_prompt(parent: QWidget, file_name: str, offending: list[str]) -> tuple[QMessageBox, QPushButton]:
    """The explicit question before an unsafe pickle is loaded; 'Don't register' is the default."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Untrusted model file",
                      f"'{file_name}' would run code from outside the allowlist when it is loaded:", parent=parent)
    box.setObjectName("TrustBox")
    box.setInformativeText(
        "\n".join(f"•  {g}" for g in offending)
        + "\n\nOnly trust it if you know where it comes from; the decision is recorded in the audit log."
        "\n\nTrust this file and register anyway?")
    trust = box.addButton("Trust and register", QMessageBox.ButtonRole.YesRole)
    decline = box.addButton("Don't register", QMessageBox.ButtonRole.NoRole)
    box.setDefaultButton(decline)
    box.setEscapeButton(decline)
    return box, trust
