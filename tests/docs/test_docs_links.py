"""Docs that cannot drift, part two: every link and every repository path the docs name exists."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
CODE_PATH = re.compile(
    r"`((?:functions|infra|tests|bench|events|examples|openapi|spec|scripts|requirements|docs)/[^`\s]*)`"
)
# A module named from inside the package (`operators/camara.py`, `kyc_match/observability.py`), as prose
# about the code names it: resolved under functions/kyc_match/ (or functions/ for kyc_match*/).
PACKAGE_PATH = re.compile(
    r"`((?:api|domain|operators|audit|policies|clients|jobs|matching|kyc_match|kyc_match_tools)/[^`\s]*)`"
)
README_MAX_LINES = 200
# docs/development.md's walk-through: the stages of a request, in order, each with the file that does it.
WALK_THROUGH = "## A request's path"
WALK_STAGES = (
    ("Handler", "functions/kyc_match/handler.py"),
    ("API", "functions/kyc_match/api/app.py"),
    ("Use case", "functions/kyc_match/domain/use_cases.py"),
    ("Operator", "functions/kyc_match/operators/routing.py"),
    ("Audit", "functions/kyc_match/audit/trail.py"),
    ("Answer", "functions/kyc_match/catalogue.py"),
)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
    return {_slug(match) for match in re.findall(r"^#+ (.+)$", text, re.MULTILINE)}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_relative_links_reach_a_file_and_heading(page: Path) -> None:
    broken = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target):
            continue  # an external address: not checked (no network in tests)
        path_part, _, anchor = target.partition("#")
        path = (page.parent / path_part).resolve() if path_part else page
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(f"{target}: no heading #{anchor} in {path.name}")
    assert not broken, f"{page.name}: broken links: {broken}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_named_repository_paths_exist(page: Path) -> None:
    missing = [
        name
        for name in CODE_PATH.findall(page.read_text(encoding="utf-8"))
        if not re.search(r"[<*…{]", name) and not (ROOT / name.rstrip("/")).exists()
    ]
    assert not missing, f"{page.name} names files that do not exist: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_modules_named_from_inside_the_package_exist(page: Path) -> None:
    missing = []
    for name in PACKAGE_PATH.findall(page.read_text(encoding="utf-8")):
        base = ROOT / "functions" if name.startswith("kyc_match") else ROOT / "functions" / "kyc_match"
        if not re.search(r"[<*…{]", name) and not (base / name.rstrip("/")).exists():
            missing.append(name)
    assert not missing, f"{page.name} names modules that do not exist: {missing}"


def _walk_through() -> str:
    text = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    assert WALK_THROUGH in text, "docs/development.md has no walk-through of a request"
    return text.split(WALK_THROUGH, 1)[1].split("\n## ", 1)[0]


def test_the_walk_through_follows_a_request_from_handler_to_answer_naming_each_file() -> None:
    steps = re.split(r"\n\d+\. ", _walk_through())[1:]
    titles = [re.match(r"\*\*([^*]+)\*\*", step) for step in steps]
    assert [title.group(1) if title else step[:20] for title, step in zip(titles, steps, strict=True)] == [
        stage for stage, _ in WALK_STAGES
    ]
    for (stage, path), step in zip(WALK_STAGES, steps, strict=True):
        assert f"`{path}`" in step, f"the walk-through's step {stage} does not name {path}"
    named = CODE_PATH.findall(_walk_through())
    missing = [name for name in named if not (ROOT / name).exists()]
    assert not missing, f"the walk-through names files that do not exist: {missing}"


def test_readme_stays_short_with_quick_start_architecture_and_endpoints_first() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES
    first_two_screens = "\n".join(lines[:100])
    for heading in ("## Quick start", "## Architecture", "## Endpoints"):
        assert heading in first_two_screens, f"README: {heading!r} is not within its first 100 lines"
    assert "```mermaid" in first_two_screens
