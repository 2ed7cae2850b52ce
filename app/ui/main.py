"""Entry point of the desktop window (`steward-gui`, `steward gui`): the composition root."""

from __future__ import annotations

import argparse
import gc
import logging
import multiprocessing
import os
import sys

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


def run_gui(home: str | None = None, *, demo_if_empty: bool | None = None, argv: list[str] | None = None) -> int:
    """Open the workspace at `home` (else STEWARD_HOME / the last one used / the default) in the window.

    `demo_if_empty`: True loads the demo into an empty workspace, False never offers it, None asks.
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
    window = MainWindow(ws, settings=settings)
    window.show()
    # Everything imported so far lives as long as the window: keep it out of the garbage collector's
    # full passes, which otherwise hold the GIL for ~100 ms while a worker thread imports sklearn.
    gc.collect()
    gc.freeze()
    window.offer_demo_if_empty(demo_if_empty)
    return app.exec()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="steward-gui", description="Model Steward desktop window.")
    parser.add_argument("--home", help="workspace folder (default: STEWARD_HOME or your data folder)")
    demo = parser.add_mutually_exclusive_group()
    demo.add_argument("--demo", action="store_true", help="load the demo workspace if the workspace is empty")
    demo.add_argument("--no-demo", action="store_true", help="never offer the demo workspace")
    args, qt_args = parser.parse_known_args(argv)
    choice = True if args.demo else (False if args.no_demo else None)
    return run_gui(args.home, demo_if_empty=choice, argv=[sys.argv[0], *qt_args])


if __name__ == "__main__":
    raise SystemExit(main())
