"""Operator-dependent (Dendy "black-box") interpolation for 2D 5/9-point and 3D 7/27-point stencils.

Coarse points are the fine points with both indices odd (0-based; the vertex coarsening of
:mod:`jaxsci.multigrid._transfer`, any ``n`` per Dirichlet axis). Write the stencil of the fine
operator at a point with the diagonal ``a_C > 0`` and the couplings ``a_o >= 0`` (the negatives of the
off-diagonal entries) to the eight neighbours ``o in {-1, 0, 1}^2 \\ {0}``; couplings across a
Dirichlet boundary are absent (they remain in ``a_C``); the few positive off-diagonal entries of
Galerkin stencils are lumped into ``a_C`` (``a_o <- 0``, ``a_C <- a_C + |a_o|``: the row sum
stays). With ``Sigma`` the sum of the eight couplings:

- **points between two coarse points along axis d** (the other index odd): collapse the stencil onto
  axis ``d``: ``A_lo = sum_{o_d = -1} a_o``, ``A_hi = sum_{o_d = +1} a_o``; ``eps = min(A_lo, A_hi) /
  a_C``; ``H = [a_C > (1 + eps) Sigma]`` (the diagonal excess -- a boundary or a zero-order term --
  counts only when significant); ``den = A_lo + A_hi + H (a_C - Sigma)``; ``P_lo = A_lo / den``,
  ``P_hi = A_hi / den``.
- **cell centres** (both indices even; the four diagonal neighbours are coarse):
  ``eps`` = the smallest of the four side sums over ``a_C``, ``H`` as above,
  ``den = Sigma + H (a_C - Sigma)``, and per corner, e.g. south-west (``o = (-1, -1)``),
  ``P_SW = (a_S P_W(S) + a_W P_S(W) + a_SW) / den`` with ``P_W(S)`` the axis-0 low weight of the
  neighbour ``S = (0, -1)`` and ``P_S(W)`` the axis-1 low weight of ``W = (-1, 0)``.

For constant coefficients (and odd ``n``) this is bilinear interpolation; away from Dirichlet
boundaries ``P 1 = 1`` (the rows sum to one where the stencil's rows sum to zero). Restriction is
``R = P^T / 4`` and the coarse operator the Galerkin product ``R A P`` (a 9-point stencil, probed by
:func:`jaxsci.multigrid._galerkin.galerkin_coarsen`), so the correction is the energy-orthogonal
projection onto the range of ``P`` on every level.

References: Alcouffe, Brandt, Dendy, Painter, SIAM J. Sci. Stat. Comput. 2 (1981) 430-454; Dendy,
J. Comput. Phys. 48 (1982) 366-386; Trottenberg, Oosterlee, Schueller, *Multigrid* (2001), sec. 7.7.
Cost: setup ``O(N)`` per level (weights) plus the 9 probes of the Galerkin product; one application
of ``P`` or ``R`` reads 8 weight arrays of about ``3N/4`` entries in all.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._galerkin import GalerkinOperator, galerkin_coarsen
from ._operator import DiffusionOperator, _face_shape

__all__ = [
    "dendy_prolong",
    "dendy_prolong_nd",
    "dendy_restrict",
    "dendy_restrict_nd",
    "dendy_weights",
    "dendy_weights_nd",
    "stencil9",
]

# Offsets of a 9-point stencil in itertools.product order: k = 3 (o0 + 1) + (o1 + 1).
_CENTRE = 4


def stencil9(op) -> Float[Array, "9 n0 n1"]:
    """The 9-point stencil ``S[k, i, j]`` (``(A u)_ij = sum_k S[k] u_{ij + o_k}``) of a 2D operator
    with nearest-neighbour couplings (:func:`stencil_full`)."""
    return stencil_full(op)


def _safe_div(x, den):
    return jnp.where(den > 0, x / jnp.where(den > 0, den, 1), 0)


def _couplings(s: Array) -> tuple[Array, Array]:
    """The couplings ``a_o`` (shape ``(3, 3, ...)``, centre zero) and diagonal ``a_C`` of stencils
    ``s``. A positive off-diagonal entry (Galerkin products of strongly varying coefficients have a
    few) is lumped into the diagonal, which keeps the row sum and so ``P 1 = 1``."""
    a = -s.reshape((3, 3) + s.shape[1:])
    a = a.at[1, 1].set(0)
    negative = jnp.minimum(a, 0)
    return a - negative, s[_CENTRE] - jnp.sum(negative, axis=(0, 1))


def _line(s: Array, axis: int) -> tuple[Array, Array]:
    """Weights ``(P_lo, P_hi)`` of points interpolated along ``axis`` (``s``: their stencils)."""
    a, a_c = _couplings(s)
    sigma = jnp.sum(a, axis=(0, 1))
    lo = jnp.sum(a[0], axis=0) if axis == 0 else jnp.sum(a[:, 0], axis=0)
    hi = jnp.sum(a[2], axis=0) if axis == 0 else jnp.sum(a[:, 2], axis=0)
    eps = _safe_div(jnp.minimum(lo, hi), a_c)
    excess = jnp.where(a_c > (1 + eps) * sigma, a_c - sigma, 0)
    den = lo + hi + excess
    return _safe_div(lo, den), _safe_div(hi, den)


def _pad1(x: Array, axis: int, lo: int, hi: int) -> Array:
    widths = [(0, 0)] * x.ndim
    widths[axis] = (lo, hi)
    return jnp.pad(x, widths)


def dendy_weights(op) -> tuple[Array, ...]:
    """The interpolation weights from the (2D, Dirichlet) level operator ``op`` to its coarse grid:
    ``(x_lo, x_hi, y_lo, y_hi, sw, se, nw, ne)`` (see the module docstring; ``x`` = axis 0).

    Shapes: ``x_*`` at the points (even, odd) ``(ne0, m1)``, ``y_*`` at (odd, even) ``(m0, ne1)``,
    corners at (even, even) ``(ne0, ne1)``, with ``m = n // 2`` and ``ne = n - m`` per axis.
    """
    s = stencil9(op)
    n0, n1 = op.shape
    m0, m1 = n0 // 2, n1 // 2
    ne0, ne1 = n0 - m0, n1 - m1
    x_lo, x_hi = _line(s[:, 0::2, 1::2], 0)
    y_lo, y_hi = _line(s[:, 1::2, 0::2], 1)
    sc = s[:, 0::2, 0::2]
    a, a_c = _couplings(sc)
    sigma = jnp.sum(a, axis=(0, 1))
    sides = jnp.stack([a[0].sum(0), a[2].sum(0), a[:, 0].sum(0), a[:, 2].sum(0)])
    eps = _safe_div(jnp.min(sides, axis=0), a_c)
    den = sigma + jnp.where(a_c > (1 + eps) * sigma, a_c - sigma, 0)
    # Neighbour weights, padded so that index J + 1 is the weight of the axis-1 (axis-0) neighbour
    # J of a cell centre: S = (2I, 2J - 1) -> x_*[I, J - 1], N -> x_*[I, J]; W -> y_*[I - 1, J].
    xlp, xhp = (_pad1(w, 1, 1, ne1 + 1 - m1) for w in (x_lo, x_hi))
    ylp, yhp = (_pad1(w, 0, 1, ne0 + 1 - m0) for w in (y_lo, y_hi))
    a_w, a_e, a_s, a_n = a[0, 1], a[2, 1], a[1, 0], a[1, 2]
    sw = a_s * xlp[:, :ne1] + a_w * ylp[:ne0] + a[0, 0]
    se = a_s * xhp[:, :ne1] + a_e * ylp[1 : ne0 + 1] + a[2, 0]
    nw = a_n * xlp[:, 1 : ne1 + 1] + a_w * yhp[:ne0] + a[0, 2]
    ne = a_n * xhp[:, 1 : ne1 + 1] + a_e * yhp[1 : ne0 + 1] + a[2, 2]
    corners = tuple(_safe_div(w, den) for w in (sw, se, nw, ne))
    return (x_lo, x_hi, y_lo, y_hi, *corners)


def _interleave(even: Array, odd: Array, axis: int, n: int) -> Array:
    """Even and odd entries along ``axis`` merged into length ``n`` (``odd`` may be one shorter)."""
    if odd.shape[axis] < even.shape[axis]:
        odd = _pad1(odd, axis, 0, even.shape[axis] - odd.shape[axis])
    stacked = jnp.stack([even, odd], axis=axis + 1)
    shape = list(even.shape)
    shape[axis] *= 2
    return jax.lax.slice_in_dim(stacked.reshape(shape), 0, n, axis=axis)


def dendy_prolong(
    e: Float[Array, " m0 m1"], weights: tuple[Array, ...], fine_shape: tuple[int, int]
) -> Float[Array, " n0 n1"]:
    """``P e``: injection at the coarse points, the weights of :func:`dendy_weights` elsewhere
    (zero Dirichlet values beyond the boundary)."""
    n0, n1 = fine_shape
    m0, m1 = e.shape
    ne0, ne1 = n0 - m0, n1 - m1
    x_lo, x_hi, y_lo, y_hi, sw, se, nw, ne = (w.astype(e.dtype) for w in weights)
    cp = jnp.pad(e, 1)
    eo = x_lo * cp[:ne0, 1 : m1 + 1] + x_hi * cp[1 : ne0 + 1, 1 : m1 + 1]
    oe = y_lo * cp[1 : m0 + 1, :ne1] + y_hi * cp[1 : m0 + 1, 1 : ne1 + 1]
    ee = (
        sw * cp[:ne0, :ne1]
        + se * cp[1 : ne0 + 1, :ne1]
        + nw * cp[:ne0, 1 : ne1 + 1]
        + ne * cp[1 : ne0 + 1, 1 : ne1 + 1]
    )
    even_rows = _interleave(ee, eo, 1, n1)
    odd_rows = _interleave(oe, e, 1, n1)
    return _interleave(even_rows, odd_rows, 0, n0)


def dendy_restrict(
    r: Float[Array, " n0 n1"], weights: tuple[Array, ...], coarse_shape: tuple[int, int]
) -> Float[Array, " m0 m1"]:
    """``R r = P^T r / 4`` (the exact adjoint of :func:`dendy_prolong`, scaled like full weighting)."""
    struct = jax.ShapeDtypeStruct(tuple(coarse_shape), r.dtype)
    fine = tuple(r.shape)
    (out,) = jax.linear_transpose(lambda c: dendy_prolong(c, weights, fine), struct)(r)
    return 0.25 * out


def dendy_coarsen(fine, coarse_shape, coarse_h) -> tuple[GalerkinOperator, tuple[Array, ...]]:
    """The weights of ``fine``'s operator-dependent interpolation and the Galerkin ``R A P``."""
    weights = dendy_weights(fine)
    coarse = galerkin_coarsen(
        fine,
        coarse_shape,
        coarse_h,
        lambda e: dendy_prolong(e, weights, fine.shape),
        lambda r: dendy_restrict(r, weights, coarse_shape),
    )
    return coarse, weights


