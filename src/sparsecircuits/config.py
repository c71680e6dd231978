"""The one config mechanism of every config dataclass (model, train, prune, validate).

A config is a dataclass; it is read from a TOML table and changed by `--set TABLE.KEY=VALUE`
strings, both converted by the field's type annotation, both naming the nearest valid key when
a key is unknown. Value checks are declared once per dataclass as `Rules` and run by
`check_values`, so every command refuses a bad value with the same kind of sentence.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from sparsecircuits.errors import UserError

T = TypeVar("T")
# Config values as TOML or --set give them: TOML's scalars and arrays, or text.
Value = Any
# field name -> (test of its value, what the value must be, in words)
Rules = dict[str, tuple[Callable[[Any], bool], str]]


def at_least(lo: float) -> tuple[Callable[[Any], bool], str]:
    """A rule: the value is >= lo."""
    return (lambda v: v >= lo, f"at least {lo:g}")


def positive() -> tuple[Callable[[Any], bool], str]:
    """A rule: the value is > 0."""
    return (lambda v: v > 0, "positive")


def between(lo: float, hi: float, closed_hi: bool = True) -> tuple[Callable[[Any], bool], str]:
    """A rule: lo <= value <= hi (or < hi)."""
    if closed_hi:
        return (lambda v: lo <= v <= hi, f"in [{lo:g}, {hi:g}]")
    return (lambda v: lo <= v < hi, f"in [{lo:g}, {hi:g})")


def one_of(*choices: str) -> tuple[Callable[[Any], bool], str]:
    """A rule: the value is one of `choices`."""
    return (lambda v: v in choices, "one of " + ", ".join(choices))


def betas() -> tuple[Callable[[Any], bool], str]:
    """A rule: a pair of Adam betas, each in [0, 1)."""
    return (
        lambda v: len(v) == 2 and all(0 <= b < 1 for b in v),
        "a pair like [0.9, 0.95], each in [0, 1)",
    )


def check_values(obj: object, table: str, rules: Rules) -> None:
    """Refuse a non-finite number anywhere in `obj`, and any value that breaks its rule; one sentence, naming it."""
    for f in dataclasses.fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        numbers = value if isinstance(value, tuple | list) else (value,)
        if any(isinstance(x, float) and not math.isfinite(x) for x in numbers):
            raise UserError(
                f"{table}.{f.name} is {value!r}; it must be a finite number. Fix the config or its --set override."
            )
        if f.name in rules and value is not None:
            ok, words = rules[f.name]
            if not ok(value):
                raise UserError(
                    f"{table}.{f.name} is {value!r}; it must be {words}. Fix the config or its --set override."
                )


def coerce(value: Value, tp: Any, key: str, source: str) -> Value:
    """Convert `value` (from TOML or a --set string) to the annotated type `tp`."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        is_none = value is None or (isinstance(value, str) and value.lower() in ("none", "null"))
        if is_none and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(value, arg, key, source)
            except UserError as e:
                errors.append(e)
        raise errors[0] if errors else UserError(f"bad value for {key} in {source}.")
    if origin in (tuple, list) or tp in (tuple, list):
        if isinstance(value, str):  # --set takes "a,b" (brackets optional)
            value = [v.strip() for v in value.strip("()[] ").split(",") if v.strip()]
        if not isinstance(value, list | tuple):
            raise UserError(f"{key} in {source} must be a list like [0.9, 0.95].")
        inner = args[0] if args else Any
        items = [coerce(v, inner, key, source) for v in value]
        return tuple(items) if (origin or tp) is tuple else items
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise UserError(f"{key} in {source} must be true or false, not {value!r}.")
    if tp is int:
        if isinstance(value, bool):
            raise UserError(f"{key} in {source} must be an integer, not {value!r}.")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        raise UserError(f"{key} in {source} must be an integer, not {value!r}.")
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return _parse_float(value)
            except ValueError:
                pass
        raise UserError(f"{key} in {source} must be a finite number, not {value!r}.")
    if tp is str:
        if isinstance(value, str):
            return value
        raise UserError(f"{key} in {source} must be a string, not {value!r}.")
    return value


def _parse_float(text: str) -> float:
    """A finite float, also written as a fraction like `1/8`."""
    if "/" in text:
        num, den = text.split("/", 1)
        value = float(num) / float(den)
    else:
        value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def unknown_key(cls: type, table: str, key: str, source: str) -> UserError:
    """The error for a key `cls` does not have, naming the nearest valid one."""
    names = sorted(f.name for f in dataclasses.fields(cls))
    close = difflib.get_close_matches(key, names, n=1)
    hint = f"did you mean {table}.{close[0]}?" if close else f"valid keys: {', '.join(names)}."
    return UserError(f"unknown key {table}.{key} in {source}; {hint}")


def from_table(cls: type[T], data: Mapping[str, Value], table: str, source: str) -> T:
    """Build dataclass `cls` from one TOML table, converting each value by its annotation."""
    if not isinstance(data, Mapping):
        raise UserError(f"[{table}] in {source} must be a table.")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            raise unknown_key(cls, table, key, source)
        kwargs[key] = coerce(value, hints[key], f"{table}.{key}", source)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise UserError(f"invalid [{table}] in {source}: {e}; fix the value.") from e


def to_table(obj: object) -> dict[str, Value]:
    """A dataclass as a TOML-ready table (None left out: TOML has no null; tuples as lists)."""
    out: dict[str, Value] = {}
    for f in dataclasses.fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        if value is None:
            continue
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def parse_sets(
    items: list[str], tables: Mapping[str, type], default: str | None = None
) -> dict[str, dict[str, Value]]:
    """`--set TABLE.KEY=VALUE` strings -> {table: {key: text}}; KEY alone means `default`'s table.

    Keys are checked against the dataclass of their table (with the nearest-key hint); values
    stay text until `from_table` converts them with the rest of the table.
    """
    out: dict[str, dict[str, Value]] = {t: {} for t in tables}
    names = " or ".join(f"{t}.NAME" for t in tables)
    for item in items:
        dotted, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"--set {item!r} is not of the form table.key=value ({names}=VALUE).")
        parts = dotted.strip().split(".")
        if len(parts) == 1 and default is not None:
            parts = [default, parts[0]]
        if len(parts) != 2 or parts[0] not in tables:
            raise UserError(f"--set {item!r}: the key must be {names}.")
        table, key = parts
        if key not in {f.name for f in dataclasses.fields(tables[table])}:
            raise unknown_key(tables[table], table, key, "--set")
        out[table][key] = value.strip()
    return out


def read_toml(path: str | Path, what: str = "config file") -> dict[str, Value]:
    """A TOML file's tables, with one clear error for a missing or unparsable file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"{what} {path} does not exist; pass a TOML file such as configs/tiny-sparse.toml."
        )
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{what} {path} is not valid TOML ({e}); fix its syntax.") from e
