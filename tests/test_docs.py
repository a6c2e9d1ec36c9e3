"""The design documents in docs/design/ and every citation of them.

A citation is a path `docs/design/NAME.md` (or a drawing beside it: .svg, .dot) in the code, the
tests, the benchmarks, the scripts, README.md, the Makefile, the installer spec or pyproject.toml.
What follows the path may name a place in it, and that place must be a heading of the document:

    docs/design/SYNC.md, scenario 7     ->  a heading "Scenario 7: …"
    docs/design/STACK.md § Installer    ->  a heading that starts with "Installer"
    docs/design/SYNC.md#merge           ->  a heading whose anchor (GitHub's slug) is "merge"

A bare `SYNC.md` (without docs/design/) outside docs/design/ is a broken citation. Inside
docs/design/, every relative Markdown link must reach an existing file (and heading). Each check
is also shown failing on a planted bad citation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DESIGN = ROOT / "docs" / "design"
SCANNED_DIRS = ("desktop", "ui", "server", "tests", "benchmarks", "scripts")
SCANNED_FILES = ("README.md", "Makefile", "build_installer.spec", "pyproject.toml")
SUFFIXES = {".py", ".md", ".spec", ".toml", ".txt", ".sh", ".cfg", ".ini", ".mako"}
SELF = Path(__file__).resolve()
# The documents a bare name could mean (what the code once cited without a folder).
DESIGN_NAMES = ("SYNC", "STACK", "STORAGE", "SECURITY", "DATA_MODEL", "ARCHITECTURE", "DOMAIN", "STYLE")

CITATION = re.compile(r"docs/design/([\w.-]+?\.(?:md|svg|dot))(?![\w.-]*/)")
BARE = re.compile(r"(?<![\w/.-])(" + "|".join(DESIGN_NAMES) + r")\.md\b")
ANCHOR = re.compile(r"^#([\w\-\u4e00-\u9fff]+)")
SCENARIO = re.compile(r"^(?:'s)?[,:]?\s*(?:§\s*)?[Ss]cenarios?\s+(\d+)")
SECTION = re.compile(r"^(?:'s)?[,:]?\s*§\s*([^\n(),;:.\"'`]+)")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")


@dataclass(frozen=True)
class Problem:
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def headings(doc: Path) -> list[str]:
    out, fenced = [], False
    for line in doc.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (m := HEADING.match(line)):
            out.append(m.group(1))
    return out


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- \u4e00-\u9fff]", "", heading.strip().lower())
    return text.replace(" ", "-")


def check_place(doc: Path, tail: str) -> str | None:
    """None if what follows a citation of `doc` names nothing or names a heading of it."""
    heads = headings(doc)
    if m := ANCHOR.match(tail):
        if m.group(1) not in {slug(h) for h in heads}:
            return f"no heading with the anchor #{m.group(1)} in {doc.name}"
    elif m := SCENARIO.match(tail):
        if not any(re.match(rf"Scenario {m.group(1)}\b", h) for h in heads):
            return f"no heading 'Scenario {m.group(1)}: …' in {doc.name}"
    elif m := SECTION.match(tail):
        want = m.group(1).strip().lower()
        if not any(h.lower().startswith(want) for h in heads):
            return f"no heading starting with '{m.group(1).strip()}' in {doc.name}"
    return None


def check_text(where: str, text: str, *, design: Path = DESIGN, allow_bare: bool = False) -> list[Problem]:
    """Every citation in `text` (the lines of one file, named `where`)."""
    problems = []
    for no, line in enumerate(text.splitlines(), 1):
        here = f"{where}:{no}"
        for m in CITATION.finditer(line):
            target = design / m.group(1)
            if not target.is_file():
                problems.append(Problem(here, f"docs/design/{m.group(1)} does not exist"))
            elif target.suffix == ".md" and (why := check_place(target, line[m.end():])):
                problems.append(Problem(here, why))
        if not allow_bare:
            for m in BARE.finditer(line):
                problems.append(Problem(here, f"bare {m.group(0)}: cite it as docs/design/{m.group(0)}"))
    return problems


def check_links(doc: Path) -> list[Problem]:
    """Every relative Markdown link of a design document reaches a file (and its heading)."""
    problems = []
    for no, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
        for m in LINK.finditer(line):
            href = m.group(1)
            if re.match(r"^[a-z]+:", href):
                continue
            path, _, anchor = href.partition("#")
            target = (doc.parent / path).resolve() if path else doc
            where = f"{doc.relative_to(ROOT) if doc.is_relative_to(ROOT) else doc}:{no}"
            if not target.exists():
                problems.append(Problem(where, f"link to {href}: no such file"))
            elif anchor and target.suffix == ".md" and anchor not in {slug(h) for h in headings(target)}:
                problems.append(Problem(where, f"link to {href}: no such heading"))
    return problems


def scanned_files() -> list[Path]:
    files = [ROOT / name for name in SCANNED_FILES]
    for top in SCANNED_DIRS:
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and path.suffix in SUFFIXES and path.resolve() != SELF and "/out/" not in path.as_posix():
                files.append(path)
    return files


# --- the documents themselves ------------------------------------------------------------------

DOCUMENTS = ("README.md", "SYNC.md", "STORAGE.md", "SECURITY.md", "DATA_MODEL.md", "STACK.md", "ARCHITECTURE.md")


def test_design_documents_exist_and_the_index_links_each():
    index = (DESIGN / "README.md").read_text(encoding="utf-8")
    for name in DOCUMENTS:
        assert (DESIGN / name).is_file(), name
        if name != "README.md":
            assert f"]({name})" in index, f"docs/design/README.md does not link {name}"
    for drawing in ("data-model.svg", "data-model.dot", "module-graph.svg"):
        assert (DESIGN / drawing).is_file(), drawing


def test_every_scenario_is_a_heading_of_its_own():
    heads = headings(DESIGN / "SYNC.md")
    numbers = [int(m.group(1)) for h in heads if (m := re.match(r"Scenario (\d+):", h))]
    assert numbers == list(range(1, 13))


# --- citations and links -----------------------------------------------------------------------

def test_every_citation_in_the_project_resolves():
    problems = []
    for path in scanned_files():
        problems += check_text(path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8"))
    assert not problems, "\n".join(map(str, problems))


def test_the_citations_are_found_at_all():
    """The walker sees the project's citations (a regex that matches nothing passes every file)."""
    cited = set()
    for path in scanned_files():
        for line in path.read_text(encoding="utf-8").splitlines():
            for m in CITATION.finditer(line):
                tail = line[m.end():]
                cited.add((m.group(1), bool(SCENARIO.match(tail)), bool(SECTION.match(tail))))
    assert ("SYNC.md", True, False) in cited
    assert ("STACK.md", False, True) in cited
    assert {name for name, _, _ in cited} >= {"SYNC.md", "STACK.md", "module-graph.svg"}