# ------------------------------------------------------------------------------ any dimension
# Dendy's staged interpolation for any number of axes (2D and 3D: 5/9-point, 7/27-point stencils).
# A fine point's "class" is the set F of axes along which its index is even (fine-only); the coarse
# points are F = {} (injection). Points of class F are interpolated from their neighbours inside the
# coordinate space of F, after collapsing the stencil onto it (the couplings along the other axes,
# which reach points of the same class, are summed into the offsets they share within F):
#     b_o' = sum_{o : o|F = o'} a_o  (o' in {-1, 0, 1}^F, o' != 0),
#     den  = sum_o' b_o' + H (a_C - Sigma),  eps = min over the sides of F of sum b / a_C,
#     (P e)_i = sum_o' (b_o' / den) (P e)_{i + o'}.
# Every neighbour i + o' has class F \ supp(o'), strictly smaller, so the classes are filled in
# order of |F|: lines, then planes, then cell centres. In 2D this is exactly the formula above
# (`dendy_weights`): line points collapse onto their axis, cell centres compose from the line
# weights; in 3D it is Dendy's three stages (lines, planes, cell centres).


def stencil_full(op) -> Float[Array, " k *grid"]:
    """The ``3^d``-point stencil ``S[k, i]`` of an operator with nearest-neighbour couplings (offsets
    in ``itertools.product`` order): a Galerkin operator's own array; a Dirichlet
    :class:`~jaxsci.multigrid.DiffusionOperator`'s ``2d + 1`` entries read from its face weights
    (``-w / h_d^2`` to each axis neighbour inside the domain, the diagonal at the centre); otherwise
    probed (``3^d`` applications)."""
    if isinstance(op, GalerkinOperator) and all(w == 1 for w in op.widths):
        return op.stencil
    if isinstance(op, DiffusionOperator) and all(b == "dirichlet" for b in op.bc):
        d = op.ndim
        zero = jnp.zeros(op.shape, op.dtype)
        entries = [zero] * 3**d
        entries[3**d // 2] = jnp.broadcast_to(op.diagonal(), op.shape).astype(op.dtype)
        for axis in range(d):
            n = op.shape[axis]
            w = jnp.broadcast_to(op.weights[axis], _face_shape(op.shape, axis)).astype(op.dtype)
            scale = 1.0 / op.h[axis] ** 2
            idx = jnp.arange(n).reshape([n if e == axis else 1 for e in range(d)])
            lo = jnp.where(idx == 0, 0, -scale * jax.lax.slice_in_dim(w, 0, n, axis=axis))
            hi = jnp.where(idx == n - 1, 0, -scale * jax.lax.slice_in_dim(w, 1, n + 1, axis=axis))
            for sign, val in ((-1, lo), (1, hi)):
                o = [0] * d
                o[axis] = sign
                entries[sum((oo + 1) * 3 ** (d - 1 - e) for e, oo in enumerate(o))] = val
        return jnp.stack(entries)
    return galerkin_coarsen(op, op.shape, op.h, lambda e: e, lambda r: r).stencil


def _classes(ndim: int) -> list[tuple[int, ...]]:
    out = []
    for k in range(1, ndim + 1):
        out.extend(itertools.combinations(range(ndim), k))
    return out


def _class_slices(F: tuple[int, ...], ndim: int) -> tuple[slice, ...]:
    return tuple(slice(0, None, 2) if d in F else slice(1, None, 2) for d in range(ndim))


def dendy_weights_nd(op) -> tuple[Array, ...]:
    """Operator-dependent interpolation weights of a Dirichlet level operator in any dimension: per
    class ``F`` (in the order of :func:`_classes`), an array ``(3^|F| - 1, *class_shape)`` of the
    weights ``b_o' / den`` of the collapsed stencil (offsets ``o'`` over the axes of ``F`` in
    ``itertools.product`` order, the centre left out)."""
    d = op.ndim
    s = stencil_full(op)
    out = []
    for F in _classes(d):
        sub = s[(slice(None),) + _class_slices(F, d)]
        a = -sub.reshape((3,) * d + sub.shape[1:])
        a = a.at[(1,) * d].set(0)
        negative = jnp.minimum(a, 0)
        a = a - negative
        a_c = sub[(3**d) // 2] - jnp.sum(negative, axis=tuple(range(d)))
        sigma = jnp.sum(a, axis=tuple(range(d)))
        others = tuple(e for e in range(d) if e not in F)
        b = jnp.sum(a, axis=others) if others else a  # (3,)*|F| + class shape
        k = len(F)
        centre = (1,) * k
        b = b.at[centre].set(0)
        total = jnp.sum(b, axis=tuple(range(k)))
        sides = []
        for j in range(k):
            for side in (0, 2):
                sides.append(jnp.sum(jnp.take(b, side, axis=j), axis=tuple(range(k - 1))))
        eps = _safe_div(jnp.min(jnp.stack(sides), axis=0), a_c)
        den = total + jnp.where(a_c > (1 + eps) * sigma, a_c - sigma, 0)
        w = _safe_div(b, den).reshape((3**k,) + b.shape[k:])
        out.append(jnp.concatenate([w[: 3**k // 2], w[3**k // 2 + 1 :]]))
    return tuple(out)


def dendy_prolong_nd(
    e: Float[Array, " *coarse"], weights: tuple[Array, ...], fine_shape: tuple[int, ...]
) -> Float[Array, " *fine"]:
    """``P e`` for the weights of :func:`dendy_weights_nd`: injection at the coarse points (odd
    indices), then the classes in order, each from its already interpolated neighbours."""
    d = len(fine_shape)
    m = [n // 2 for n in fine_shape]
    ne = [n - n // 2 for n in fine_shape]
    # Values per parity class: parity tuple p (0 = even index along that axis, 1 = odd).
    vals = {(1,) * d: e}
    for F, w in zip(_classes(d), weights, strict=True):
        k = len(F)
        p = tuple(0 if a in F else 1 for a in range(d))
        acc = None
        offsets = [o for o in itertools.product((-1, 0, 1), repeat=k) if any(o)]
        for j, o in enumerate(offsets):
            q = list(p)
            src_sl = [slice(None)] * d
            for axis, oo in zip(F, o, strict=True):
                if oo != 0:
                    q[axis] = 1
            src = vals[tuple(q)]
            # The odd neighbours of an even point 2I along an axis are odd indices I - 1 and I.
            for axis, oo in zip(F, o, strict=True):
                if oo != 0:
                    src = _pad1(src, axis, 1, ne[axis] - m[axis])
                    start = 0 if oo < 0 else 1
                    src_sl[axis] = slice(start, start + ne[axis])
            term = w[j].astype(e.dtype) * src[tuple(src_sl)]
            acc = term if acc is None else acc + term
        vals[p] = acc
    # Assemble the 2^d parity classes, one axis at a time (last axis first).
    for axis in range(d - 1, -1, -1):
        merged = {}
        for p in itertools.product((0, 1), repeat=axis):
            keys = [q for q in vals if q[:axis] == p]
            for rest in {q[axis + 1 :] for q in keys}:
                even, odd = vals[p + (0,) + rest], vals[p + (1,) + rest]
                merged[p + rest] = _interleave(even, odd, axis, fine_shape[axis])
        vals = merged
    return vals[()]


def dendy_restrict_nd(
    r: Float[Array, " *fine"], weights: tuple[Array, ...], coarse_shape: tuple[int, ...]
) -> Float[Array, " *coarse"]:
    """``R r = P^T r / 2^d`` (the exact adjoint of :func:`dendy_prolong_nd`)."""
    struct = jax.ShapeDtypeStruct(tuple(coarse_shape), r.dtype)
    fine = tuple(r.shape)
    (out,) = jax.linear_transpose(lambda c: dendy_prolong_nd(c, weights, fine), struct)(r)
    return out / 2 ** len(fine)


def dendy_coarsen_nd(fine, coarse_shape, coarse_h) -> tuple[GalerkinOperator, tuple[Array, ...]]:
    """The operator-dependent interpolation weights of ``fine`` (any dimension) and ``R A P``."""
    weights = dendy_weights_nd(fine)
    coarse = galerkin_coarsen(
        fine,
        coarse_shape,
        coarse_h,
        lambda e: dendy_prolong_nd(e, weights, fine.shape),
        lambda r: dendy_restrict_nd(r, weights, coarse_shape),
    )
    return coarse, weights
