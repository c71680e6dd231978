"""Full-page screenshot of a circuit report in headless chromium (docs/images/report-*.png).

Builds the report of CIRCUIT (a circuit file or folder) with whichever sparsecircuits is on the
path, opens it in Debian's chromium, optionally clicks a node, and saves a full-page PNG,
quantised to a palette to keep it small. The README's before/after pair:

    PYTHONPATH=<main checkout>/src python benchmarks/report_screenshots.py circuits/ \\
        --corpus data/stdlib-tiny --out docs/images/report-before.png
    python benchmarks/report_screenshots.py circuits/ --corpus data/stdlib-tiny \\
        --node 2.attn.q:51 --prompt 1 --out docs/images/report-after.png
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("circuit", type=Path)
    ap.add_argument("--corpus", type=Path, default=None)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--node", default=None, help="node id to click before the screenshot")
    ap.add_argument("--prompt", default=None, help="trace option to choose (index)")
    ap.add_argument("--width", type=int, default=1500)
    args = ap.parse_args()

    from PIL import Image
    from playwright.sync_api import sync_playwright

    from sparsecircuits.report.build import ReportOptions, write_report

    with tempfile.TemporaryDirectory() as tmp:
        html = Path(tmp) / "report.html"
        write_report(args.circuit, html, ReportOptions(corpus=args.corpus))
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"]
            )
            page = browser.new_page(viewport={"width": args.width, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(html.as_uri())
            if args.prompt is not None and page.locator("#trace-prompt").count():
                page.select_option("#trace-prompt", args.prompt)
            if args.node:
                page.click(f'g.node[data-id="{args.node}"]')
            raw = Path(tmp) / "shot.png"
            page.screenshot(path=str(raw), full_page=True)
            browser.close()
        if errors:
            raise SystemExit(f"page errors: {errors}")
        img = Image.open(raw).convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        img.save(args.out, optimize=True)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
