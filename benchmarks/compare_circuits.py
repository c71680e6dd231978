"""Compare two folders of circuit files task by task: same nodes, edges, losses, curve and validation numbers?

Used to show that a refactor changed no result: prune (and validate) the same tasks on the same
run before and after, then `python benchmarks/compare_circuits.py BEFORE/ AFTER/ --out FILE`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

TIMING = ("seconds", "summary")  # fields that may differ between identical results


def compare(a: dict, b: dict) -> dict:
    """Per field group, whether two circuit files agree."""
    va = (a.get("validation") or {}).get("checks", {})
    vb = (b.get("validation") or {}).get("checks", {})
    return {
        "nodes": [n["id"] for n in a["nodes"]] == [n["id"] for n in b["nodes"]],
        "edges": a["edges"] == b["edges"],
        "losses": a["losses"] == b["losses"],
        "curve": a["curve"] == b["curve"],
        "counts": [a["counts"], b["counts"]],
        "validation": {
            c: {k: v for k, v in va[c].items() if k not in TIMING}
            == {k: v for k, v in vb.get(c, {}).items() if k not in TIMING}
            for c in va
        },
    }


def main() -> None:
    """Compare every circuit file present in both folders and write the result."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("before", type=Path)
    p.add_argument("after", type=Path)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    rows = {}
    for fa in sorted(args.before.glob("*.json")):
        fb = args.after / fa.name
        if fb.is_file():
            rows[fa.stem] = compare(json.loads(fa.read_text()), json.loads(fb.read_text()))
    text = json.dumps(rows, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
