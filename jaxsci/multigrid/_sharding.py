"""Domain-decomposed multigrid: what a sharded solve communicates, read from the compiled program.

A grid sharded over a device mesh (``jax.device_put(f, NamedSharding(mesh, P("x", None)))``) runs
through :func:`jaxsci.multigrid.solve` unchanged: XLA's SPMD partitioner turns every shifted slice of
the stencils, smoothers and transfers into a halo exchange (``collective-permute`` of one boundary
row per neighbour), the norms into scalar ``all-reduce``s, and the coarsest level (at most
``coarse_max`` unknowns) into an ``all-gather`` of a few hundred bytes followed by a redundant dense
solve on every device. Library code creates no mesh; the computation follows the data.

This module reads the compiled HLO text (``jax.jit(f).lower(...).compile().as_text()``) and lists
its collectives with their bytes, so tests can check that a sharded cycle exchanges halos only
and benchmarks can set the measured volume against the surface-to-volume estimate.

Cost of a V-cycle on ``P`` devices along one axis of an ``n x n`` grid: per level ``l`` about
``k n / 2^l`` values per halo exchange (``k`` exchanges per level, one or two rows each way), i.e.
``O(n)`` bytes per device per level against ``O(n^2 / P)`` flops: the surface-to-volume ratio.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

__all__ = ["COLLECTIVES", "Collective", "collectives", "loop_computations", "summarize"]

#: The collective operations of XLA's HLO.
COLLECTIVES = ("all-gather", "all-reduce", "all-to-all", "collective-permute", "reduce-scatter")

_ITEM_BYTES = {
    "pred": 1,
    "s8": 1,
    "u8": 1,
    "s16": 2,
    "u16": 2,
    "f16": 2,
    "bf16": 2,
    "s32": 4,
    "u32": 4,
    "f32": 4,
    "s64": 8,
    "u64": 8,
    "f64": 8,
    "c64": 8,
    "c128": 16,
}
_OP = re.compile(
    r"^\s*(?:ROOT\s+)?%(\S+)\s*=\s*(.+?)\s+(" + "|".join(COLLECTIVES) + r")(-start)?\("
)
_SHAPE = re.compile(r"\b(" + "|".join(_ITEM_BYTES) + r")\[([\d,]*)\]")
_COMPUTATION = re.compile(r"^(?:ENTRY\s+)?%(\S+)\s*\(.*\{\s*$")
_WHILE_BODY = re.compile(r"\bwhile\(.*?\bbody=%([\w.\-]+)")
_CALLS = re.compile(
    r"\b(?:calls|body|condition|to_apply|branch_computations|true_computation|false_computation)"
    r"=\{?([%\w.\-, ]+)\}?"
)


@dataclass(frozen=True)
class Collective:
    """One collective of a compiled program: ``kind`` (e.g. ``"collective-permute"``), ``nbytes``
    (the bytes of its result on one device: what that device receives), ``shapes`` (``(dtype,
    dims)`` of the result), ``computation`` (the HLO computation holding it), ``in_loop`` (inside
    the body of a ``while`` loop, i.e. run once per iteration) and ``op_name`` (JAX's metadata, the
    primitive that produced it, or ``""``)."""

    kind: str
    nbytes: int
    shapes: tuple[tuple[str, tuple[int, ...]], ...]
    computation: str
    in_loop: bool
    op_name: str

    @property
    def largest(self) -> tuple[int, ...]:
        """The dims of the largest array this collective produces."""
        return max((dims for _, dims in self.shapes), key=lambda d: int(np.prod(d)), default=())


def _computations(text: str) -> dict[str, list[str]]:
    blocks: dict[str, list[str]] = {}
    name = None
    for line in text.splitlines():
        m = _COMPUTATION.match(line)
        if m:
            name = m.group(1)
            blocks[name] = []
        elif name is not None:
            if line.strip() == "}":
                name = None
            else:
                blocks[name].append(line)
    return blocks


def loop_computations(text: str) -> set[str]:
    """Names of the computations that run inside a ``while`` body (transitively)."""
    blocks = _computations(text)
    calls = {
        name: {
            c.strip().lstrip("%")
            for line in lines
            for group in _CALLS.findall(line)
            for c in group.split(",")
            if c.strip()
        }
        for name, lines in blocks.items()
    }
    todo = [b for lines in blocks.values() for line in lines for b in _WHILE_BODY.findall(line)]
    seen: set[str] = set()
    while todo:
        c = todo.pop()
        if c in seen or c not in blocks:
            continue
        seen.add(c)
        todo.extend(calls.get(c, ()))
    return seen


def collectives(text: str) -> list[Collective]:
    """Every collective of the compiled HLO ``text`` (``compiled.as_text()``), in program order.

    Asynchronous pairs (``all-gather-start``/``-done``) count once, at their start; the bytes of a
    start op are those of its destination buffers (the last tuple element of its result).
    """
    blocks = _computations(text)
    in_loop = loop_computations(text)
    out = []
    for comp, lines in blocks.items():
        for line in lines:
            m = _OP.match(line)
            if not m:
                continue
            shapes = tuple(
                (t, tuple(int(d) for d in dims.split(",") if d))
                for t, dims in _SHAPE.findall(m.group(2))
            )
            if m.group(4) and len(shapes) > 1:  # (operands..., destinations...) of an async start
                shapes = shapes[len(shapes) // 2 :]
            nbytes = sum(_ITEM_BYTES[t] * int(np.prod(dims)) for t, dims in shapes)
            name = re.search(r'op_name="([^"]*)"', line)
            out.append(
                Collective(
                    m.group(3), nbytes, shapes, comp, comp in in_loop, name.group(1) if name else ""
                )
            )
    return out


def summarize(items: list[Collective], *, in_loop: bool | None = None) -> dict[str, dict]:
    """``{kind: {"count": ..., "bytes": ...}}`` over ``items`` (only those with ``in_loop`` equal
    to the given value, unless ``None``)."""
    out = {k: {"count": 0, "bytes": 0} for k in COLLECTIVES}
    for c in items:
        if in_loop is None or c.in_loop == in_loop:
            out[c.kind]["count"] += 1
            out[c.kind]["bytes"] += c.nbytes
    return out
