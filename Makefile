# GridLedger: `make run` opens the app on a demo community, `make test` runs every test.
# Both set themselves up on a fresh Debian 12 machine (Debian packages as root, then .venv).

SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DB ?= $(CURDIR)/demo/gridledger-demo.db
DEMO_HOUSEHOLDS ?= 2000

# Debian packages the app and the tests use (see docs/design/STACK.md § Debian packages): Qt offscreen, a Chinese font,
# poppler for PDF checks. Listed once; `make deps` installs the missing ones as root.
DEB_PACKAGES := python3-venv libglib2.0-0 libegl1 libgl1 libdbus-1-3 libxkbcommon0 \
	libfontconfig1 libfreetype6 fonts-wqy-microhei poppler-utils poppler-data postgresql

# A real window on an X server needs Qt's xcb plugin and its libraries (docs/design/STACK.md § Debian packages).
GUI_DEB_PACKAGES := libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 \
	libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-sync1 libxcb-util1 libxcb-xfixes0 \
	libxcb-xkb1 libxkbcommon-x11-0

.PHONY: run test bench load lint graph data-model deps deps-gui venv clean demo screenshots

deps:
	@scripts/ensure-debs.sh $(DEB_PACKAGES)

deps-gui: deps
	@scripts/ensure-debs.sh $(GUI_DEB_PACKAGES)

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# an older venv may hold sqlcipher3-binary, which installs the same module as sqlcipher3-wheels
	@$(BIN)/python -m pip uninstall --quiet --yes sqlcipher3-binary 2>/dev/null || true
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

venv: $(VENV)/.installed

demo: venv
	@mkdir -p $(dir $(DEMO_DB))
	@test -f $(DEMO_DB) || $(BIN)/gridledger --db $(DEMO_DB) demo --households $(DEMO_HOUSEHOLDS) --encrypt

run: deps-gui venv demo
	$(BIN)/gridledger --db $(DEMO_DB)

test: deps venv
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

BENCH_DB ?= benchmarks/out/bench.db

bench: deps venv
	@mkdir -p benchmarks/out && rm -f $(BENCH_DB) $(BENCH_DB)-wal $(BENCH_DB)-shm
	$(BIN)/python benchmarks/run.py --keep $(BENCH_DB) $(BENCH_ARGS)
	$(BIN)/python benchmarks/gui_bench.py --db $(BENCH_DB)
	$(BIN)/python benchmarks/print_bench.py --db $(BENCH_DB)
	$(BIN)/python benchmarks/excel_bench.py --db $(BENCH_DB)
	$(BIN)/python benchmarks/sync_bench.py --db $(BENCH_DB)
	$(BIN)/python benchmarks/plan_bench.py --db $(BENCH_DB)
	$(BIN)/python benchmarks/quality_bench.py --db $(BENCH_DB)
	$(BIN)/python benchmarks/crypto_bench.py
	$(BIN)/python benchmarks/map_bench.py

# A district's load (not part of `make test`): 300 simulated laptops in 150 grids against two server
# processes on one throwaway PostgreSQL, loopback only; figures into benchmarks/RESULTS.md.
load: deps venv
	$(BIN)/python benchmarks/load_test.py $(LOAD_ARGS)

screenshots: deps venv
	$(BIN)/python scripts/screenshots.py

# The layering is a contract: ruff, then mypy ([tool.mypy] in pyproject.toml; tests/test_types.py
# runs it in `make test` too), then import-linter on the contracts of pyproject.toml
# ([tool.importlinter]), then tests/test_architecture.py (the same contracts, import circles, and
# each check failing on a planted violation).
lint: venv
	$(BIN)/ruff check desktop ui server tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/python -m pytest -q tests/test_architecture.py

# The module graph from the real imports, in its layers (an upward arrow is red):
# docs/design/module-graph.svg and its graphviz source module-graph.dot.
graph: venv data-model
	@scripts/ensure-debs.sh graphviz
	$(BIN)/python scripts/module_graph.py docs/design/module-graph

# The data model from desktop.models.Base.metadata (tables, keys, foreign keys, grouped by kind):
# docs/design/data-model.svg and its graphviz source data-model.dot (docs/design/DATA_MODEL.md).
data-model: venv
	@scripts/ensure-debs.sh graphviz
	$(BIN)/python scripts/data_model.py docs/design/data-model

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache build dist *.egg-info demo

# One-folder bundle from build_installer.spec into dist/gridledger/ (PyInstaller is installed into
# the venv on first use). Target Linux machines need libgl1 libegl1 (docs/design/STACK.md § Installer).
.PHONY: installer
installer: deps venv
	@$(BIN)/python -c 'import PyInstaller' 2>/dev/null || $(BIN)/python -m pip install --quiet 'pyinstaller>=6.0'
	$(BIN)/python -m PyInstaller --noconfirm build_installer.spec
