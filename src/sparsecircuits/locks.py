"""One writer per folder: an exclusive lock beside every folder (or file) a command writes.

The lock is `flock` on a file in the user cache named by the target's absolute path
(`$XDG_CACHE_HOME/sparsecircuits/locks/`), so the kernel releases it when its holder dies (a
stale lock of a killed process is simply taken over), it works for targets that do not exist
yet or are renamed into place, and nothing is written next to the target until the command
itself writes. The file names its holder (PID, command,
since when) so a second writer is refused with a sentence that says who is writing. Taking
the lock also removes what a dead writer left behind: its `.*.tmp` files inside the folder
and its `.NAME.*.tmp` staging folders beside it.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import functools
import hashlib
import json
import os
import shlex
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from sparsecircuits.errors import UserError


def lock_path(target: Path) -> Path:
    """The lock file of `target` (a folder or a file), in the user cache."""
    from sparsecircuits.fileio import user_cache_dir

    key = hashlib.sha256(str(Path(target).resolve()).encode("utf-8")).hexdigest()[:32]
    return user_cache_dir() / "locks" / f"{key}.lock"


def _command() -> str:
    return shlex.join(["sparsecircuits", *sys.argv[1:]])


def _holder(path: Path) -> str:
    try:
        h = json.loads(path.read_text(encoding="utf-8"))
        return f"process {h['pid']} (`{h['command']}`, since {h['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def remove_dead_temp_files(target: Path) -> list[Path]:
    """Delete the temporary files and staging folders a dead writer of `target` left; returns them."""
    found: list[Path] = []
    if target.is_dir():
        found += [p for p in target.glob(".*.tmp") if p.is_file()]
    if target.parent.is_dir():
        found += list(target.parent.glob(f".{target.name}.*.tmp"))
    for p in found:
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
    return found


@contextlib.contextmanager
def writing(target: str | Path) -> Iterator[None]:
    """Hold the exclusive write lock of `target` for the block; UserError naming the holder if taken."""
    target = Path(target)
    path = lock_path(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise UserError(
            f"cannot create the lock file {path} ({e.strerror}); check permissions."
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise UserError(
            f"{target} is being written by {_holder(path)}; wait for it to finish or write "
            "to another folder."
        ) from None
    try:
        info = {
            "target": str(target.resolve()),
            "pid": os.getpid(),
            "command": _command(),
            "since": _dt.datetime.now().isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode("utf-8"), 0)
        remove_dead_temp_files(target)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def locked(arg: str) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Decorate a CLI handler so it holds the write lock of the path in `args.<arg>` while it runs."""

    def wrap(fn: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(fn)
        def run(args: object) -> int:
            with writing(Path(getattr(args, arg))):
                return fn(args)

        return run

    return wrap
