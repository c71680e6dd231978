"""Task generation: enough distinct pairs, single-token targets, determinism, disjoint splits."""

from __future__ import annotations

import dataclasses

import pytest

from sparsecircuits.errors import UserError
from sparsecircuits.tasks import Pair, get_task, split_of, task_names
from sparsecircuits.tasks.base import Task

N_DISTINCT = 1000
SHORT = 64  # a short context keeps 20 x 1000 pairs fast; cores alone fit in it


@pytest.fixture(scope="module")
def many(tokenizer):
    """1000 train pairs per task at a short context."""
    return {
        n: get_task(n).pairs(tokenizer, N_DISTINCT, "train", seed=0, max_len=SHORT)
        for n in task_names()
    }


def test_twenty_public_tasks_with_words():
    names = task_names()
    assert len(names) == 20 and len(set(names)) == 20
    for n in names:
        t = get_task(n)
        assert t.name == n and t.description and t.class_pos and t.class_neg
        assert t.class_pos != t.class_neg


@pytest.mark.parametrize("name", task_names())
def test_at_least_1000_distinct_valid_pairs(name, tokenizer, many):
    pairs = many[name]
    assert len(pairs) == N_DISTINCT
    assert len({p.key() for p in pairs}) == N_DISTINCT
    assert len({(tuple(p.prompt_pos), tuple(p.prompt_neg)) for p in pairs}) == N_DISTINCT
    task = get_task(name)
    for p in pairs:
        assert 0 < len(p.prompt_pos) <= SHORT and 0 < len(p.prompt_neg) <= SHORT
        assert p.target_pos != p.target_neg
        for t in (p.target_pos, p.target_neg):
            assert tokenizer.single_token(tokenizer.token_text(t)) == t
        if task.same_last_token:
            assert p.prompt_pos[-1] == p.prompt_neg[-1]
        assert p.prompt_pos != p.prompt_neg
        assert split_of(p) == "train"


def test_prompts_vary_in_length_up_to_the_context(tokenizer):
    pairs = get_task("for_while").pairs(tokenizer, 200, max_len=256)
    lengths = [len(p.prompt_pos) for p in pairs]
    assert max(lengths) <= 256 and max(lengths) > 180 and min(lengths) < 60


def test_same_seed_same_pairs_other_seed_other_pairs(tokenizer):
    task = get_task("with_open")
    fresh = dataclasses.replace(task, _setups={})  # no shared cache between the two calls
    a = task.pairs(tokenizer, 40, "train", seed=3, max_len=128)
    assert fresh.pairs(tokenizer, 40, "train", seed=3, max_len=128) == a
    assert task.pairs(tokenizer, 15, "train", seed=3, max_len=128) == a[:15]
    b = task.pairs(tokenizer, 40, "train", seed=4, max_len=128)
    assert not {p.key() for p in a} & {p.key() for p in b}


@pytest.mark.parametrize("name", ["bracket_counting", "var_swap", "else_elif"])
def test_train_and_heldout_are_disjoint(name, tokenizer, many):
    held = get_task(name).pairs(tokenizer, 100, "heldout", seed=0, max_len=SHORT)
    assert len({p.key() for p in held}) == 100
    assert all(split_of(p) == "heldout" for p in held)
    assert not {p.key() for p in held} & {p.key() for p in many[name]}


def test_left_truncation_at_a_tiny_context(tokenizer):
    pairs = get_task("while_return_true").pairs(tokenizer, 20, max_len=8)
    assert all(len(p.prompt_pos) <= 8 and len(p.prompt_neg) <= 8 for p in pairs)
    assert any(len(p.prompt_pos) == 8 for p in pairs)  # cropped, not only short
    # class_init's deciding context (the `__init__` signature) never fits 8 tokens: refused
    with pytest.raises(UserError, match="longer max_len"):
        get_task("class_init").pairs(tokenizer, 20, max_len=8)


@pytest.mark.parametrize("name", ["single_double_quote", "if_equals"])
def test_shuffled_control_has_random_labels(name, tokenizer):
    base = get_task(name).pairs(tokenizer, 300, seed=2, max_len=SHORT)
    shuf = get_task(name + "__shuffled").pairs(tokenizer, 300, seed=2, max_len=SHORT)
    assert [(p.prompt_pos, p.prompt_neg) for p in shuf] == [
        (p.prompt_pos, p.prompt_neg) for p in base
    ]
    swapped = [
        s.target_pos == b.target_neg and s.target_neg == b.target_pos
        for s, b in zip(shuf, base, strict=True)
    ]
    kept = [s == b for s, b in zip(shuf, base, strict=True)]
    assert all(x or y for x, y in zip(swapped, kept, strict=True))
    # about half swapped (binomial, n=300: mean 150, sd 8.7), so A is as often the class-pos target as not
    assert 110 < sum(swapped) < 190
    assert get_task(name + "__shuffled").pairs(tokenizer, 300, seed=2, max_len=SHORT) == shuf


def test_unknown_task_names_close_matches():
    with pytest.raises(UserError, match="bracket_counting"):
        get_task("bracket_countng")
    with pytest.raises(UserError, match="unknown task"):
        get_task("nothing_like_it__shuffled")


def test_bad_split_is_a_user_error(tokenizer):
    with pytest.raises(UserError, match="split"):
        get_task("for_while").pairs(tokenizer, 3, split="test")


def test_tokenizer_that_cannot_express_a_task(tokenizer):
    """A tokenizer without ']]' and ']\\n' tokens gets a clear error naming the text."""
    from sparsecircuits.corpus.tokenizer import Tokenizer

    tiny = Tokenizer.train(["total = count + 1\n" * 20], vocab_size=270)
    with pytest.raises(UserError, match=r"bracket_counting .*'\]\]'"):
        get_task("bracket_counting").pairs(tiny, 5)


def test_pair_is_plain_data():
    p = Pair([1, 2], [3, 2], 5, 6)
    assert p.key() == ((1, 2), (3, 2), 5, 6)
    assert isinstance(get_task("for_while"), Task)
