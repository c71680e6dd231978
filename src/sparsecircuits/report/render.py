"""Assemble the self-contained report page: inline styles, inline script, inline JSON data."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import re
from importlib import resources
from typing import Any

# Characters that could end the <script> element or confuse an HTML parser inside it.
_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_JSON_ESCAPE_RE = re.compile("[<>&\u2028\u2029]")


def _asset(name: str) -> str:
    return (
        resources.files("sparsecircuits.report")
        .joinpath("assets")
        .joinpath(name)
        .read_text("utf-8")
    )


def _finite(obj: Any) -> Any:
    """A copy of `obj` with NaN/inf replaced by None (JSON.parse rejects them)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def embed_json(obj: Any) -> str:
    """JSON text that is safe inside an HTML <script> element (no `</`, `<!--`, U+2028/9)."""
    text = json.dumps(_finite(obj), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return _JSON_ESCAPE_RE.sub(lambda m: _JSON_ESCAPES[m.group(0)], text)


def _csp_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def render_html(payload: dict[str, Any], title: str = "sparsecircuits report") -> str:
    """The report page for `payload` (see `payload.build_payload`) as one HTML string."""
    css = _asset("viewer.css")
    js = _asset("viewer.js")
    for name, code in (("viewer.js", js), ("viewer.css", css)):
        if re.search(r"</(script|style)", code, re.IGNORECASE):
            raise AssertionError(f"asset {name} contains a closing tag and cannot be inlined")
    # Only our own script may run, even if some text ever slipped through as markup; nothing
    # may be fetched (default-src 'none').
    csp = (
        "default-src 'none'; "
        f"script-src {_csp_hash(js)}; "
        f"style-src {_csp_hash(css)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    values = {
        "CSP": html.escape(csp, quote=True),
        "TITLE": html.escape(title),
        "CSS": css,
        "DATA": embed_json(payload),
        "JS": js,
    }
    # One pass, so that substituted text is never scanned for further placeholders.
    return re.sub(r"@@([A-Z]+)@@", lambda m: values[m.group(1)], _asset("viewer.html"))
