"""The sweep's figures: the frontier (pretraining loss vs circuit size, per kind) and size vs target loss."""

from __future__ import annotations

from pathlib import Path

COLOURS = {"sparse": "#1f77b4", "dense": "#d62728"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no screen
    import matplotlib.pyplot as plt

    return plt


def plot_frontier(frontier: dict, path: Path) -> None:
    """Held-out pretraining loss (x) vs geometric-mean circuit edges (y, log), one series per kind."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for kind in ("sparse", "dense"):
        pts = sorted(
            (p for p in frontier["points"] if p["kind"] == kind and p["geomean_edges"]),
            key=lambda p: p["val_loss"],
        )
        if pts:
            ax.plot(
                [p["val_loss"] for p in pts],
                [p["geomean_edges"] for p in pts],
                "o-",
                color=COLOURS[kind],
                label=kind,
            )
            for p in pts:
                ax.annotate(
                    p["name"],
                    (p["val_loss"], p["geomean_edges"]),
                    fontsize=7,
                    xytext=(4, 4),
                    textcoords="offset points",
                )
    ax.set_yscale("log")
    ax.set_xlabel("held-out pretraining loss (nats/token)")
    ax.set_ylabel("circuit edges (geometric mean)")
    ratio = frontier.get("dense_over_sparse_edges")
    title = f"{len(frontier['common_tasks'])} tasks at target {frontier['target_loss']:g}"
    if ratio:
        title += f"; dense / sparse edges at matched loss: {ratio:.1f}x"
    ax.set_title(title, fontsize=9)
    _save(plt, fig, ax, path)


def plot_size_vs_loss(frontier: dict, path: Path) -> None:
    """Circuit edges (log) vs target task loss for the best sparse model and its matched dense one."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    kinds = {p["name"]: p["kind"] for p in frontier["points"]}
    for name in (frontier.get("best_sparse"), frontier.get("matched_dense")):
        rows = [r for r in frontier.get("size_vs_loss", []) if name and r.get(name)]
        if rows:
            ax.plot(
                [r["target_loss"] for r in rows],
                [r[name] for r in rows],
                "o-",
                color=COLOURS[kinds[name]],
                label=f"{name} ({kinds[name]})",
            )
    ax.set_yscale("log")
    ax.set_xlabel("target task loss (held-out)")
    ax.set_ylabel("circuit edges (geometric mean over shared tasks)")
    _save(plt, fig, ax, path)


def _save(plt, fig, ax, path: Path) -> None:
    """Legend, grid, layout, then the PNG written atomically."""
    from sparsecircuits.fileio import atomic_path

    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
