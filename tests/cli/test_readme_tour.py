"""The README's tour, its train-your-own block and its Python API example run as written.

Each command's output must contain the `#>` lines that follow it in the README, so the numbers
the README quotes are the ones the commands print. The commands run in a scratch folder that
links the repository's `src/` and `configs/`, exactly as on a fresh clone. The corpus is the
running Python's standard library, so the quoted numbers hold for the CPython they were
measured on (README: 3.11.7); on another one the commands still have to succeed.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MEASURED_ON = "3.11.7"  # the CPython whose stdlib the README's numbers come from
# The small settings CI adds to the train-your-own block (the README says which).
SMALL = {
    "train configs/tiny-sparse.toml --out runs/tiny --resume": ["--set", "train.steps=6"],
    "train configs/tiny-sparse.toml --out runs/tiny": ["--set", "train.steps=4"],
}


def readme_block(marker: str) -> str:
    """The fenced code between `<!-- MARKER: begin -->` and `<!-- MARKER: end -->`."""
    text = README.read_text()
    m = re.search(
        rf"<!-- {marker}: begin -->\s*```\w*\n(.*?)```\s*<!-- {marker}: end -->", text, re.S
    )
    assert m, f"README has no {marker} block"
    return m.group(1)


def python_example() -> str:
    """The README's Python API example (the first python block after its heading)."""
    section = README.read_text().split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def commands(block: str) -> list[tuple[str, list[str]]]:
    """`[(command line, [expected output fragment, ...]), ...]` of a bash block."""
    out: list[tuple[str, list[str]]] = []
    for line in block.replace("\\\n", " ").splitlines():
        line = line.strip()
        if line.startswith("#>"):
            out[-1][1].append(line[2:].strip())
        elif line and not line.startswith("#"):
            out.append((line, []))
    return out


def squash(text: str) -> str:
    return " ".join(text.split())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_once(line: str, env: dict[str, str], cwd: Path) -> str:
    """Start `serve`, fetch its index page, stop it; the page's text."""
    port = free_port()
    line = re.sub(r"--port \d+", f"--port {port}", line)
    proc = subprocess.Popen(["bash", "-c", "exec " + line], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                    return r.read().decode()
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"{line} served nothing")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run_block(block: str, cwd: Path, env: dict[str, str], check_numbers: bool) -> None:
    for line, expected in commands(block):
        if line.startswith("source "):
            continue  # the venv: this interpreter's bin folder is first on PATH instead
        m = re.fullmatch(r"(\w+)=(\S+)", line)
        if m:
            env[m.group(1)] = m.group(2)
            continue
        if " serve " in f" {line} ":
            assert "report.html" in serve_once(line, env, cwd)
            continue
        extra = next((v for k, v in SMALL.items() if k in line), [])
        cmd = line.split(" #", 1)[0] + "".join(" " + shlex.quote(a) for a in extra)
        res = subprocess.run(["bash", "-c", cmd], cwd=cwd, env=env, capture_output=True, text=True)
        output = res.stdout + res.stderr
        assert res.returncode == 0, f"{cmd} failed:\n{output[-3000:]}"
        if check_numbers:
            for fragment in expected:
                assert squash(fragment) in squash(output), (
                    f"{cmd}: no {fragment!r} in\n{output[-3000:]}"
                )


@pytest.fixture
def clone(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A folder shaped like a fresh clone (src/ and configs/ linked) and the commands' environment."""
    for name in ("src", "configs"):
        (tmp_path / name).symlink_to(ROOT / name)
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    env["TQDM_DISABLE"] = "1"
    return tmp_path, env


def test_readme_tour_and_python_api(clone, monkeypatch, capsys) -> None:
    cwd, env = clone
    same_stdlib = platform.python_version() == MEASURED_ON
    run_block(readme_block("tour"), cwd, env, same_stdlib)
    assert (cwd / "report.html").stat().st_size > 50_000
    # The Python API example, in the same folder, after the tour.
    monkeypatch.chdir(cwd)
    code = python_example()
    exec(compile(code, "README.md (Python API)", "exec"), {})
    printed = capsys.readouterr().out
    if same_stdlib:
        for fragment in re.findall(r"^#> (.*)$", code, re.M):
            assert squash(fragment) in squash(printed), f"no {fragment!r} in {printed!r}"


def test_readme_train_your_own(clone) -> None:
    cwd, env = clone
    run_block(readme_block("tour-train"), cwd, env, check_numbers=True)
    assert (cwd / "runs" / "tiny" / "model.safetensors").is_file()
