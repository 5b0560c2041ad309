"""The repository documents itself: every relative link in its Markdown files points at a file
inside the repository (a clone has nothing beside it), and every #anchor at a heading."""
import re
from pathlib import Path

from conftest import SOURCE_DIR

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
SKIP_DIRS = {"build", ".git", "out"}


def markdown_files():
    return [p for p in SOURCE_DIR.rglob("*.md")
            if not any(part in SKIP_DIRS or part.startswith("build") for part in p.relative_to(SOURCE_DIR).parts)]


def anchors(path: Path):
    """GitHub's anchors of the headings of a Markdown file."""
    out = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            continue
        title = line.lstrip("#").strip().lower()
        slug = "".join(ch for ch in title if ch.isalnum() or ch in " -_").replace(" ", "-")
        out.add(slug)
    return out


def test_every_relative_link_stays_inside_the_repository():
    root = SOURCE_DIR.resolve()
    problems = []
    files = markdown_files()
    assert any(p.name == "README.md" for p in files) and any(p.name == "model.md" for p in files)
    for md in files:
        for target in LINK.findall(md.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            dest = (md.parent / path).resolve() if path else md.resolve()
            where = f"{md.relative_to(root)}: ({target})"
            if root not in dest.parents and dest != root:
                problems.append(f"{where} leaves the repository")
            elif not dest.exists():
                problems.append(f"{where} does not exist")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                problems.append(f"{where}: no heading with anchor #{anchor}")
    assert not problems, "\n".join(problems)
