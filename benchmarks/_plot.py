"""Figures for ``python -m benchmarks --plot DIR``.

A module may define ``plot(records, outdir) -> list[pathlib.Path]`` for its own figures; otherwise a
default bar chart of median times per case and implementation is drawn.
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

from benchmarks._harness import Record


def default_plot(name: str, records: Sequence[Record], outdir: pathlib.Path, env: dict) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timed = [r for r in records if r.median_s]
    if not timed:
        return []
    labels = [f"{r.case}\n" + " ".join(f"{k}={v}" for k, v in r.params.items()) for r in timed]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(timed) + 1.5))
    impls = sorted({r.impl for r in timed})
    colors = {impl: f"C{i}" for i, impl in enumerate(impls)}
    ax.barh(range(len(timed)), [r.median_s for r in timed], color=[colors[r.impl] for r in timed])
    ax.set_yticks(
        range(len(timed)),
        [f"[{r.impl}] {lab}" for r, lab in zip(timed, labels, strict=False)],
        fontsize=6,
    )
    ax.set_xscale("log")
    ax.set_xlabel("median time (s)")
    ax.set_title(f"{name}: {env['device_kind']}, jax {env['jax_version']}", fontsize=9)
    ax.invert_yaxis()
    fig.tight_layout()
    path = outdir / f"{name}.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path]


def plot_all(records: Sequence[Record], modules: dict, outdir: pathlib.Path, env: dict) -> list:
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, module in modules.items():
        mine = [r for r in records if r.benchmark == name]
        if hasattr(module, "plot"):
            paths += list(module.plot(mine, outdir) or [])
        else:
            paths += default_plot(name, mine, outdir, env)
    return paths
