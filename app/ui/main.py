"""Entry point of the desktop window (`steward-gui`, `steward gui`): the composition root."""

from __future__ import annotations

import argparse
import gc
import logging
import multiprocessing
import os
import sys
import time
from pathlib import Path

__all__ = ["main", "run_gui"]

log = logging.getLogger(__name__)


def _configure_logging() -> None:
    level = os.environ.get("STEWARD_LOG", "INFO").upper()
    logging.basicConfig(level=getattr(logging, level, logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its per-plugin chatter says nothing to a user


def _install_excepthook() -> None:
    """An unexpected exception in a slot is logged and shown as a message, not a silent abort."""
    from app.ui.messages import show_error

    def hook(exc_type, exc, tb) -> None:
        log.error("Unhandled exception", exc_info=(exc_type, exc, tb))
        from PySide6.QtWidgets import QApplication

        if QApplication.instance() is not None and not issubclass(exc_type, KeyboardInterrupt):
            show_error(QApplication.activeWindow(), exc)

    sys.excepthook = hook


def _seconds_since_start() -> float:
    """Seconds since this process started (the bundle's bootloader included), else since this import."""
    try:  # Linux: start time in clock ticks after boot (field 22 of stat) against the uptime now
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        return float(Path("/proc/uptime").read_text().split()[0]) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED_AT


_IMPORTED_AT = time.monotonic()


def _close_after_first_paint(app, window) -> None:
    """`--quit-after-paint`: once the window has painted, print the time to first paint and close it.

    For start-up measurements and the bundle's smoke test; closing goes through the normal shutdown.
    """
    from PySide6.QtCore import QEvent, QObject, QTimer

    class FirstPaint(QObject):
        def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
            if event.type() == QEvent.Type.Paint:
                app.removeEventFilter(self)
                QTimer.singleShot(0, self.report)  # after the whole paint pass, not at its start
            return False

        def report(self) -> None:
            print(f"first paint after {_seconds_since_start():.2f} s", flush=True)
            window.close()

    app.installEventFilter(FirstPaint(window))


def run_gui(home: str | None = None, *, demo_if_empty: bool | None = None, argv: list[str] | None = None,
            quit_after_paint: bool = False) -> int:
    """Open the workspace at `home` (else STEWARD_HOME / the last one used / the default) in the window.

    `demo_if_empty`: True loads the demo into an empty workspace, False never offers it, None asks.
    `quit_after_paint`: close the window after its first paint, printing the time it took (never asks
    about the demo then).
    """
    multiprocessing.freeze_support()  # child worker processes of a frozen (PyInstaller) build start here
    _configure_logging()
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.core.errors import StewardError
    from app.services.workspaces import open_home
    from app.ui import theme
    from app.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("Model Steward")
    app.setOrganizationName("ModelSteward")
    app.setApplicationDisplayName("Model Steward")
    app.setWindowIcon(theme.app_icon())
    settings = QSettings()
    theme.apply_theme(str(settings.value("view/theme", "light")))
    _install_excepthook()

    if not home and not os.environ.get("STEWARD_HOME"):
        last = settings.value("workspace/last")
        home = str(last) if last and os.path.isdir(str(last)) else None
    try:
        ws = open_home(home)  # creating or migrating a workspace takes well under a second
    except StewardError as exc:
        QMessageBox.critical(None, "Model Steward", f"{exc.message}\n\n{exc.hint or ''}".strip())
        return 2
    log.info("Workspace %s", ws.root)
    window = MainWindow(ws, settings=settings, build_pages_after_paint=True)
    if quit_after_paint:
        demo_if_empty = False if demo_if_empty is None else demo_if_empty
        _close_after_first_paint(app, window)
    window.show()
    # Everything imported so far lives as long as the window: keep it out of the garbage collector's
    # full passes, which otherwise hold the GIL for ~100 ms while a worker thread imports sklearn.
    gc.collect()
    gc.freeze()
    window.offer_demo_if_empty(demo_if_empty)
    return app.exec()


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()  # first: in a frozen build a worker process starts here too
    parser = argparse.ArgumentParser(prog="steward-gui", description="Model Steward desktop window.")
    parser.add_argument("--home", help="workspace folder (default: STEWARD_HOME or your data folder)")
    demo = parser.add_mutually_exclusive_group()
    demo.add_argument("--demo", action="store_true", help="load the demo workspace if the workspace is empty")
    demo.add_argument("--no-demo", action="store_true", help="never offer the demo workspace")
    parser.add_argument("--quit-after-paint", action="store_true",
                        help="close after the window's first paint and print the seconds it took (start-up checks)")
    args, qt_args = parser.parse_known_args(argv)
    choice = True if args.demo else (False if args.no_demo else None)
    return run_gui(args.home, demo_if_empty=choice, argv=[sys.argv[0], *qt_args],
                   quit_after_paint=args.quit_after_paint)


if __name__ == "__main__":
    raise SystemExit(main())
