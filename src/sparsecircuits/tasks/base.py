"""Task, Pair and the generation machinery shared by every task: tokenizer checks, splits, dedup."""

from __future__ import annotations

import hashlib
import keyword
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from tqdm import tqdm

from sparsecircuits.errors import UserError
from sparsecircuits.tasks import context
from sparsecircuits.tasks.pools import NOUNS, PREFIXES, SHORT

SPLITS = ("train", "heldout")
HELDOUT_EVERY = 4  # one distinct pair in four goes to held-out (by hash of its tokens)
PROBE_SAMPLES = 48
CHUNK = 32  # drafts encoded per batched tokenizer call
LONG_PROMPT = 400  # characters; longer prompts are not encoded twice (see _candidates)
PROBE_MIN_ACCEPT = 0.25
# Marks, in a generator's core text, where the context that decides the label begins (such as a
# variable's `x = set()` far above `x`): a prompt cropped to its last tokens must keep it whole.
DECIDES = "\x1e"
# The default longest prompt, in tokens, of every command (see `core.data.prompt_length`): short
# prompts keep pruning fast on a CPU; METHOD prunes at the full context (256).
PROMPT_LEN = 32


class TokenizerLike(Protocol):
    """What the tasks need from a tokenizer (see `sparsecircuits.corpus.tokenizer.Tokenizer`)."""

    eot_id: int

    def encode(self, text: str) -> list[int]: ...
    def decode(self, ids: Sequence[int]) -> str: ...
    def token_text(self, id: int) -> str: ...
    def single_token(self, text: str) -> int | None: ...


@dataclass(frozen=True)
class Pair:
    """One datapoint: the positive prompt continues with `target_pos`, the negative with `target_neg`."""

    prompt_pos: list[int]
    prompt_neg: list[int]
    target_pos: int
    target_neg: int

    def key(self) -> tuple:
        """A hashable identity of the pair."""
        return (tuple(self.prompt_pos), tuple(self.prompt_neg), self.target_pos, self.target_neg)


@dataclass(frozen=True)
class Example:
    """A pair together with the texts it was made from (for display and tests)."""

    pair: Pair
    text_pos: str  # prompt text (before any left-truncation)
    text_neg: str
    cont_pos: str  # the correct continuation, completing the statement
    cont_neg: str


@dataclass
class Draft:
    """A generator's text-level proposal: two prompts and their correct continuations.

    The target is the first token of the continuation as the tokenizer splits prompt+continuation;
    it must begin with `need_*` (the characters that carry the decision). A `DECIDES` mark in a
    core is removed here and kept as `decides_*`: how many trailing characters must survive a crop.
    """

    core_pos: str
    core_neg: str
    cont_pos: str
    cont_neg: str
    need_pos: str
    need_neg: str
    exact: bool = False  # the target token must be exactly `need_*`, not merely begin with it
    decides_pos: int = field(default=0, init=False)
    decides_neg: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        for side in ("pos", "neg"):
            core = getattr(self, f"core_{side}")
            at = core.find(DECIDES)
            if at >= 0:
                setattr(self, f"core_{side}", core[:at] + core[at + 1 :])
                setattr(self, f"decides_{side}", len(core) - at - 1)


@dataclass(frozen=True)
class Variant:
    """One way of phrasing a task's decision point; the first that suits the tokenizer is used."""

    key: str
    tokens: str  # the token pair in words, for docs and `tasks list`


@dataclass
class GenContext:
    """Per-tokenizer facts a generator may use."""

    variant: str
    names: list[str]  # identifiers that are one token with a leading space (" name")
    bare_names: list[str]  # identifiers that are one token without a leading space


Generator = Callable[[random.Random, GenContext], Draft | None]

# Candidates for names that must be single tokens (targets such as " width" or " x").
_NAME_CANDIDATES = sorted(
    w for w in set(NOUNS + SHORT + PREFIXES) - {"self"} if not keyword.iskeyword(w)
)


@dataclass
class _Setup:
    ctx: GenContext
    chars_per_token: float


