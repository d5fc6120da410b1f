"""Grid transfers and coarse operators.

Per axis the coarse grid depends on the boundary condition:

- Dirichlet and periodic axes are vertex-coarsened: coarse point ``J`` is fine point ``2J + 1`` and
  ``n -> n // 2`` (exactly nested for odd ``n`` with Dirichlet, even ``n`` with periodic; otherwise the
  coarse grid is a slightly shifted approximation, which multigrid tolerates as a coarse correction).
  Prolongation is linear interpolation, restriction full weighting ``(1/4, 1/2, 1/4)``.
- Neumann axes are cell-coarsened: coarse cell ``J`` is the union of fine cells ``2J, 2J + 1`` and
  ``n -> (n + 1) // 2``. Prolongation is the cell-centred linear interpolation ``(3/4, 1/4)``,
  restriction its adjoint ``(1/8, 3/8, 3/8, 1/8)``.

Non-nested sizes (Dirichlet with even ``n``, periodic with odd ``n``, Neumann with odd ``n``) are
handled exactly rather than approximately: the coarse points are still a subset of the fine ones
(cells: unions of fine cells), so the coarse grid is uniform except for one shorter or longer interval
next to a boundary (or across the periodic wrap). :func:`axis_nodes` / :func:`coarse_nodes` track the
true coordinates per level, :func:`interpolation_weights` gives the linear-interpolation weights in
those coordinates, and :func:`geometry_factors` the finite-volume face/volume factors the coarse
operator needs on the non-uniform grid (see :func:`jaxsci.multigrid.build_hierarchy`). For nested
sizes (Dirichlet ``n = 2^k - 1``, even periodic/Neumann sizes all the way down) every factor is one
and the fast constant-weight kernels below run unchanged.

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

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ._operator import BOUNDARY_CONDITIONS, DiffusionOperator, _harmonic, pad_axis

__all__ = [
    "axis_nodes",
    "coarse_nodes",
    "coarse_shape",
    "coarsen",
    "geometry_factors",
    "interpolation_weights",
    "prolong",
    "restrict",
]

_UNIFORM_TOL = 1e-9


def _kind(bc: str) -> str:
    return "cell" if bc == "neumann" else "vertex"


def coarse_size(n: int, bc: str) -> int:
    return (n + 1) // 2 if bc == "neumann" else n // 2


def coarse_shape(shape: tuple[int, ...], bcs: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(coarse_size(n, b) for n, b in zip(shape, bcs, strict=False))


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


def _along(w: tuple[float, ...], axis: int, ndim: int, dtype) -> Array:
    shape = [1] * ndim
    shape[axis] = len(w)
    return jnp.asarray(np.asarray(w).reshape(shape), dtype)


def prolong_axis(c: Array, axis: int, n: int, bc: str, weights: tuple | None = None) -> Array:
    """Interpolate ``c`` (coarse size ``m`` along ``axis``) to fine size ``n``.

    ``weights`` (from :func:`interpolation_weights`; ``None`` on a uniform nested grid) are the
    coordinate-exact linear-interpolation weights of a non-nested axis.
    """
    m = c.shape[axis]
    if bc == "neumann":
        cp = _pad(c, axis, 1, 1, mode="edge")
        if weights is None:
            lo = 0.75 * c + 0.25 * _sl(cp, 0, m, axis)
            hi = 0.75 * c + 0.25 * _sl(cp, 2, m + 2, axis)
        else:
            a = _along(weights[0], axis, c.ndim, c.dtype)
            b = _along(weights[1], axis, c.ndim, c.dtype)
            lo = a * c + (1 - a) * _sl(cp, 0, m, axis)
            hi = b * c + (1 - b) * _sl(cp, 2, m + 2, axis)
        return _sl(_interleave(lo, hi, axis), 0, n, axis)
    cp = pad_axis(c, axis, bc)
    if weights is None:
        mid = 0.5 * (_sl(cp, 0, m + 1, axis) + _sl(cp, 1, m + 2, axis))
    else:
        ne = len(weights[0])
        beta = _along(weights[0], axis, c.ndim, c.dtype)
        mid = (1 - beta) * _sl(cp, 0, ne, axis) + beta * _sl(cp, 1, ne + 1, axis)
    fine = _interleave(_sl(mid, 0, m, axis), c, axis)
    if n == 2 * m + 1:
        fine = jnp.concatenate([fine, _sl(mid, m, m + 1, axis)], axis=axis)
    return fine


def restrict_axis(f: Array, axis: int, m: int, bc: str, weights: tuple | None = None) -> Array:
    """Full weighting along ``axis``: ``P_axis^T f / 2`` with ``P_axis`` from :func:`prolong_axis`."""
    n = f.shape[axis]
    if weights is not None:
        # Non-nested axis: the exact adjoint of the coordinate-weighted interpolation.
        struct = jax.ShapeDtypeStruct(_resize(f.shape, axis, m), f.dtype)
        (out,) = jax.linear_transpose(lambda c: prolong_axis(c, axis, n, bc, weights), struct)(f)
        return 0.5 * out
    if bc == "neumann":
        fz = _pad(f, axis, 0, 2 * m - n)
        fe = _pad(fz, axis, 1, 1, mode="edge")
        return 0.375 * (_sl(fe, 1, 2 * m + 1, axis, 2) + _sl(fe, 2, 2 * m + 2, axis, 2)) + 0.125 * (
            _sl(fe, 0, 2 * m, axis, 2) + _sl(fe, 3, 2 * m + 2, axis, 2)
        )
    if bc == "periodic" and n != 2 * m:
        # Odd periodic sizes are not nested; take the exact adjoint of the interpolation.
        struct = jax.ShapeDtypeStruct(_resize(f.shape, axis, m), f.dtype)
        (out,) = jax.linear_transpose(lambda c: prolong_axis(c, axis, n, bc), struct)(f)
        return 0.5 * out
    if n == 2 * m and bc == "dirichlet":
        # The same sums without an array of 2m + 1 points: a length that does not divide over the
        # devices of a sharded grid made XLA's partitioner transpose the field (all-to-all) here.
        even, odd = _sl(f, 0, n, axis, 2), _sl(f, 1, n, axis, 2)
        right = _pad(_sl(even, 1, m, axis), axis, 0, 1)
        return 0.25 * (even + right) + 0.5 * odd
    if n == 2 * m:
        right = _sl(f, 0, 1, axis) if bc == "periodic" else jnp.zeros_like(_sl(f, 0, 1, axis))
        fe = jnp.concatenate([f, right], axis=axis)
    else:
        fe = f
    return 0.25 * (_sl(fe, 0, 2 * m, axis, 2) + _sl(fe, 2, 2 * m + 1, axis, 2)) + 0.5 * _sl(
        fe, 1, 2 * m, axis, 2
    )


def _resize(shape, axis, m):
    s = list(shape)
    s[axis] = m
    return tuple(s)


def _check_bcs(bcs: Any, ndim: int, what: str) -> tuple[str, ...]:
    if isinstance(bcs, str):
        bcs = (bcs,) * ndim
    if not isinstance(bcs, (tuple, list)) or not all(isinstance(b, str) for b in bcs):
        raise TypeError(
            f"`bcs` must be a boundary-condition name or a tuple of names, got {bcs!r}."
        )
    for b in bcs:
        if b not in BOUNDARY_CONDITIONS:
            raise ValueError(f"`bcs` entries must be one of {BOUNDARY_CONDITIONS}, got {b!r}.")
    if len(bcs) != ndim:
        raise ValueError(f"`bcs` must have one name per axis of {what} ({ndim}), got {bcs!r}.")
    return tuple(bcs)


def _check_field(x: Any, name: str) -> Array:
    try:
        x = jnp.asarray(x)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be a floating array, got {type(x).__name__}.") from None
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        raise TypeError(f"`{name}` must be a floating array, got dtype {x.dtype}.")
    if not 1 <= x.ndim <= 3:
        raise ValueError(f"`{name}` must have 1, 2 or 3 dimensions, got shape {x.shape}.")
    return x


def prolong(
    c: Float[ArrayLike, " *coarse"],
    fine_shape: tuple[int, ...],
    bcs: str | tuple[str, ...],
    weights: tuple | None = None,
) -> Float[Array, " *fine"]:
    """(Bi/tri)linear interpolation from the coarse grid to ``fine_shape``.

    ``c`` must have the coarse shape of ``fine_shape`` (per axis ``n // 2``, Neumann ``(n + 1) // 2``);
    ``bcs`` is one boundary-condition name per axis (or one name for all). ``weights``: per axis,
    ``None`` (uniform nested grid, the default) or the output of :func:`interpolation_weights` for
    that axis.
    """
    if isinstance(fine_shape, (int, np.integer)) and not isinstance(fine_shape, bool):
        fine_shape = (fine_shape,)
    if not isinstance(fine_shape, (tuple, list)) or not all(
        isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1 for n in fine_shape
    ):
        raise TypeError(f"`fine_shape` must be a tuple of positive ints, got {fine_shape!r}.")
    fine_shape = tuple(int(n) for n in fine_shape)
    c = _check_field(c, "c")
    if len(fine_shape) != c.ndim:
        raise ValueError(
            f"`fine_shape` must have one entry per axis of `c` ({c.ndim}), got {fine_shape}."
        )
    bcs = _check_bcs(bcs, c.ndim, "`c`")
    want = coarse_shape(fine_shape, bcs)
    if tuple(c.shape) != want or min(want) < 1:
        raise ValueError(
            f"`c` must have the coarse shape {want} of `fine_shape` {fine_shape} with `bcs` {bcs}, "
            f"got {c.shape}."
        )
    weights = weights or (None,) * len(bcs)
    for d, (n, b) in enumerate(zip(fine_shape, bcs, strict=False)):
        c = prolong_axis(c, d, n, b, weights[d])
    return c


def restrict(
    f: Float[ArrayLike, " *fine"], bcs: str | tuple[str, ...], weights: tuple | None = None
) -> Float[Array, " *coarse"]:
    """Full weighting ``R = P^T / 2^d`` to the coarse grid (``P`` from :func:`prolong` with the same
    ``weights``). ``f`` needs at least 2 points per axis; ``bcs`` as in :func:`prolong`."""
    f = _check_field(f, "f")
    bcs = _check_bcs(bcs, f.ndim, "`f`")
    if min(f.shape) < 2:
        raise ValueError(f"`f` must have at least 2 points along every axis, got shape {f.shape}.")
    weights = weights or (None,) * len(bcs)
    for d, b in enumerate(bcs):
        f = restrict_axis(f, d, coarse_size(f.shape[d], b), b, weights[d])
    return f


# --- true coordinates of every level (host-side NumPy, static) -------------------------------


def axis_nodes(n: int, bc: str) -> np.ndarray:
    """Coordinates on ``[0, 1]`` of the finest grid along one axis: the nodes (Dirichlet: interior
    nodes ``(i+1)/(n+1)``; periodic: ``i/n``) or, for Neumann (cell-centred), the ``n + 1`` cell edges."""
    if bc == "dirichlet":
        return np.arange(1, n + 1) / (n + 1)
    if bc == "periodic":
        return np.arange(n) / n
    return np.arange(n + 1) / n


def coarse_nodes(x: np.ndarray, bc: str) -> np.ndarray:
    """The coarse grid's coordinates: fine nodes ``1, 3, 5, ...`` (vertex axes) or unions of fine
    cell pairs, the last cell single when ``n`` is odd (Neumann)."""
    if bc == "neumann":
        e = x[0::2]
        if (len(x) - 1) % 2:
            e = np.append(e, x[-1])
        return e
    return x[1::2]


def _vertex_extended(x: np.ndarray, bc: str) -> np.ndarray:
    if bc == "dirichlet":
        return np.concatenate([[0.0], x, [1.0]])
    return np.concatenate([[x[-1] - 1.0], x, [x[0] + 1.0]])


def _is_uniform(*arrays: np.ndarray, value: float | None = None) -> bool:
    return all(
        np.allclose(a, value if value is not None else a.flat[0], rtol=0, atol=_UNIFORM_TOL)
        for a in arrays
        if a.size
    )


def interpolation_weights(xf: np.ndarray, xc: np.ndarray, bc: str) -> tuple | None:
    """Linear-interpolation weights from coarse coordinates ``xc`` to fine ``xf`` for
    :func:`prolong_axis`, or ``None`` when they are the uniform ``1/2`` (vertex) / ``3/4`` (cell) ones.

    Vertex axes: ``(beta,)`` with ``beta[J]`` the weight of the right coarse neighbour of fine node
    ``2J``. Cell axes: ``(a, b)``, the weights of the own coarse cell for fine cells ``2J`` and
    ``2J + 1`` (the rest goes to the neighbouring coarse cell; beyond the outermost coarse centres the
    value is extrapolated as a constant).
    """
    if bc == "neumann":
        y = 0.5 * (xf[:-1] + xf[1:])
        yc = 0.5 * (xc[:-1] + xc[1:])
        m, n = len(yc), len(y)
        a = np.full(m, 0.75)
        b = np.full(m, 0.75)
        for J in range(m):
            for k, own, nb in ((2 * J, a, J - 1), (2 * J + 1, b, J + 1)):
                if k < n and 0 <= nb < m:
                    own[J] = 1.0 - abs(y[k] - yc[J]) / abs(yc[nb] - yc[J])
        if _is_uniform(a, b, value=0.75) and n == 2 * m:
            return None
        return tuple(a.tolist()), tuple(b.tolist())
    cp = _vertex_extended(xc, bc)
    ne = (len(xf) + 1) // 2
    xe = xf[0::2]
    beta = (xe - cp[:ne]) / (cp[1 : ne + 1] - cp[:ne])
    if _is_uniform(beta, value=0.5):
        return None
    return (tuple(beta.tolist()),)


def geometry_factors(x: np.ndarray, bc: str, spacing: float) -> tuple | None:
    """Finite-volume factors of a (possibly non-uniform) level grid with nominal ``spacing`` H.

    Returns ``(H / L, D / H)``: ``L`` the ``m + 1`` face-to-node distances along the axis (the flux
    gradient's length), ``D`` the ``m`` dual-cell widths (a node's share of the axis). A coarse
    operator in the uniform form ``sum_d w (u_i - u_j) / H_d^2`` then takes face weights
    ``a * (H_d / L_d) * prod_{e != d} D_e / H_e`` and reaction ``c * prod_e D_e / H_e``; for linear
    interpolation and ``R = P^T / 2^d`` this is the Galerkin operator ``R A P`` in 1D and its
    5/7-point lumping in 2D/3D. ``None`` when the grid is uniform with spacing H.
    """
    if bc == "neumann":
        D = np.diff(x)
        yc = 0.5 * (x[:-1] + x[1:])
        L = np.concatenate([[D[0]], np.diff(yc), [D[-1]]])
    else:
        L = np.diff(_vertex_extended(x, bc))
        D = 0.5 * (L[:-1] + L[1:])
    face, vol = spacing / L, D / spacing
    if _is_uniform(face, vol, value=1.0):
        return None
    return tuple(face.tolist()), tuple(vol.tolist())


def average_axis(x: Array, axis: int, bc: str) -> Array:
    """Coarsen a field by local averaging (weights summing to one); size-1 axes broadcast."""
    n = x.shape[axis]
    if n == 1:
        return x
    m = coarse_size(n, bc)
    if bc == "neumann":
        xe = _pad(x, axis, 0, 2 * m - n, mode="edge")
        return 0.5 * (_sl(xe, 0, 2 * m, axis, 2) + _sl(xe, 1, 2 * m, axis, 2))
    if n == 2 * m:
        # As below, without the edge-padded array of 2m + 1 points (see restrict_axis): the right
        # neighbour of the last even point is the last odd one.
        even, odd = _sl(x, 0, n, axis, 2), _sl(x, 1, n, axis, 2)
        last = jax.lax.broadcasted_iota(jnp.int32, even.shape, axis) == m - 1
        right = jnp.where(last, odd, _pad(_sl(even, 1, m, axis), axis, 0, 1))
        return 0.25 * (even + right) + 0.5 * odd
    xe = _pad(x, axis, 0, 2 * m + 1 - n, mode="edge")
    return 0.25 * (_sl(xe, 0, 2 * m, axis, 2) + _sl(xe, 2, 2 * m + 1, axis, 2)) + 0.5 * _sl(
        xe, 1, 2 * m, axis, 2
    )


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
    if not isinstance(op, DiffusionOperator):
        raise TypeError(
            "`op` must be a jaxsci.multigrid operator (from `poisson` or `diffusion`), got "
            f"{type(op).__name__}."
        )
    shape = coarse_shape(op.shape, op.bc)
    if min(shape) < 1:
        raise ValueError(
            f"`op` is too small to coarsen: grid {op.shape} with `bc` {op.bc} has no coarse points."
        )
    weights = [_coarsen_faces(w, d, op.shape, op.bc) for d, w in enumerate(op.weights)]
    c = op.c
    if c is not None and c.ndim:
        for d, b in enumerate(op.bc):
            c = average_axis(c, d, b)
    h = tuple(2 * x for x in op.h)
    # A zero c (None) stays zero: singularity is inherited.
    return DiffusionOperator(tuple(weights), c, shape, h, op.bc)