def test_relative_links_in_the_design_documents_resolve():
    problems = []
    for doc in sorted(DESIGN.glob("*.md")):
        problems += check_links(doc)
        problems += check_text(doc.relative_to(ROOT).as_posix(), doc.read_text(encoding="utf-8"), allow_bare=True)
    assert not problems, "\n".join(map(str, problems))


def test_nothing_cites_the_background_material_outside_the_repository():
    for path in [*scanned_files(), *DESIGN.glob("*.md")]:
        text = path.read_text(encoding="utf-8")
        assert "../shared" not in text and "/work/shared" not in text, path


# --- the checks fail on planted mistakes -------------------------------------------------------

def test_a_planted_bad_citation_is_reported():
    design = "docs/" + "design/"
    planted = "\n".join([
        f"ok: {design}SYNC.md, scenario 7",
        f"bad scenario: {design}SYNC.md, scenario 42",
        f"bad section: {design}STACK.md § No such section",
        f"bad anchor: {design}SECURITY.md#no-such-heading",
        f"bad file: {design}NOPE.md",
        "bare: see " + "SYNC" + ".md",
    ])
    problems = check_text("planted.py", planted)
    assert [p.where for p in problems] == [f"planted.py:{n}" for n in (2, 3, 4, 5, 6)]
    assert "Scenario 42" in str(problems[0]) and "No such section" in str(problems[1])
    assert "#no-such-heading" in str(problems[2]) and "NOPE.md" in str(problems[3])
    assert "bare" in str(problems[4])


def test_a_planted_broken_link_is_reported(tmp_path):
    (tmp_path / "A.md").write_text("# A\n\n## Keys and keyring\n", encoding="utf-8")
    doc = tmp_path / "B.md"
    doc.write_text(
        "# B\n[fine](A.md#keys-and-keyring) [self](#b) [web](https://example.org/x)\n"
        "[gone](MISSING.md) [no heading](A.md#nothing-here)\n",
        encoding="utf-8",
    )
    problems = check_links(doc)
    assert [p.what for p in problems] == ["link to MISSING.md: no such file",
                                          "link to A.md#nothing-here: no such heading"]