class TaskBase:
    """What every task offers (a built-in `Task`, its `ShuffledTask` control, a `FileTask`).

    Subclasses give the words (`name`, `description`, `class_pos`, `class_neg`), `token_pair`
    and `_examples`; the request checks and `pairs` are shared here.
    """

    name: str
    description: str
    class_pos: str
    class_neg: str

    def token_pair(self, tokenizer: TokenizerLike) -> str:
        """Which tokens A / B this task uses with `tokenizer`, in words."""
        raise NotImplementedError

    def examples(
        self,
        tokenizer: TokenizerLike,
        n: int,
        split: str = "train",
        seed: int = 0,
        max_len: int = 256,
    ) -> list[Example]:
        """`n` distinct examples of `split` (pairs with their texts), deterministic in the arguments."""
        if split not in SPLITS:
            raise UserError(f"unknown split {split!r}; use 'train' or 'heldout'.")
        if n < 0 or max_len < 2:
            raise UserError(f"need n >= 0 and max_len >= 2 (got n={n}, max_len={max_len}).")
        return self._examples(tokenizer, n, split, seed, max_len)

    def pairs(
        self,
        tokenizer: TokenizerLike,
        n: int,
        split: str = "train",
        seed: int = 0,
        max_len: int = 256,
    ) -> list[Pair]:
        """The pairs of `examples(...)`."""
        return [e.pair for e in self.examples(tokenizer, n, split, seed, max_len)]

    def _examples(
        self, tokenizer: TokenizerLike, n: int, split: str, seed: int, max_len: int
    ) -> list[Example]:
        raise NotImplementedError


TaskLike = TaskBase  # the type every stage takes for "a task"


