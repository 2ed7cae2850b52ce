"""First run: offer an empty workspace or the demo one, and build the demo in the background."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QProgressDialog, QPushButton, QVBoxLayout, QWidget

from app.store.workspace import Workspace
from app.ui import theme
from app.ui.messages import show_error
from app.ui.tasks import TaskRunner

__all__ = ["FirstRunDialog", "DemoLoader"]


class FirstRunDialog(QDialog):
    """'Start empty' or 'Load the demo workspace'; `wants_demo` tells which was chosen."""

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wants_demo = False
        self.setWindowTitle("Welcome to Model Steward")
        self.setMinimumWidth(500)
        icon = QLabel()
        icon.setPixmap(theme.app_icon().pixmap(56, 56))
        title = QLabel("Welcome to Model Steward")
        title.setObjectName("PageTitle")
        text = QLabel(
            f"The workspace <b>{ws.root}</b> has no models yet.<br><br>"
            "Start with it empty and register your own models, or load a demo workspace: a few models "
            "trained on scikit-learn's bundled datasets, with several versions and a stage history, "
            "so you can look around first.")
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        self.empty_button = QPushButton("Start empty")
        self.demo_button = QPushButton("Load the demo workspace")
        self.demo_button.setObjectName("Primary")
        self.demo_button.setDefault(True)
        self.empty_button.clicked.connect(self.reject)
        self.demo_button.clicked.connect(self._choose_demo)
        head = QHBoxLayout()
        head.addWidget(icon)
        head.addSpacing(10)
        head.addWidget(title, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.empty_button)
        buttons.addWidget(self.demo_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(12)
        layout.addLayout(head)
        layout.addWidget(text)
        layout.addLayout(buttons)

    def _choose_demo(self) -> None:
        self.wants_demo = True
        self.accept()


class DemoLoader(QObject):
    """Runs `create_demo(ws, progress=...)` in the background behind a window-modal progress dialog."""

    demo_loaded = Signal()
    demo_failed = Signal(object)

    def __init__(self, ws: Workspace, runner: TaskRunner, parent: QWidget) -> None:
        super().__init__(parent)
        self.ws, self.runner, self._window = ws, runner, parent
        self.dialog = QProgressDialog("Building the demo workspace…", "", 0, 100, parent)
        self.dialog.setWindowTitle("Demo workspace")
        self.dialog.setCancelButton(None)  # training runs to the end; half a demo would only confuse
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog.setMinimumDuration(0)
        self.dialog.setAutoClose(False)
        self.dialog.setMinimumWidth(420)

    def start(self, on_done: Callable[[], None] | None = None) -> None:
        from app.services.demo import create_demo  # imported late: it pulls in scikit-learn

        if on_done:
            self.demo_loaded.connect(on_done)
        self.dialog.setValue(0)
        self.dialog.show()
        self.runner.submit(create_demo, self.ws, on_progress=self._progress, on_success=self._done,
                           on_error=self._failed)

    def _progress(self, fraction: float, message: str) -> None:
        self.dialog.setValue(round(fraction * 100))
        if message:
            self.dialog.setLabelText(message)

    def _done(self, _result) -> None:
        self.dialog.close()
        self.demo_loaded.emit()

    def _failed(self, exc: BaseException) -> None:
        self.dialog.close()
        show_error(self._window, exc, "Demo workspace not created")
        self.demo_failed.emit(exc)
