"""docs/: every code example is a verbatim excerpt of a file the test suite runs, so it cannot drift.

An example is a fenced ```python block right after a ``<!-- source: <path> -->`` comment; the block must occur,
character for character, in that file. The sourced files are example DAGs (run end to end by
``tests/example_dags/test_example_dags.py``) or tests.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLE = re.compile(r"<!-- source: (?P<path>[^ ]+) -->\n```python\n(?P<code>.*?)\n```", re.DOTALL)
HOWTOS = ("cancel-on-timeout", "wait-for-operation", "housekeeping", "testing", "connections", "operators")


def _examples() -> list[tuple[str, str, str]]:
    return [
        (page.name, m["path"], m["code"])
        for page in sorted(DOCS.glob("*.md"))
        for m in EXAMPLE.finditer(page.read_text())
    ]


@pytest.mark.parametrize("page", HOWTOS)
def test_every_page_has_a_sourced_example(page: str) -> None:
    assert any(name == f"{page}.md" for name, _, _ in _examples()), f"docs/{page}.md has no sourced example"


@pytest.mark.parametrize(("page", "path", "code"), _examples(), ids=lambda v: v if len(v) < 60 else "")
def test_the_example_is_in_its_source(page: str, path: str, code: str) -> None:
    source = ROOT / path
    assert source.is_file(), f"docs/{page}: {path} does not exist"
    assert path.startswith(("example_dags/", "tests/")), f"docs/{page}: {path} is not run by the tests"
    assert code in source.read_text(), f"docs/{page}: the example is not (any more) an excerpt of {path}"


def test_the_readme_links_the_docs_and_the_index_every_page() -> None:
    assert "docs/README.md" in (ROOT / "README.md").read_text()
    index = (DOCS / "README.md").read_text()
    for page in HOWTOS:
        assert f"({page}.md)" in index
