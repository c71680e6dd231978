"""Tiny Python snippets for corpus tests."""

from __future__ import annotations

SAMPLE_CODE = [
    "def add(a, b):\n    return a + b\n",
    'for i, x in enumerate(items):\n    if x == 0:\n        print("zero")\n    else:\n        total += x\n',
    "with open(path, 'w') as f:\n    f.write(data)\n",
    "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n",
    "seen = set()\nfor k in range(10):\n    seen.add(k)\nprint([[k] for k in seen])\n",
    'import os\n\nname = os.path.join("a", "b")\nif name in cache:\n    pass\n',
]


def tiny_texts(n: int = 60) -> list[str]:
    """`n` distinct small Python snippets (a few KB in all)."""
    return [
        f"# file {i}\n" + SAMPLE_CODE[i % len(SAMPLE_CODE)] + f"value_{i} = {i}\n" for i in range(n)
    ]


def build(argv: list[str]) -> None:
    """Run `sparsecircuits corpus build ARGV` with a tiny vocabulary and expect success."""
    from sparsecircuits.cli import main

    try:
        main(["corpus", "build", "--vocab-size", "300", *argv])
    except SystemExit as e:
        assert e.code == 0, f"build failed with exit code {e.code}"


def split_texts(corpus_dir, split: str) -> list[str]:
    """The documents of one split, decoded back from the shards."""
    from sparsecircuits.corpus import TokenData, Tokenizer

    tok = Tokenizer.load(corpus_dir)
    data = TokenData(corpus_dir, split)
    ids = data.tokens(0, data.n_tokens).tolist()
    docs, cur = [], None
    for i in ids:
        if i == tok.eot_id:
            if cur is not None:
                docs.append(cur)
            cur = []
        else:
            cur.append(i)
    if cur is not None:
        docs.append(cur)
    return [tok.decode(d) for d in docs]
