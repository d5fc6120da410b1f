"""Grid transfers and coarse operators.

Per axis the coarse grid depends on the boundary condition:

- Dirichlet and periodic axes are vertex-coarsened: coarse point ``J`` is fine point ``2J + 1`` and
  ``n -> n // 2`` (exactly nested for odd ``n`` with Dirichlet, even ``n`` with periodic; otherwise the
  coarse grid is a slightly shifted approximation, which multigrid tolerates as a coarse correction).
  Prolongation is linear interpolation, restriction full weighting ``(1/4, 1/2, 1/4)``.
- Neumann axes are cell-coarsened: coarse cell ``J`` is the union of fine cells ``2J, 2J + 1`` and
  ``n -> (n + 1) // 2``. Prolongation is the cell-centred linear interpolation ``(3/4, 1/4)``,
  restriction its adjoint ``(1/8, 3/8, 3/8, 1/8)``.

In every case restriction is ``P^T / 2`` per axis (``R = P^T / 2^d``), so a V-cycle with symmetric
smoothing is a symmetric preconditioner. Tensor-product (bi/trilinear) transfers apply the 1D ones
axis by axis.

Coarse operators are rediscretised: constant coefficients stay constants (``h -> 2h``). Variable
face coefficients are averaged: along the flux direction two fine faces in series combine by their
harmonic mean (vertex axes; cell axes take the aligned fine face), across it faces in parallel combine
by the full-weighting (arithmetic) average. This "harmonic along, arithmetic across" rule keeps the
coarse conductivity right across coefficient jumps.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array

from ._operator import DiffusionOperator, _harmonic, _make, pad_axis

__all__ = ["coarse_shape", "coarsen", "prolong", "restrict"]


def _kind(bc: str) -> str:
    return "cell" if bc == "neumann" else "vertex"


def coarse_size(n: int, bc: str) -> int:
    return (n + 1) // 2 if bc == "neumann" else n // 2


def coarse_shape(shape: tuple[int, ...], bcs: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(coarse_size(n, b) for n, b in zip(shape, bcs))


def _sl(x: Array, start: int, stop: int, axis: int, stride: int = 1) -> Array:
    return jax.lax.slice_in_dim(x, start, stop, stride, axis=axis)


def _pad(x: Array, axis: int, lo: int, hi: int, mode: str = "constant") -> Array:
    widths = [(0, 0)] * x.ndim
    widths[axis] = (lo, hi)
    return jnp.pad(x, widths, mode=mode)


def _interleave(even: Array, odd: Array, axis: int) -> Array:
    stacked = jnp.stack([even, odd], axis=axis + 1)
    shape = list(even.shape)
    shape[axis] *= 2
    return stacked.reshape(shape)


def prolong_axis(c: Array, axis: int, n: int, bc: str) -> Array:
    """Interpolate ``c`` (coarse size ``m`` along ``axis``) to fine size ``n``."""
    m = c.shape[axis]
    if bc == "neumann":
        cp = _pad(c, axis, 1, 1, mode="edge")
        lo = 0.75 * c + 0.25 * _sl(cp, 0, m, axis)
        hi = 0.75 * c + 0.25 * _sl(cp, 2, m + 2, axis)
        return _sl(_interleave(lo, hi, axis), 0, n, axis)
    cp = pad_axis(c, axis, bc)
    mid = 0.5 * (_sl(cp, 0, m + 1, axis) + _sl(cp, 1, m + 2, axis))
    fine = _interleave(_sl(mid, 0, m, axis), c, axis)
    if n == 2 * m + 1:
        fine = jnp.concatenate([fine, _sl(mid, m, m + 1, axis)], axis=axis)
    return fine


def restrict_axis(f: Array, axis: int, m: int, bc: str) -> Array:
    """Full weighting along ``axis``: ``P_axis^T f / 2`` with ``P_axis`` from :func:`prolong_axis`."""
    n = f.shape[axis]
    if bc == "neumann":
        fz = _pad(f, axis, 0, 2 * m - n)
        fe = _pad(fz, axis, 1, 1, mode="edge")
        return (0.375 * (_sl(fe, 1, 2 * m + 1, axis, 2) + _sl(fe, 2, 2 * m + 2, axis, 2))
                + 0.125 * (_sl(fe, 0, 2 * m, axis, 2) + _sl(fe, 3, 2 * m + 2, axis, 2)))
    if bc == "periodic" and n != 2 * m:
        # Odd periodic sizes are not nested; take the exact adjoint of the interpolation.
        struct = jax.ShapeDtypeStruct(_resize(f.shape, axis, m), f.dtype)
        (out,) = jax.linear_transpose(lambda c: prolong_axis(c, axis, n, bc), struct)(f)
        return 0.5 * out
    if n == 2 * m:
        right = _sl(f, 0, 1, axis) if bc == "periodic" else jnp.zeros_like(_sl(f, 0, 1, axis))
        fe = jnp.concatenate([f, right], axis=axis)
    else:
        fe = f
    return (0.25 * (_sl(fe, 0, 2 * m, axis, 2) + _sl(fe, 2, 2 * m + 1, axis, 2))
            + 0.5 * _sl(fe, 1, 2 * m, axis, 2))


def _resize(shape, axis, m):
    s = list(shape)
    s[axis] = m
    return tuple(s)


def prolong(c: Array, fine_shape: tuple[int, ...], bcs: tuple[str, ...]) -> Array:
    """(Bi/tri)linear interpolation from the coarse grid to ``fine_shape``."""
    for d, (n, b) in enumerate(zip(fine_shape, bcs)):
        c = prolong_axis(c, d, n, b)
    return c


def restrict(f: Array, bcs: tuple[str, ...]) -> Array:
    """Full weighting ``R = P^T / 2^d`` to the coarse grid (weights sum to one)."""
    for d, b in enumerate(bcs):
        f = restrict_axis(f, d, coarse_size(f.shape[d], b), b)
    return f


def average_axis(x: Array, axis: int, bc: str) -> Array:
    """Coarsen a field by local averaging (weights summing to one); size-1 axes broadcast."""
    n = x.shape[axis]
    if n == 1:
        return x
    m = coarse_size(n, bc)
    if bc == "neumann":
        xe = _pad(x, axis, 0, 2 * m - n, mode="edge")
        return 0.5 * (_sl(xe, 0, 2 * m, axis, 2) + _sl(xe, 1, 2 * m, axis, 2))
    xe = _pad(x, axis, 0, 2 * m + 1 - n, mode="edge")
    return (0.25 * (_sl(xe, 0, 2 * m, axis, 2) + _sl(xe, 2, 2 * m + 1, axis, 2))
            + 0.5 * _sl(xe, 1, 2 * m, axis, 2))


def _coarsen_faces(w: Array, d: int, shape, bcs) -> Array:
    if w.ndim == 0:
        return w
    n = shape[d]
    m = coarse_size(n, bcs[d])
    if w.shape[d] > 1:
        if bcs[d] == "neumann":
            we = _pad(w, d, 0, 2 * m + 1 - (n + 1), mode="edge")
            w_new = _sl(we, 0, 2 * m + 1, d, 2)
        else:
            we = _pad(w, d, 0, 2 * m + 2 - (n + 1), mode="edge")
            w_new = _harmonic(_sl(we, 0, 2 * m + 2, d, 2), _sl(we, 1, 2 * m + 2, d, 2))
            if bcs[d] == "periodic":
                w_new = jnp.concatenate([_sl(w_new, 0, m, d), _sl(w_new, 0, 1, d)], axis=d)
        w = w_new
    for e in range(len(shape)):
        if e != d:
            w = average_axis(w, e, bcs[e])
    return w


def coarsen(op: DiffusionOperator) -> DiffusionOperator:
    """The rediscretised / coefficient-averaged coarse operator (``h -> 2h`` on every axis)."""
    shape = coarse_shape(op.shape, op.bc)
    weights = [_coarsen_faces(w, d, op.shape, op.bc) for d, w in enumerate(op.weights)]
    c = op.c
    if c.ndim:
        for d, b in enumerate(op.bc):
            c = average_axis(c, d, b)
    h = tuple(2 * x for x in op.h)
    out = _make(weights, c, shape, h, op.bc)
    # Singularity is inherited (the averaged c of a concretely zero c is zero).
    return DiffusionOperator(out.weights, out.c, shape, h, op.bc, op.singular)
