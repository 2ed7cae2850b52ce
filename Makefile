# Model Steward: `make run` opens the app, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test screenshots bench demo clean package package-smoke

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/steward gui

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

screenshots: $(STAMP)
	xvfb-run -a -s "-screen 0 1600x1000x24" $(BIN)/python -m app.ui.screenshots --out resources/screenshots

bench: $(STAMP)
	$(BIN)/python benchmarks/registry_bench.py
	$(BIN)/python benchmarks/drift_bench.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/gui_stall_bench.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/gui_jobs_bench.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/scale_bench.py

# The one-folder bundle dist/model-steward/ (Linux, this machine's architecture); takes minutes, so
# it is not part of `make test`. `make package-smoke` runs the built bundle offscreen.
$(VENV)/.installed-package: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[package]'
	@touch $@

package: $(VENV)/.installed-package
	$(BIN)/pyinstaller --noconfirm --clean --log-level WARN \
		--distpath dist --workpath build/pyinstaller packaging/model-steward.spec
	@du -sh dist/model-steward

package-smoke:
	packaging/smoke.sh dist/model-steward

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
