"""Layering: import-linter contracts hold, no widget toolkit outside app/ui, and the CLI path imports lazily."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"
FORBIDDEN = ("PySide6.QtWidgets", "PySide6.QtCharts", "pyqtgraph")
HEAVY = ("PySide6.QtWidgets", "sklearn", "pandas")


def _forbidden_imports(source: str) -> list[str]:
    """Every import in `source` that reaches a forbidden module, as 'line: module'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        hits = [n for n in names if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)]
        if hits:
            found.append(f"{node.lineno}: {hits[-1]}")
    return sorted(found, key=lambda h: int(h.split(":")[0]))


def test_the_scanner_catches_every_import_form():
    sample = (
        "import PySide6.QtWidgets\n"
        "from PySide6 import QtWidgets\n"
        "from PySide6.QtCharts import QChart\n"
        "import pyqtgraph as pg\n"
        "def f():\n    from pyqtgraph.exporters import ImageExporter\n"
        "from PySide6 import QtGui, QtCore\n"
        "import PySide6.QtGui\n"
    )
    assert [h.split(": ")[0] for h in _forbidden_imports(sample)] == ["1", "2", "3", "4", "6"]


def test_no_module_outside_app_ui_imports_widgets_charts_or_pyqtgraph():
    offenders = {}
    files = [p for p in APP.rglob("*.py") if "ui" not in p.relative_to(APP).parts[:1]]
    assert len(files) > 20  # the walk really covered the package
    for path in files:
        hits = _forbidden_imports(path.read_text(encoding="utf-8"))
        if hits:
            offenders[str(path.relative_to(ROOT))] = hits
    assert offenders == {}


def test_import_linter_contracts_hold():
    exe = ROOT / ".venv" / "bin" / "lint-imports"
    if not exe.exists():
        pytest.skip("import-linter is not installed in .venv (pip install -e '.[dev]')")
    done = subprocess.run([str(exe)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "broken" not in done.stdout.lower() or " 0 broken" in done.stdout.lower()


def _modules_after_import(modules: list[str]) -> dict[str, bool]:
    code = (
        "import json, sys\n"
        f"for m in {modules!r}: __import__(m)\n"
        f"print(json.dumps({{h: any(k == h or k.startswith(h + '.') for k in sys.modules) for h in {HEAVY!r}}}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", [
    "app.services.register", "app.services.queries", "app.services.audit", "app.services.stages",
    "app.store.workspace", "app.audit.chain",
])
def test_service_modules_import_without_sklearn_pandas_or_widgets(module):
    loaded = _modules_after_import([module])
    assert loaded == {h: False for h in HEAVY}, f"{module} pulls in {[h for h, v in loaded.items() if v]}"


def test_cli_imports_without_sklearn_pandas_or_widgets():
    if not ((APP / "cli.py").exists() or (APP / "cli" / "__init__.py").exists()):
        pytest.skip("app/cli is not written yet")
    loaded = _modules_after_import(["app.cli"])
    assert loaded == {h: False for h in HEAVY}, f"app.cli pulls in {[h for h, v in loaded.items() if v]}"


def test_steward_help_imports_nothing_heavy():
    """`steward --help` runs main(); it must not load the ML stack or Qt widgets on its way."""
    if not ((APP / "cli.py").exists() or (APP / "cli" / "__init__.py").exists()):
        pytest.skip("app/cli is not written yet")
    code = (
        "import json, sys\n"
        "from app.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps({{h: any(k == h or k.startswith(h + '.') for k in sys.modules) for h in {HEAVY!r}}}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "usage" in done.stdout.lower()
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {h: False for h in HEAVY}
