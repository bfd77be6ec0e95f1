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
README_MAX_LINES = 200


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


def test_readme_stays_short_with_quick_start_architecture_and_endpoints_first() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES
    first_two_screens = "\n".join(lines[:100])
    for heading in ("## Quick start", "## Architecture", "## Endpoints"):
        assert heading in first_two_screens, f"README: {heading!r} is not within its first 100 lines"
    assert "```mermaid" in first_two_screens