@dataclass
class Task(TaskBase):
    """A binary next-token task: the registry holds one per TASKS.md row."""

    name: str
    description: str
    class_pos: str
    class_neg: str
    generate: Generator
    variants: tuple[Variant, ...]
    same_last_token: bool = True  # both prompts of a pair end with the same token
    min_names: int = 0  # how many single-token names the generator needs
    _setups: dict = field(default_factory=dict, repr=False, compare=False)

    # ---- public API: examples / pairs (TaskBase), token_pair -----------------------------------
    def _examples(
        self, tokenizer: TokenizerLike, n: int, split: str, seed: int, max_len: int
    ) -> list[Example]:
        """Generated examples; pairs(n)[:m] == pairs(m) (fixed-size chunks of drafts)."""
        setup = self._setup(tokenizer)
        rng = random.Random(f"{self.name}|{seed}|{split}")
        out: list[Example] = []
        seen: set[tuple] = set()
        limit = 200 + 50 * n
        attempts = 0
        with tqdm(total=n, desc=f"task {self.name}", disable=n < 2000, leave=False) as bar:
            while len(out) < n:
                if attempts >= limit:
                    raise UserError(
                        f"task {self.name} found only {len(out)} distinct {split} pairs of the {n} "
                        f"asked for (max_len={max_len}); ask for fewer pairs or a longer max_len."
                    )
                attempts += CHUNK
                # fixed-size chunks keep the stream independent of n: pairs(n)[:m] == pairs(m)
                for ex, _ in self._candidates(rng, tokenizer, setup, max_len, CHUNK):
                    if ex is None or len(out) >= n:
                        continue
                    key = ex.pair.key()
                    if key in seen or split_of(ex.pair) != split:
                        continue
                    seen.add(key)
                    out.append(ex)
                    bar.update(1)
        return out

    def token_pair(self, tokenizer: TokenizerLike) -> str:
        """Which tokens A / B this task uses with `tokenizer`, in words."""
        key = self._setup(tokenizer).ctx.variant
        return next(v.tokens for v in self.variants if v.key == key)

    # ---- machinery ----------------------------------------------------------------------------
    def _setup(self, tokenizer: TokenizerLike) -> _Setup:
        tk = _tok_key(tokenizer)
        if tk not in self._setups:
            self._setups[tk] = self._choose_variant(tokenizer)
        return self._setups[tk]

    def _choose_variant(self, tokenizer: TokenizerLike) -> _Setup:
        names = [w for w in _NAME_CANDIDATES if tokenizer.single_token(" " + w) is not None]
        bare = [w for w in _NAME_CANDIDATES if tokenizer.single_token(w) is not None]
        if len(names) < self.min_names:
            raise UserError(
                f"task {self.name} needs at least {self.min_names} identifiers that are single tokens "
                f"after a space (such as ' name'), but this tokenizer has only {len(names)}; retrain "
                "the tokenizer on Python code with a vocabulary of at least 2048."
            )
        sample = context.preamble(random.Random(0), 2000)
        cpt = max(1.0, len(sample) / max(1, len(tokenizer.encode(sample))))
        reasons: list[str] = []
        for v in self.variants:
            setup = _Setup(GenContext(v.key, names, bare), cpt)
            rng = random.Random(f"{self.name}|probe|{v.key}")
            ok = 0
            failures: Counter[str] = Counter()
            for ex, why in self._candidates(rng, tokenizer, setup, 256, PROBE_SAMPLES):
                if ex is not None:
                    ok += 1
                elif why:
                    failures[why] += 1
            if ok >= PROBE_MIN_ACCEPT * PROBE_SAMPLES:
                return setup
            reasons.append(failures.most_common(1)[0][0] if failures else "no usable prompts")
        why = reasons[0]
        if len(reasons) > 1:
            why += f" (and its fallback phrasing fails too: {'; '.join(reasons[1:])})"
        raise UserError(
            f"task {self.name} cannot be expressed with this tokenizer: {why}; retrain the "
            "tokenizer on more Python code (vocabulary 2048 or more) or leave this task out."
        )

    def _candidates(
        self, rng: random.Random, tok: TokenizerLike, setup: _Setup, max_len: int, k: int
    ) -> list[tuple[Example | None, str]]:
        """`k` candidate examples, each (example, "") or (None, why the tokenizer rejected it)."""
        drafts = []
        for _ in range(k):
            d = self.generate(rng, setup.ctx)
            if d is None:
                continue
            core_chars = max(len(d.core_pos), len(d.core_neg))
            room = max(0.0, (max_len * 0.92) * setup.chars_per_token - core_chars)
            pre = context.preamble(rng, int(rng.random() * room))
            drafts.append((d, pre))
        texts: list[str] = []
        plan = []  # per draft and side: (index into texts, uses the last-line shortcut)
        for d, pre in drafts:
            for core, cont in ((d.core_pos, d.cont_pos), (d.core_neg, d.cont_neg)):
                prompt = pre + core
                tail = _last_line(core)
                short = len(prompt) > LONG_PROMPT and bool(tail)
                plan.append((len(texts), short))
                texts += [prompt, tail, tail + cont] if short else [prompt, prompt + cont]
        # one batched call: encoding dominates the cost of generation
        ids = (
            tok.encode_batch(texts)
            if hasattr(tok, "encode_batch")
            else [tok.encode(t) for t in texts]
        )
        out = []
        for i, (d, pre) in enumerate(drafts):
            enc = []
            for j, (core, cont) in enumerate(((d.core_pos, d.cont_pos), (d.core_neg, d.cont_neg))):
                at, short = plan[2 * i + j]
                p = ids[at]
                if not short:
                    enc += [p, ids[at + 1]]
                    continue
                tail, tail_full = ids[at + 1], ids[at + 2]
                # prompt+continuation = prompt's tokens before its last line + (last line+continuation),
                # valid when the last line tokenizes the same alone as inside the prompt
                if tail and len(p) >= len(tail) and p[len(p) - len(tail) :] == tail:
                    full = p[: len(p) - len(tail)] + tail_full
                else:
                    full = tok.encode(pre + core + cont)
                enc += [p, full]
            out.append(self._check(tok, d, pre, enc, max_len))
        return out

    def _check(
        self, tok: TokenizerLike, d: Draft, pre: str, ids: list[list[int]], max_len: int
    ) -> tuple[Example | None, str]:
        """The example of a draft, or (None, reason) when the tokenizer does not fit it."""
        p_pos, f_pos, p_neg, f_neg = ids
        targets = []
        for p, f, cont, need in (
            (p_pos, f_pos, d.cont_pos, d.need_pos),
            (p_neg, f_neg, d.cont_neg, d.need_neg),
        ):
            if len(f) <= len(p) or f[: len(p)] != p:
                return None, (
                    f"the prompt's last token merges with the continuation {cont[:12]!r} "
                    f"(prompt ends {tok.decode(p[-2:])!r})"
                )
            t = f[len(p)]
            text = tok.token_text(t)
            if (text != need) if d.exact else not text.startswith(need):
                pieces = [tok.token_text(i) for i in f[len(p) : len(p) + 3]]
                verb = "be" if d.exact else "begin"
                return None, (
                    f"it needs {need!r} to {verb} one token, but this tokenizer splits "
                    f"{cont[: len(need) + 4]!r} into {pieces}"
                )
            targets.append(t)
        if targets[0] == targets[1]:
            return (
                None,
                f"both continuations start with the same token {tok.token_text(targets[0])!r}",
            )
        if self.same_last_token and p_pos[-1] != p_neg[-1]:
            return None, "the two prompts end with different tokens"
        if max(len(p_pos), len(p_neg)) > max_len:
            if pre:
                return None, ""  # the preamble estimate overshot; draw again
            if (
                max(
                    _tokens_ending(tok, p_pos, d.decides_pos),
                    _tokens_ending(tok, p_neg, d.decides_neg),
                )
                > max_len
            ):
                return None, ""  # the crop would cut the deciding context; draw again
            p_pos, p_neg = p_pos[-max_len:], p_neg[-max_len:]  # the core alone is too long
        pair = Pair(p_pos, p_neg, targets[0], targets[1])
        return Example(pair, pre + d.core_pos, pre + d.core_neg, d.cont_pos, d.cont_neg), ""


