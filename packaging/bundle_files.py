"""What goes into the one-folder bundle besides code: data files, hidden imports, exclusions.

Shared by packaging/model-steward.spec (PyInstaller) and tests/test_packaging.py, so that a new
migration, resource or schema that the build would miss fails a fast test instead of a frozen run.
Plain Python only: importing this module must not need PyInstaller.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

__all__ = [
    "ROOT", "APP_NAME", "CLI_NAME", "GUI_NAME", "RESOURCE_SKIPS", "data_files", "collected_files",
    "COLLECT_SUBMODULES", "HIDDEN_IMPORTS", "EXCLUDES", "keep_module", "SHARE_FILES", "DROP_PREFIXES",
    "DROP_SUFFIXES", "dropped", "prune",
]

ROOT = Path(__file__).resolve().parents[1]
APP_NAME = "model-steward"  # dist/<APP_NAME>/ and the .desktop/icon names
CLI_NAME = "steward"  # the one executable in the bundle
GUI_NAME = "steward-gui"  # a symlink to it; the launcher opens the window when started under this name

# Folders under resources/ left out on purpose, with the reason (the test accepts only these).
RESOURCE_SKIPS = {
    "screenshots": "README images; nothing in the app reads them",
}

# Files next to the executables (not inside _internal): what install.sh puts in place.
SHARE_FILES = ("packaging/model-steward.desktop", "packaging/model-steward.svg", "packaging/model-steward.png",
               "packaging/install.sh")


def _files(folder: Path, pattern: str = "**/*") -> list[Path]:
    return sorted(p for p in folder.glob(pattern) if p.is_file() and "__pycache__" not in p.parts
                  and p.suffix not in (".pyc", ".pyo"))


def data_files(root: Path = ROOT) -> list[tuple[str, str]]:
    """(source file, destination folder inside the bundle) for every data file, one pair per file.

    Destinations mirror the source tree, because the code finds these files relative to its own
    modules (`Path(__file__)` is `_internal/app/...` when frozen) or to `sys._MEIPASS` (resources).
    """
    pairs: list[tuple[str, str]] = []

    def add(paths: list[Path]) -> None:
        pairs.extend((str(p), p.parent.relative_to(root).as_posix()) for p in paths)

    # Alembic imports env.py and every revision by file path: they must be real .py files.
    add(_files(root / "app" / "store" / "migrations"))
    add(_files(root / "app" / "reports", "*.json"))  # the report schema `report verify` checks against
    add([p for p in _files(root / "resources")
         if p.relative_to(root / "resources").parts[0] not in RESOURCE_SKIPS])
    return pairs


def collected_files(root: Path = ROOT) -> set[str]:
    """Bundle-relative paths (posix) of every file data_files() puts in."""
    return {f"{dest}/{Path(src).name}" for src, dest in data_files(root)}


# Whole packages whose submodules are collected: a registered model is unpickled by module name,
# so any scikit-learn estimator (and the scipy/numpy pieces it pickles) must be importable, not
# only the ones our own code happens to import.
COLLECT_SUBMODULES = ("app", "sklearn", "alembic", "sqlalchemy.dialects.sqlite", "scipy.special", "scipy.stats",
                      "scipy.sparse", "scipy.spatial", "scipy.optimize", "scipy.linalg", "scipy.interpolate")

# Modules reached only dynamically: Alembic's migration files (loaded by path, so not analysed),
# cryptography's Rust backend, pyarrow's compute kernels, joblib's compressors. (lz4, for
# lz4-compressed joblib files, is optional and not a dependency: bundled when installed at build time.)
HIDDEN_IMPORTS = (
    "alembic.op", "alembic.context", "alembic.runtime.migration", "alembic.runtime.environment",
    "alembic.ddl.sqlite", "alembic.operations.toimpl", "sqlalchemy.sql.default_comparator",
    "sqlalchemy.ext.baked", "cryptography.hazmat.bindings._rust",
    "cryptography.hazmat.primitives.asymmetric.ed25519", "cryptography.hazmat.primitives.serialization",
    "pyarrow.compute", "pyarrow.parquet", "pyarrow.csv", "pyarrow.lib", "pyarrow._compute", "pyarrow._csv",
    "pyarrow._parquet", "pyarrow._fs",
    "pandas._libs.tslibs.base", "joblib.compressor",
    "PySide6.QtSvg",
)

EXCLUDES = (
    "tkinter", "_tkinter", "matplotlib", "IPython", "jupyter", "notebook", "pytest", "_pytest", "pytestqt",
    "importlinter", "grimp", "PyInstaller", "setuptools", "pip", "sphinx", "docutils",
    "PyQt5", "PyQt6", "PySide2",
    # Qt modules the app never uses (pyqtgraph probes for some of them: absent is fine).
    "PySide6.QtWebEngineCore", "PySide6.QtWebEngineWidgets", "PySide6.QtWebEngineQuick", "PySide6.QtWebChannel",
    "PySide6.QtWebSockets", "PySide6.Qt3DCore", "PySide6.Qt3DRender", "PySide6.Qt3DInput", "PySide6.Qt3DLogic",
    "PySide6.Qt3DAnimation", "PySide6.Qt3DExtras", "PySide6.QtQuick", "PySide6.QtQuick3D",
    "PySide6.QtQuickWidgets", "PySide6.QtQuickControls2", "PySide6.QtQml", "PySide6.QtMultimedia",
    "PySide6.QtMultimediaWidgets", "PySide6.QtCharts", "PySide6.QtDataVisualization", "PySide6.QtBluetooth",
    "PySide6.QtNfc", "PySide6.QtPositioning", "PySide6.QtLocation", "PySide6.QtSensors",
    "PySide6.QtSerialPort", "PySide6.QtSql", "PySide6.QtTest", "PySide6.QtDesigner", "PySide6.QtHelp",
    "PySide6.QtNetwork", "PySide6.QtDBus",  # (not QtOpenGL*: pyqtgraph imports them unconditionally)
    "PySide6.QtUiTools", "PySide6.QtXml", "PySide6.QtConcurrent", "PySide6.QtPdf", "PySide6.QtPdfWidgets",
    "PySide6.QtSpatialAudio", "PySide6.QtTextToSpeech", "PySide6.QtHttpServer", "PySide6.QtStateMachine",
    "PySide6.QtScxml", "PySide6.QtRemoteObjects", "PySide6.QtSvgWidgets",
    "pyqtgraph.opengl", "pyqtgraph.examples", "pyqtgraph.jupyter", "OpenGL",
    # pyarrow: we read and write local CSV/Parquet; no Flight RPC, cloud file systems, ORC or GPUs.
    "pyarrow.flight", "pyarrow._flight", "pyarrow._s3fs", "pyarrow._gcsfs", "pyarrow._azurefs", "pyarrow._hdfs",
    "pyarrow.cuda", "pyarrow._cuda", "pyarrow.gandiva", "pyarrow.orc", "pyarrow._orc", "pyarrow._dataset_orc",
    "pyarrow.tests",
)

# Files the hooks collect that nothing loads at run time (bundle-relative path prefixes): pyarrow's
# Flight and S3 libraries (~50 MB, used only by the modules excluded above), C/Cython sources, and
# Qt plugins we do not want: the GTK3 platform theme (it would mix the build machine's cairo/pango
# with the user's GTK; the app draws its own Fusion theme), VNC and TUIO (the only users of QtNetwork).
DROP_PREFIXES = (
    "pyarrow/libarrow_flight.", "pyarrow/libarrow_python_flight.", "pyarrow/libarrow_s3.",
    "pyarrow/include/", "pyarrow/src/", "pyarrow/includes/", "pyarrow/tests/",
    "PySide6/Qt/plugins/platformthemes/libqgtk3.so", "PySide6/Qt/plugins/platforms/libqvnc.so",
    "PySide6/Qt/plugins/generic/libqtuiotouchplugin.so",
)
DROP_SUFFIXES = (".pyx", ".pxd", ".pxi", ".h", ".hpp", ".cc", ".c", ".cpp")


def dropped(dest: str) -> bool:
    """Whether the file the hooks put at bundle path `dest` is left out."""
    dest = dest.replace("\\", "/")
    return dest.startswith(DROP_PREFIXES) or dest.endswith(DROP_SUFFIXES)


def prune(binaries: list, datas: list, imports_of) -> tuple[list, list]:
    """Apply `dropped`, then also leave out the libraries only dropped files linked against.

    Entries are PyInstaller TOC tuples (dest, source, typecode); `imports_of(source)` gives the names
    of the shared libraries a binary links against. A library goes only when something dropped
    needed it and nothing kept does, so libraries loaded by other means (ctypes) are never touched.
    """
    kept = [e for e in binaries if not dropped(e[0])]
    gone = [e for e in binaries if dropped(e[0])]
    needed_by_kept: dict[str, set[str]] = {e[0]: set(imports_of(e[1])) for e in kept}
    while gone:
        wanted = set().union(*needed_by_kept.values())
        orphans = set().union(*(imports_of(e[1]) for e in gone)) - wanted
        gone = [e for e in kept if e[2] == "BINARY" and Path(e[0]).name in orphans]
        kept = [e for e in kept if e not in gone]
        for e in gone:
            needed_by_kept.pop(e[0], None)
    present = {e[0] for e in kept} | {e[0] for e in datas if e[2] != "SYMLINK"}

    def dangling(e) -> bool:  # a symlink (target relative to the link's folder) to a file left out
        return e[2] == "SYMLINK" and posixpath.normpath(posixpath.join(posixpath.dirname(e[0]), e[1])) not in present

    return kept, [e for e in datas if not dropped(e[0]) and not dangling(e)]


_TEST_PARTS = frozenset({"tests", "testing", "_testing", "conftest", "benchmarks"})
# Array-API adapters for frameworks we do not ship; sklearn imports them only when one is in use.
_FOREIGN_ARRAYS = frozenset({"torch", "cupy", "dask", "jax", "sparse"})


def keep_module(name: str) -> bool:
    """Filter for collected submodules: no test suites, no benchmarks, no adapters for absent libraries."""
    parts = set(name.split(".")[1:])
    if parts & _TEST_PARTS:
        return False
    return not (parts & {"array_api_compat", "array_api_extra"} and parts & _FOREIGN_ARRAYS)
