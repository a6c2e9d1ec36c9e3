"""The layering as an executable contract (`make lint` and `make test` run this file).

- Every module under desktop/ imports with Qt blocked (a probe in a fresh interpreter).
- Every package folder has an __init__.py: grimp and import-linter skip a folder without one.
- The import contracts of pyproject.toml ([tool.importlinter]) hold, checked by `lint-imports`
  exactly as `make lint` runs it: the core imports no ui, server or Qt; the core's layers import
  only downwards; ui reaches the data through the services, never the ORM or the storage layer;
  the server never imports ui.
- No import circle between modules (grimp's graph: imports inside functions count too).
- The core names no ui, server or Qt module in importlib.import_module("...") either.
- Each of these checks fails when a violation is planted in a temporary copy of the tree, and
  passes on the same copy without it, so none of them can pass by checking nothing."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("desktop", "ui", "server")
QT = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "qt_material")
# alembic loads its revision scripts by path: a folder of scripts, not a package
NOT_PACKAGES = {"desktop/models/migrations/versions", "server/migrations/versions"}

PROBE = r"""
import importlib, json, pkgutil, sys

class BlockQt:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"PySide6", "PyQt5", "PyQt6", "shiboken6", "qt_material"}:
            raise ImportError("Qt is not allowed in desktop/: " + name)
        return None

sys.meta_path.insert(0, BlockQt())
import desktop
names = [m.name for m in pkgutil.walk_packages(desktop.__path__, "desktop.")
         if ".migrations" not in m.name]
for name in names:
    importlib.import_module(name)
print(json.dumps(names))
"""

# The module graph of a tree, from a fresh interpreter whose sys.path starts with that tree:
# {importer: {imported: [line numbers]}}, first-party modules only.
GRAPH = r"""
import json, sys
import grimp

graph = grimp.build_graph(*sys.argv[1:], cache_dir=None)
print(json.dumps({
    m: {i: sorted({d["line_number"] for d in graph.get_import_details(importer=m, imported=i)})
        for i in graph.find_modules_directly_imported_by(m)}
    for m in graph.modules
}))
"""

Graph = dict[str, dict[str, list[int]]]


def _env(root: Path) -> dict[str, str]:
    # the tree's own packages, never the ones the venv's editable install points at
    return {**os.environ, "PYTHONPATH": str(root)}


def lint_imports(root: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    """`lint-imports` as `make lint` runs it: the tree's pyproject.toml, from the tree's folder."""
    exe = Path(sys.executable).with_name("lint-imports")
    cmd = [str(exe) if exe.exists() else "lint-imports", "--no-cache", "--no-logo"]
    for contract in contracts:
        cmd += ["--contract", contract]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=root, env=_env(root), timeout=120)


def broken_part(done: subprocess.CompletedProcess[str]) -> str:
    out = done.stdout
    return (out[out.index("Broken contracts"):] if "Broken contracts" in out else out) + done.stderr


def contract_ids(root: Path) -> list[str]:
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    return [c["id"] for c in config["tool"]["importlinter"]["contracts"]]


def import_graph(root: Path) -> Graph:
    done = subprocess.run([sys.executable, "-c", GRAPH, *SOURCES], capture_output=True, text=True,
                          cwd=root, env=_env(root), timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def import_cycles(graph: Graph) -> list[list[str]]:
    """Every import circle: the strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(root: str) -> None:
        work = [(root, iter(sorted(graph.get(root, {}))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, {})))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(cycles)


def describe_cycles(graph: Graph, cycles: list[list[str]]) -> str:
    lines = []
    for cycle in cycles:
        lines.append(f"circle of {len(cycle)} modules:")
        members = set(cycle)
        for importer in cycle:
            for imported, numbers in sorted(graph[importer].items()):
                if imported in members:
                    where = ", ".join(f"l.{n}" for n in numbers)
                    lines.append(f"    {importer} -> {imported} ({where})")
    return "\n".join(lines)


def packages_without_init(root: Path) -> list[str]:
    missing = []
    for top in SOURCES:
        for folder in sorted([root / top, *(p for p in (root / top).rglob("*") if p.is_dir())]):
            rel = folder.relative_to(root).as_posix()
            if "__pycache__" in folder.parts or rel in NOT_PACKAGES:
                continue
            if any(folder.glob("*.py")) and not (folder / "__init__.py").exists():
                missing.append(rel)
    return missing


