"""The bundle's recipe, checked fast: data files, frozen entry points, the .desktop file (the build itself is `make package`)."""

from __future__ import annotations

import ast
import configparser
import importlib.util
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_packaging_{name}", PACKAGING / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bf = _load("bundle_files")


def _tree(folder: Path) -> set[str]:
    """Every file under `folder`, as a bundle-relative path, bytecode caches aside."""
    return {p.relative_to(ROOT).as_posix() for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def test_every_migration_is_a_real_file_where_alembic_looks():
    from app.store.migrate import alembic_config

    # Frozen, `__file__` of app.store.migrate is <bundle>/_internal/app/store/migrate.pyc: the bundle
    # must hold the migrations at the same relative place as the source tree.
    location = Path(alembic_config().get_main_option("script_location")).resolve().relative_to(ROOT)
    files = _tree(ROOT / location)
    assert {f"{location.as_posix()}/env.py", f"{location.as_posix()}/script.py.mako"} <= files
    assert any(f.startswith(f"{location.as_posix()}/versions/") for f in files)
    assert files <= bf.collected_files()


def test_report_schema_is_where_verify_reads_it():
    from app.services.reports import schema_path

    wanted = schema_path().resolve().relative_to(ROOT).as_posix()
    assert wanted in bf.collected_files()
    assert {p.relative_to(ROOT).as_posix() for p in (ROOT / "app" / "reports").glob("*.json")} <= bf.collected_files()


def test_resources_are_bundled_except_the_documented_skips():
    from app.ui.resources import resources_dir

    assert resources_dir().resolve() == ROOT / "resources"  # frozen: <_MEIPASS>/resources, same relative place
    skipped = {f for f in _tree(ROOT / "resources") if f.split("/")[1] in bf.RESOURCE_SKIPS}
    assert _tree(ROOT / "resources") - skipped <= bf.collected_files()
    assert {"resources/styles/light.qss", "resources/styles/dark.qss", "resources/icons/app.svg",
            "resources/samples/customer-churn-batch.csv"} <= bf.collected_files()
    for folder in bf.RESOURCE_SKIPS:  # a skip that no longer exists is a stale reason
        assert (ROOT / "resources" / folder).is_dir()


def test_data_destinations_mirror_the_source_tree():
    for src, dest in bf.data_files():
        assert Path(src).parent.relative_to(ROOT).as_posix() == dest


def test_sample_batch_has_the_demo_churn_features():
    import pandas as pd

    from app.services.demo import _churn_frame

    sample = pd.read_csv(ROOT / "resources" / "samples" / "customer-churn-batch.csv")
    features = set(_churn_frame(0, n=5).columns) - {"churned"}
    assert features <= set(sample.columns)
    assert len(sample) == 500  # packaging/smoke.sh expects 500 predictions


def test_spec_takes_its_lists_from_bundle_files():
    text = (PACKAGING / "model-steward.spec").read_text(encoding="utf-8")
    compile(text, "model-steward.spec", "exec")
    for needle in ("import bundle_files as bf", "bf.data_files()", "bf.HIDDEN_IMPORTS", "bf.COLLECT_SUBMODULES",
                   "bf.EXCLUDES", "exclude_binaries=True", "COLLECT(", "bf.GUI_NAME", "bf.SHARE_FILES"):
        assert needle in text, needle
    for name in bf.SHARE_FILES:
        assert (ROOT / name).is_file(), name


def _importable(name: str) -> bool:
    if name in sys.modules:  # already imported (find_spec refuses a loaded module whose __spec__ is None)
        return True
    return importlib.util.find_spec(name) is not None


def test_hidden_imports_exist_and_the_app_imports_nothing_excluded():
    missing = [m for m in bf.HIDDEN_IMPORTS if not _importable(m)]
    assert not missing
    excluded = set(bf.EXCLUDES)
    for path in (ROOT / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                parts = name.split(".")
                hit = {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & excluded
                assert not hit, f"{path.relative_to(ROOT)} imports {name}, which the bundle excludes"


def _first_call(path: Path, function: str) -> str:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    fn = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function)
    body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    body = [s for s in body if not isinstance(s, (ast.Import, ast.ImportFrom))]
    return ast.unparse(body[0])


@pytest.mark.parametrize("path, function", [
    ("packaging/launcher.py", "main"), ("app/cli/__init__.py", "main"), ("app/ui/main.py", "main"),
    ("app/ui/main.py", "run_gui"),
])
def test_entry_points_call_freeze_support_first(path, function):
    # A frozen worker is the same executable re-run with multiprocessing's arguments: anything
    # before freeze_support() (argument parsing above all) would run, and fail, in every worker.
    assert _first_call(ROOT / path, function) == "multiprocessing.freeze_support()"


def test_launcher_opens_the_window_under_the_gui_name():
    text = (PACKAGING / "launcher.py").read_text(encoding="utf-8")
    assert f'startswith("{bf.GUI_NAME}")' in text


DESKTOP_KEYS = {"Type", "Version", "Name", "GenericName", "Comment", "Exec", "TryExec", "Icon", "Terminal",
                "Categories", "Keywords", "MimeType", "StartupNotify", "StartupWMClass"}


def test_desktop_file_is_valid():
    path = PACKAGING / "model-steward.desktop"
    validator = shutil.which("desktop-file-validate")
    if validator:
        result = subprocess.run([validator, str(path)], capture_output=True, text=True)
        assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"))
    assert parser.sections() == ["Desktop Entry"]
    entry = parser["Desktop Entry"]
    assert set(entry) <= DESKTOP_KEYS, set(entry) - DESKTOP_KEYS
    assert entry["Type"] == "Application" and entry["Name"] == "Model Steward"
    assert entry["Exec"].split()[0] == bf.GUI_NAME and entry["Icon"] == bf.APP_NAME
    assert entry["Terminal"] in ("true", "false")
    for key in ("Categories", "Keywords"):
        assert entry[key].endswith(";")
    categories = entry["Categories"].rstrip(";").split(";")
    assert categories[0] == "Science" and "Development" not in categories  # one main category: listed once in menus


def test_icons_match_the_app_icon():
    assert (PACKAGING / "model-steward.svg").read_bytes() == (ROOT / "resources" / "icons" / "app.svg").read_bytes()
    head = (PACKAGING / "model-steward.png").read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", head[16:24]) == (256, 256)


def test_scripts_are_executable_shell():
    for name in ("smoke.sh", "install.sh"):
        path = PACKAGING / name
        assert os.access(path, os.X_OK), name
        result = subprocess.run(["sh" if name == "install.sh" else "bash", "-n", str(path)], capture_output=True,
                                text=True)
        assert result.returncode == 0, result.stderr


def test_gui_quit_after_paint_reports_the_first_paint(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "STEWARD_HOME": str(tmp_path / "ws"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    result = subprocess.run([sys.executable, "-m", "app", "gui", "--quit-after-paint"], capture_output=True,
                            text=True, env=env, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "first paint after" in result.stdout


def test_prune_leaves_out_only_what_dropped_files_alone_needed():
    deps = {"/s/qvnc.so": {"libQt6Network.so.6", "libQt6Gui.so.6"}, "/s/net.so": {"libgssapi.so.2"},
            "/s/gui.so": {"libQt6Core.so.6"}, "/s/core.so": set(), "/s/gss.so": set(), "/s/ext.so": {"libQt6Gui.so.6"},
            "/s/ctypes.so": set()}
    binaries = [("PySide6/Qt/plugins/platforms/libqvnc.so", "/s/qvnc.so", "BINARY"),
                ("PySide6/Qt/lib/libQt6Network.so.6", "/s/net.so", "BINARY"),
                ("PySide6/Qt/lib/libQt6Gui.so.6", "/s/gui.so", "BINARY"),
                ("PySide6/Qt/lib/libQt6Core.so.6", "/s/core.so", "BINARY"),
                ("libgssapi.so.2", "/s/gss.so", "BINARY"),
                ("PySide6/QtGui.abi3.so", "/s/ext.so", "EXTENSION"),
                ("libloadedbyctypes.so", "/s/ctypes.so", "BINARY")]
    datas = [("libQt6Network.so.6", "PySide6/Qt/lib/libQt6Network.so.6", "SYMLINK"),
             ("libQt6Gui.so.6", "PySide6/Qt/lib/libQt6Gui.so.6", "SYMLINK"),
             ("pyarrow/table.pxi", "/s/table.pxi", "DATA"), ("app/reports/report.schema.json", "/s/x.json", "DATA")]
    kept, kept_datas = bf.prune(binaries, datas, lambda source: deps[source])
    assert [e[0] for e in kept] == ["PySide6/Qt/lib/libQt6Gui.so.6", "PySide6/Qt/lib/libQt6Core.so.6",
                                    "PySide6/QtGui.abi3.so", "libloadedbyctypes.so"]
    assert [e[0] for e in kept_datas] == ["libQt6Gui.so.6", "app/reports/report.schema.json"]
    assert not any(bf.dropped(path) for path in bf.collected_files())  # our own data is never dropped


def test_install_script_installs_and_uninstalls_a_bundle(tmp_path):
    bundle = tmp_path / "unpacked" / "model steward"  # a space, as in a user's folder name
    bundle.mkdir(parents=True)
    for name in bf.SHARE_FILES:
        shutil.copy2(ROOT / name, bundle / Path(name).name)
    (bundle / "steward").write_text("#!/bin/sh\necho \"$(basename \"$0\") $*\"\n", encoding="utf-8")
    (bundle / "steward").chmod(0o755)
    (bundle / bf.GUI_NAME).symlink_to("steward")
    prefix, data = tmp_path / "prefix", tmp_path / "share"
    env = {**os.environ, "XDG_DATA_HOME": str(data), "HOME": str(tmp_path)}
    run = [str(bundle / "install.sh"), "--prefix", str(prefix)]
    result = subprocess.run(run, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    dest = prefix / "opt" / "model-steward"
    assert (dest / bf.GUI_NAME).is_symlink() and os.readlink(dest / bf.GUI_NAME) == "steward"
    assert subprocess.run([str(prefix / "bin" / bf.GUI_NAME), "--x"], capture_output=True, text=True,
                          env=env).stdout.strip() == f"{bf.GUI_NAME} --x"  # the name survives both links
    desktop = data / "applications" / "model-steward.desktop"
    assert f'Exec="{dest}/{bf.GUI_NAME}" %F' in desktop.read_text(encoding="utf-8")
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / "model-steward.svg").is_file()
    validator = shutil.which("desktop-file-validate")
    if validator:
        checked = subprocess.run([validator, str(desktop)], capture_output=True, text=True)
        assert checked.returncode == 0 and not checked.stdout.strip(), checked.stdout
    result = subprocess.run([*run, "--uninstall"], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert not dest.exists() and not desktop.exists() and not (prefix / "bin" / "steward").exists()