def _tokens_ending(tok: TokenizerLike, ids: list[int], chars: int) -> int:
    """How many of the last tokens of `ids` it takes to hold its last `chars` characters."""
    held = 0
    for n, t in enumerate(reversed(ids), 1):
        held += len(tok.token_text(t))
        if held >= chars:
            return n
    return len(ids)


def _last_line(text: str) -> str:
    """The last non-empty line of `text` with anything after it (where prompt and target meet)."""
    return text[text.rstrip("\n").rfind("\n") + 1 :]


def split_of(pair: Pair) -> str:
    """'heldout' for one distinct pair in HELDOUT_EVERY (by a hash of its tokens), else 'train'."""
    h = hashlib.blake2b(repr(pair.key()).encode(), digest_size=8).digest()
    return "heldout" if int.from_bytes(h, "little") % HELDOUT_EVERY == 0 else "train"


def _tok_key(tok: TokenizerLike) -> object:
    fn = getattr(tok, "content_hash", None)
    return fn() if callable(fn) else id(tok)


@dataclass
class ShuffledTask(TaskBase):
    """Control: the base task's prompts with A/B swapped at random per pair (a nonsense task)."""

    base: TaskLike

    @property
    def name(self) -> str:
        """`<base>__shuffled`."""
        return f"{self.base.name}__shuffled"

    @property
    def description(self) -> str:
        """The base description, marked as a label-shuffled control."""
        return f"Control: {self.base.name} with A/B assigned at random per pair. {self.base.description}"

    @property
    def class_pos(self) -> str:
        """Same words as the base task (labels are random)."""
        return self.base.class_pos + " (labels shuffled)"

    @property
    def class_neg(self) -> str:
        """Same words as the base task (labels are random)."""
        return self.base.class_neg + " (labels shuffled)"

    def token_pair(self, tokenizer: TokenizerLike) -> str:
        """The base task's token pair."""
        return self.base.token_pair(tokenizer)

    def _examples(
        self, tokenizer: TokenizerLike, n: int, split: str, seed: int, max_len: int
    ) -> list[Example]:
        """The base task's examples, with both targets swapped in a random half of the pairs."""
        rng = random.Random(f"shuffle|{self.base.name}|{seed}|{split}")
        out = []
        for e in self.base.examples(tokenizer, n, split, seed, max_len):
            if rng.random() < 0.5:
                p = e.pair
                e = Example(
                    Pair(p.prompt_pos, p.prompt_neg, p.target_neg, p.target_pos),
                    e.text_pos,
                    e.text_neg,
                    e.cont_neg,
                    e.cont_pos,
                )
            out.append(e)
        return out
