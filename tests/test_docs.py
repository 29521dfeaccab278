"""The README and docs/ cite only what exists, and keep measured figures out of reference text."""

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
# a backticked repository path: a file or folder under one of the project's top-level folders
CITED_PATH = re.compile(r"`((?:snn|bench|tests|docs|reports|\.ci)/[\w./-]*)`")
LINK = re.compile(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)")  # relative Markdown links (no scheme)


def test_every_cited_path_and_link_exists():
    missing = []
    for page in PAGES:
        text = page.read_text()
        for cited in CITED_PATH.findall(text):
            path = cited.split("<")[0].rstrip("/")  # "reports/default/" and "profiles/<id>/" name folders
            if not (ROOT / path).exists() and not path.startswith(("reports/", "docs/results/")):
                missing.append(f"{page.relative_to(ROOT)}: `{cited}`")
        for link in LINK.findall(text):
            if not (page.parent / link).exists():
                missing.append(f"{page.relative_to(ROOT)}: link {link}")
    assert not missing, missing


def test_the_readme_is_a_short_first_page():
    assert len((ROOT / "README.md").read_bytes()) < 12 * 1024
    readme = (ROOT / "README.md").read_text()
    assert readme.splitlines()[3].startswith("make bench") and readme.splitlines()[4].startswith("make test")


def test_every_results_page_is_dated_and_names_its_commit():
    pages = [p for p in (ROOT / "docs" / "results").glob("*.md") if p.name != "README.md"]
    assert pages
    for page in pages:
        assert re.match(r"\d{4}-\d{2}-\d{2}-", page.name), page.name
        assert re.search(r"\b[0-9a-f]{7,40}\b", page.read_text()), f"{page.name} names no commit"