def dynamic_imports(root: Path, package: str, forbidden: set[str]) -> list[str]:
    """importlib.import_module("x.y") / __import__("x") of a forbidden package: invisible to grimp."""
    found = []
    for path in sorted((root / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            target = node.args[0].value
            if name in {"import_module", "__import__"} and target.split(".")[0] in forbidden:
                found.append(f"{path.relative_to(root).as_posix()}:{node.lineno}: {name}({target!r})")
    return found


CORE_FORBIDDEN = {"ui", "server", *QT}


# --- the real tree ---------------------------------------------------------------------------


def test_core_imports_without_qt():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT,
                          env=_env(ROOT), timeout=120)
    assert done.returncode == 0, done.stderr
    names = json.loads(done.stdout)
    assert len(names) > 20
    for package in ("desktop.services", "desktop.db", "desktop.models", "desktop.exchange",
                    "desktop.printing", "desktop.sync", "desktop.validation"):
        assert any(n.startswith(package + ".") for n in names), f"the probe did not reach {package}"


def test_no_qt_import_statement_in_core():
    offenders = []
    for path in (ROOT / "desktop").rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith(("import PySide", "from PySide", "import qt_material", "from qt_material")):
                offenders.append(f"{path.relative_to(ROOT)}: {stripped}")
    assert offenders == []


def test_every_package_has_an_init():
    missing = packages_without_init(ROOT)
    if missing:
        pytest.fail(f"grimp and import-linter do not read a folder without an __init__.py: {missing}")


@pytest.mark.parametrize("contract", contract_ids(ROOT))
def test_import_contract(contract):
    done = lint_imports(ROOT, contract)
    if done.returncode != 0:
        pytest.fail(f"`lint-imports --contract {contract}` fails:\n{broken_part(done)}", pytrace=False)


def test_no_import_cycles():
    graph = import_graph(ROOT)
    cycles = import_cycles(graph)
    if cycles:
        pytest.fail(f"{len(cycles)} import circle(s); move what both sides share down into a module "
                    "both import:\n" + describe_cycles(graph, cycles), pytrace=False)


def test_core_imports_no_ui_server_or_qt_by_name():
    found = dynamic_imports(ROOT, "desktop", CORE_FORBIDDEN)
    if found:
        pytest.fail("the core imports by name what it may not import (lint-imports cannot see "
                    "these):\n" + "\n".join(found), pytrace=False)


# --- each check fails on a planted violation -------------------------------------------------

def copy_tree(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for top in SOURCES:
        shutil.copytree(ROOT / top, target / top, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def plant(root: Path, files: dict[str, str]) -> None:
    """Append each text to its module (a new module when there is none)."""
    for rel, text in files.items():
        path = root / rel
        if path.exists():
            path.write_text(path.read_text(encoding="utf-8") + "\n" + text + "\n", encoding="utf-8")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text + "\n", encoding="utf-8")


class Checks:
    """What `make lint` checks, on one tree."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def contract(self, contract: str) -> tuple[bool, str]:
        done = lint_imports(self.root, contract)
        return done.returncode == 0, broken_part(done)

    def cycles(self) -> tuple[bool, str]:
        graph = import_graph(self.root)
        cycles = import_cycles(graph)
        return not cycles, describe_cycles(graph, cycles)

    def packages(self) -> tuple[bool, str]:
        missing = packages_without_init(self.root)
        return not missing, "\n".join(missing)

    def dynamic(self) -> tuple[bool, str]:
        found = dynamic_imports(self.root, "desktop", CORE_FORBIDDEN)
        return not found, "\n".join(found)

    def run(self, check: str) -> tuple[bool, str]:
        if check.startswith("contract:"):
            return self.contract(check.removeprefix("contract:"))
        return getattr(self, check)()


@pytest.fixture(scope="module")
def unplanted(tmp_path_factory: pytest.TempPathFactory) -> Checks:
    return Checks(copy_tree(tmp_path_factory.mktemp("unplanted")))


def test_the_unplanted_copy_passes_every_check(unplanted):
    done = lint_imports(unplanted.root)
    assert done.returncode == 0, broken_part(done)
    for check in ("cycles", "packages", "dynamic"):
        ok, report = unplanted.run(check)
        assert ok, f"{check}:\n{report}"


PLANTS = {
    "core imports ui": (
        {"desktop/services/stats.py": "from ui import app"},
        "contract:core-no-ui", "desktop.services.stats -> ui.app"),
    "core imports Qt": (
        {"desktop/exchange/cells.py": "import PySide6"},
        "contract:core-no-ui", "desktop.exchange.cells -> PySide6"),
    "core imports qt_material inside a function": (
        {"desktop/printing/fonts.py": "def _theme():\n    import qt_material\n    return qt_material"},
        "contract:core-no-ui", "desktop.printing.fonts -> qt_material"),
    "core imports server": (
        {"desktop/sync/summary.py": "from server import app"},
        "contract:core-no-ui", "desktop.sync.summary -> server.app"),
    "core imports server by name": (
        {"desktop/sync/summary.py": "import importlib\n\nSERVER = importlib.import_module('server.cli')"},
        "dynamic", "desktop/sync/summary.py"),
    "ui imports the ORM": (
        {"ui/pages/home.py": "from desktop.models import Person"},
        "contract:ui-through-services", "ui.pages.home -> desktop.models"),
    "ui imports sqlalchemy": (
        {"ui/widgets/charts.py": "import sqlalchemy"},
        "contract:ui-through-services", "ui.widgets.charts -> sqlalchemy"),
    "ui imports the storage layer": (
        {"ui/pages/audit.py": "from desktop.db import engine"},
        "contract:ui-through-services", "ui.pages.audit -> desktop.db.engine"),
    "server imports ui": (
        {"server/store.py": "import ui.theme"},
        "contract:server-no-ui", "server.store -> ui.theme"),
    "storage imports a service": (
        {"desktop/db/functions.py": "from desktop.services import stats"},
        "contract:core-layers", "desktop.db.functions -> desktop.services.stats"),
    "validation imports the models": (
        {"desktop/validation/masking.py": "import desktop.models"},
        "contract:core-layers", "desktop.validation.masking -> desktop.models"),
    "a service imports the CLI": (
        {"desktop/services/areas.py": "from desktop import cli"},
        "contract:core-layers", "desktop.services.areas -> desktop.cli"),
    "printing imports sync (siblings)": (
        {"desktop/printing/text.py": "from desktop.sync import summary"},
        "contract:core-layers", "desktop.printing.text -> desktop.sync.summary"),
    "the kinds registry imports a service": (
        {"desktop/kinds.py": "from desktop.services import errors"},
        "contract:core-layers", "desktop.kinds -> desktop.services.errors"),
    "the permission policy imports sync": (
        {"desktop/policy.py": "from desktop.sync import summary"},
        "contract:core-layers", "desktop.policy -> desktop.sync.summary"),
    "a circle between two new core modules": (
        {"desktop/services/planted_a.py": "from desktop.services import planted_b",
         "desktop/services/planted_b.py": "def f():\n    from desktop.services import planted_a\n"
                                          "    return planted_a"},
        "cycles", "desktop.services.planted_b -> desktop.services.planted_a"),
    "a package without __init__.py": (
        {"desktop/services/extra/leak.py": "from ui import app"},
        "packages", "desktop/services/extra"),
}


@pytest.mark.parametrize("name", list(PLANTS))
def test_a_planted_violation_fails_the_check(name, unplanted, tmp_path):
    files, check, expected = PLANTS[name]
    ok, report = unplanted.run(check)
    assert ok, f"{check} fails without the plant:\n{report}"
    planted = Checks(copy_tree(tmp_path / "planted"))
    plant(planted.root, files)
    ok, report = planted.run(check)
    assert not ok, f"{check} passes with {files}"
    assert expected in report, f"{check} fails, but does not name {expected!r}:\n{report}"


def test_the_optional_layers_sit_between_the_models_and_the_services(tmp_path):
    """desktop.kinds and desktop.policy (being written) may use the models and the storage, and be
    used by the services; the contract accepts them present or absent."""
    checks = Checks(copy_tree(tmp_path / "copy"))
    plant(checks.root, {
        "desktop/kinds.py": "from desktop.models import Person\nfrom desktop.db import engine",
        "desktop/policy.py": "from desktop import kinds",
        "desktop/services/stats.py": "from desktop import kinds, policy",
        "desktop/exchange/cells.py": "from desktop import policy",
    })
    ok, report = checks.contract("core-layers")
    assert ok, report
