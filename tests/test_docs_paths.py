"""Every repository file the README and docs cite exists (docs must not point at missing files)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "src/sparsecircuits/bundled/README.md"]  # fmt: skip
# A path into one of the repository's own folders, or a bare Markdown file name (TASKS.md).
_PATH = re.compile(
    r"(?<![\w./$-])((?:src|docs|benchmarks|configs|tests|reference|\.ci)/[\w./-]+(?:\{[\w,]+\}[\w./-]*)?"
    r"|[A-Z][A-Z_]+\.md)"
)


def cited_paths(text: str) -> set[str]:
    """Repository paths named in `text`, without globs, templates or trailing punctuation."""
    out = set()
    for m in _PATH.finditer(text):
        path = m.group(1).rstrip(".,:;)")
        if not any(ch in path for ch in "*{}<>"):
            out.add(path)
    return out


def test_cited_paths_exist() -> None:
    missing = []
    for doc in DOCS:
        for path in sorted(cited_paths(doc.read_text())):
            if not ((ROOT / path).exists() or (doc.parent / path).exists()):
                missing.append(f"{doc.relative_to(ROOT)}: {path}")
    assert missing == []


def test_the_scanner_finds_paths() -> None:
    text = "see `docs/sites.md`, (benchmarks/results/demo.json). TASKS.md and configs/*.toml, configs/sweep-{cpu,gpu}.toml"
    assert cited_paths(text) == {"docs/sites.md", "benchmarks/results/demo.json", "TASKS.md"}
