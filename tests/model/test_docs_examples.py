"""The examples in docs/sites.md run and their assertions hold."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "sites.md"


def test_sites_doc_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 5
    namespace: dict = {}
    for block in blocks:  # one namespace: later examples build on earlier ones
        exec(compile(block, str(DOC), "exec"), namespace)
