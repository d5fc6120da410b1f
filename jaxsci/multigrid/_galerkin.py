"""Galerkin coarse operators ``A_c = R A P`` as matrix-free stencil operators.

Rediscretised or coefficient-averaged coarse operators are cheap and exact for constant
coefficients, but with large coefficient jumps they stop being good approximations of the fine
problem and a plain cycle can even diverge. The Galerkin operator ``R A P`` (with ``R = P^T / 2^d``)
makes the coarse correction the energy-orthogonal projection onto the range of ``P``, so a cycle with
a convergent symmetric smoother converges for any SPD ``A``; multigrid-preconditioned CG on top of it
is then robust to jumps (Alcouffe, Brandt, Dendy, Painter, SIAM J. Sci. Stat. Comput. 2, 1981;
Trottenberg et al., *Multigrid*, sec. 7.7).

The coarse operator is a general stencil: per axis the couplings reach ``w_d`` neighbours (``w = 1``
for vertex axes: the 9-point / 27-point stencil of bilinear/trilinear ``RAP``; ``w = 2`` for
cell-centred (Neumann) axes, whose ``(3/4, 1/4)`` interpolation widens the stencil). It is computed
by probing: with the coarse points coloured so that no two points of a colour share a stencil, one
application of ``R A P`` to the indicator of each colour reads off every stencil entry.
Cost: ``prod_d c_d`` fine-level applications of ``P``, ``A`` and ``R`` per level (``c_d = 2 w_d + 1``
colours; 9 in 2D, 27 in 3D for Dirichlet axes), memory ``O(prod_d c_d * N_l)`` during setup,
``O(prod_d (2 w_d + 1) N_{l+1})`` for the stencil.
"""

from __future__ import annotations

import itertools
from typing import final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._grid import AbstractGridOperator

__all__ = ["GalerkinOperator", "galerkin_coarsen"]


