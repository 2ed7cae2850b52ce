"""The real window on a real X server (Xvfb): it opens on the demo workspace and paints every page."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


@pytest.mark.skipif(shutil.which("xvfb-run") is None,
                    reason="xvfb-run is not installed (apt-get install xvfb xauth libxcb-icccm4 libxcb-keysyms1)")
def test_screenshots_of_every_page_in_a_real_x_window(tmp_path, qapp):
    from PySide6.QtGui import QImage

    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env["QT_QPA_PLATFORM"] = "xcb"  # a real X11 connection, not the offscreen plugin
    result = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", sys.executable, "-m", "app.ui.screenshots",
         "--out", str(tmp_path)], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("overview", "models", "monitoring", "audit", "register", "jobs", "retrain"):
        image = QImage(str(tmp_path / f"{name}.png"))
        assert not image.isNull(), name
        assert image.width() >= 600 and image.height() >= 400, name
        # A blank or unpainted window has a handful of colours; a page with text and charts has hundreds.
        colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
        assert len(colours) > 40, f"{name}.png looks unpainted ({len(colours)} colours)"