@final
class GalerkinOperator(AbstractGridOperator):
    """``(A u)_i = sum_o S[o, i] u_{i + o}`` with offsets ``o`` in ``prod_d {-w_d, ..., w_d}``: the
    Galerkin coarse operator ``R A P`` of a multigrid hierarchy (``coarse="galerkin"``).

    Couplings that leave a Dirichlet/Neumann domain are zero; periodic axes wrap. ``stencil`` has shape
    ``(prod_d (2 w_d + 1), *shape)``, offsets in row-major order of ``itertools.product``. A
    :class:`jaxsci._grid.AbstractGridOperator` (lineax operator, ``as_matrix``/``as_scipy``, the
    colour sweep); ``null_constants`` (static) marks the coarse operator of a singular fine one.
    """

    stencil: Array
    shape: tuple[int, ...] = eqx.field(static=True)
    h: tuple[float, ...] = eqx.field(static=True)
    bc: tuple[str, ...] = eqx.field(static=True)
    widths: tuple[int, ...] = eqx.field(static=True)
    null_constants: bool = eqx.field(static=True)

    @property
    def dtype(self):
        return self.stencil.dtype

    @property
    def singular(self) -> bool:
        return self.null_constants

    @property
    def stencil_radius(self) -> int:
        return max(self.widths)

    @property
    def periodic_axes(self) -> tuple[bool, ...]:
        return tuple(b == "periodic" for b in self.bc)

    @property
    def offsets(self) -> list[tuple[int, ...]]:
        return list(itertools.product(*[range(-w, w + 1) for w in self.widths]))

    def mv(self, vector: Float[ArrayLike, " *grid"]) -> Float[Array, " *grid"]:
        self.check_vector(vector)
        u = jnp.asarray(vector)
        up = u
        for d, (w, b) in enumerate(zip(self.widths, self.bc, strict=True)):
            widths = [(0, 0)] * self.ndim
            widths[d] = (w, w)
            up = jnp.pad(up, widths, mode="wrap" if b == "periodic" else "constant")
        s = self.stencil.astype(u.dtype)
        out = jnp.zeros_like(u)
        for k, o in enumerate(self.offsets):
            idx = tuple(
                slice(w + oo, w + oo + n)
                for w, oo, n in zip(self.widths, o, self.shape, strict=True)
            )
            out = out + s[k] * up[idx]
        return out

    def diagonal(self) -> Float[Array, " *grid"]:
        return self.stencil[len(self.offsets) // 2]

    def colour_masks(self) -> list[Array]:
        """Gauss-Seidel colour classes for a stencil reaching ``w_d`` neighbours: the
        ``prod_d (w_d + 1)`` classes of ``index mod (w_d + 1)`` per axis (4 in 2D for 9 points)."""
        idx = np.indices(self.shape)
        masks = []
        for q in itertools.product(*[range(w + 1) for w in self.widths]):
            m = np.all(
                [
                    idx[d] % (w + 1) == qd
                    for d, (w, qd) in enumerate(zip(self.widths, q, strict=True))
                ],
                0,
            )
            masks.append(jnp.asarray(m))
        return masks


def _colours(m: int, p: int, periodic: bool) -> np.ndarray:
    """Colour of each of ``m`` points so that two points of one colour are ``>= p`` apart."""
    if m <= p:
        return np.arange(m)
    j = np.arange(m)
    if not periodic or m % p == 0:
        return j % p
    full = m - m % p
    return np.where(j < full, j % p, p + (j - full))


def _valid(m: int, o: int, w: int, periodic: bool) -> np.ndarray:
    """Whether offset ``o`` from each point is a distinct, in-domain coupling."""
    j = np.arange(m)
    if not periodic:
        return (j + o >= 0) & (j + o < m)
    # On a tiny periodic axis several offsets reach the same point: keep the first one only.
    t = (j + o) % m
    earlier = [(j + oo) % m for oo in range(-w, o)]
    return np.all([t != e for e in earlier], axis=0) if earlier else np.ones(m, bool)


def galerkin_coarsen(fine, coarse_shape, coarse_h, prolong, restrict) -> GalerkinOperator:
    """``R A P`` of ``fine`` as a :class:`GalerkinOperator` on ``coarse_shape``.

    ``prolong``/``restrict`` map between the coarse and fine grids (the hierarchy's transfers).
    """
    bcs = fine.bc
    fw = fine.widths
    widths = tuple(1 if b != "neumann" else 2 for b in bcs)
    widths = tuple(max(w, min(f, 2)) for w, f in zip(widths, fw, strict=False))
    nd = len(coarse_shape)
    periods = [2 * w + 1 for w in widths]
    colours = [
        _colours(m, p, b == "periodic") for m, p, b in zip(coarse_shape, periods, bcs, strict=False)
    ]
    ncol = [int(c.max()) + 1 for c in colours]
    dtype = fine.dtype

    # One probe per colour tuple: the indicator of the coarse points of that colour.
    probes = []
    for q in itertools.product(*[range(n) for n in ncol]):
        mask = np.ones(coarse_shape, bool)
        for d in range(nd):
            shape = [1] * nd
            shape[d] = coarse_shape[d]
            mask = mask & (colours[d] == q[d]).reshape(shape)
        probes.append(mask)
    # The barrier keeps XLA from constant-folding the probes through the transfers at compile time
    # (27 x N-sized constants in 3D: seconds of compilation, a large executable).
    probes = jax.lax.optimization_barrier(jnp.asarray(np.stack(probes), dtype))
    y = jax.vmap(lambda e: restrict(fine.mv(prolong(e))))(probes)
    y = y.reshape((*ncol, *coarse_shape))

    entries = []
    grids = np.meshgrid(*[np.arange(m) for m in coarse_shape], indexing="ij")
    for o in itertools.product(*[range(-w, w + 1) for w in widths]):
        cidx, valid = [], np.ones(coarse_shape, bool)
        for d in range(nd):
            m, periodic = coarse_shape[d], bcs[d] == "periodic"
            t = grids[d] + o[d]
            t = t % m if periodic else np.clip(t, 0, m - 1)
            cidx.append(colours[d][t])
            v = _valid(m, o[d], widths[d], periodic)
            shape = [1] * nd
            shape[d] = m
            valid = valid & v.reshape(shape)
        s = y[tuple(cidx) + tuple(grids)]
        entries.append(jnp.where(jnp.asarray(valid), s, 0))
    stencil = jnp.stack(entries)
    return GalerkinOperator(
        stencil, tuple(coarse_shape), tuple(coarse_h), bcs, widths, fine.singular
    )
