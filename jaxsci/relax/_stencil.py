"""Matrix-free constant-stencil operators on 2D/3D grids, and the exact lexicographic sweep.

:class:`LaplacianStencil` is ``(A u)[p] = diag[p] u[p] + offdiag sum_{q ~ p} u[q]`` over the
``2 ndim`` nearest neighbours (5-point in 2D, 7-point in 3D), zero Dirichlet data outside the grid
and outside an optional domain ``mask`` (e.g. MATLAB's L-shaped ``numgrid``). It is a member of the
one grid-operator family (:class:`jaxsci._grid.AbstractGridOperator`, a lineax operator), so its
red-black SOR sweeps are the family's ``redblack_sweep``.

This module also holds the *exact lexicographic* SOR sweep on 2D grids in MATLAB's column-major node
order (``numgrid`` numbering), a different algorithm from the red-black sweep: it runs by
anti-diagonal wavefronts on the grid stored sheared, ``y[i, s] = u[i, s - i]``, so that the points
updated together (``i + j = s``) form one column and all neighbour reads are static shifts.
"""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jaxtyping import Array, ArrayLike, Bool, Float, Real

from .._checks import check_positive
from .._grid import AbstractGridOperator

__all__ = ["LaplacianStencil", "Sheared", "laplacian_stencil"]


class LaplacianStencil(AbstractGridOperator):
    """``A = diag I + offdiag (sum of the 2 ndim neighbours)`` on a 2D/3D grid, zero outside ``mask``.

    **Fields:** ``diag`` (scalar or grid-shaped, > 0), ``offdiag`` (scalar), ``mask`` (bool grid or
    ``None``: points where ``mask`` is False are not unknowns), ``shape`` (static grid shape).

    A member of the grid-operator family (:class:`jaxsci._grid.AbstractGridOperator`): a
    ``lineax.AbstractLinearOperator`` with ``mv``, ``diagonal``, ``as_matrix`` (row-major grid
    flattening), ``as_bcoo``/``as_scipy`` and the red-black sweep. Points outside ``mask`` are
    identity rows (``(A u)_p = u_p``, ``a_pp = 1``), so the operator stays SPD on the whole grid and a
    right-hand side that is zero there gives a solution that is zero there (the solvers zero ``b`` and
    ``x0`` outside the mask). :meth:`as_dense` is the matrix on the unknowns only, in MATLAB's
    column-major ``numgrid`` order (what ``delsq`` builds). Cost of ``mv``: O(N), no matrix stored.
    """

    diag: Float[Array, "*diag"]
    offdiag: Float[Array, ""]
    mask: Bool[Array, "*grid"] | None
    shape: tuple[int, ...] = eqx.field(static=True)

    def __init__(
        self,
        shape: tuple[int, ...],
        diag: Real[ArrayLike, "*diag"],
        offdiag: Real[ArrayLike, ""],
        mask: Bool[ArrayLike, "*grid"] | None = None,
    ):
        shape = tuple(int(s) for s in shape)
        if len(shape) not in (2, 3) or min(shape) < 1:
            raise ValueError(f"`shape` must be a 2D or 3D grid shape, got {shape}.")
        check_positive(diag, "diag")
        dtype = jnp.result_type(float, diag, offdiag)
        self.shape = shape
        self.diag = jnp.asarray(diag, dtype)
        self.offdiag = jnp.asarray(offdiag, dtype)
        if jnp.ndim(self.diag) not in (0, len(shape)) or (
            jnp.ndim(self.diag) and jnp.shape(self.diag) != shape
        ):
            raise ValueError(
                f"`diag` must be a scalar or have the grid shape {shape}, got {jnp.shape(diag)}."
            )
        if jnp.ndim(self.offdiag) != 0:
            raise ValueError(f"`offdiag` must be a scalar, got shape {jnp.shape(offdiag)}.")
        if mask is not None and np.shape(mask) != shape:
            raise ValueError(f"`mask` must have the grid shape {shape}, got {np.shape(mask)}.")
        self.mask = None if mask is None else jnp.asarray(mask, dtype=bool)

    @property
    def dtype(self) -> Any:
        return self.diag.dtype

    def neighbour_sum(self, u: Float[Array, "*grid"]) -> Float[Array, "*grid"]:
        """The sum of the ``2 ndim`` neighbours, zero Dirichlet data outside the grid."""
        out = jnp.zeros_like(u)
        for ax in range(u.ndim):
            pad = [(0, 0)] * u.ndim
            pad[ax] = (1, 1)
            up = jnp.pad(u, pad)
            n = u.shape[ax]
            out = (
                out + lax.slice_in_dim(up, 0, n, axis=ax) + lax.slice_in_dim(up, 2, n + 2, axis=ax)
            )
        return out

    def masked(self, u: Float[Array, "*grid"]) -> Float[Array, "*grid"]:
        """``u`` with zeros outside the domain mask (``u`` itself without a mask)."""
        return u if self.mask is None else jnp.where(self.mask, u, 0)

    def mv(self, vector: Float[Array, "*grid"]) -> Float[Array, "*grid"]:
        """``A u``: the stencil on the unknowns, the identity outside the mask."""
        inner = self.masked(vector)
        out = self.diag * inner + self.offdiag * self.neighbour_sum(inner)
        return out if self.mask is None else jnp.where(self.mask, out, vector)

    def diagonal(self) -> Float[Array, "*grid"]:
        d = jnp.broadcast_to(self.diag, self.shape)
        return d if self.mask is None else jnp.where(self.mask, d, 1)

    def as_dense(self) -> Float[Array, "n n"]:
        """The matrix on the unknowns (``mask`` True), numbered column-major like MATLAB's ``numgrid``
        (``delsq``'s order; :meth:`as_matrix` is the whole grid, row-major). O(N^2) memory: for tests
        and small grids."""
        N = int(np.prod(self.shape))
        rev = tuple(range(len(self.shape), 0, -1))
        # column-major unit grids
        basis = np.eye(N).reshape((N, *self.shape[::-1])).transpose(0, *rev)
        cols = jax.vmap(self.mv)(jnp.asarray(basis, self.dtype))
        M = cols.transpose(0, *rev).reshape(N, N).T
        # a host convenience (the operator must be concrete): the kept rows index on the host
        keep = np.ones(N, bool) if self.mask is None else np.asarray(self.mask).ravel(order="F")
        return M[np.ix_(keep, keep)]


def laplacian_stencil(
    shape: tuple[int, ...],
    *,
    h: float = 1.0,
    shift: Real[ArrayLike, "*diag"] = 0.0,
    scale: Real[ArrayLike, ""] = 1.0,
    mask: Bool[ArrayLike, "*grid"] | None = None,
) -> LaplacianStencil:
    """``scale (-Delta_h) + shift I``: the 5-point (2D) / 7-point (3D) Laplacian, zero Dirichlet data.

    ``delsq(numgrid('S', n+2)) + c I`` is ``laplacian_stencil((n, n), shift=c)``; the Crank–Nicolson
    heat matrix ``I - kappa dt/2 Delta_h`` is ``laplacian_stencil(shape, h=h, scale=kappa dt/2,
    shift=1)``. ``shift`` and ``scale`` may be traced (vmap over instances).
    """
    check_positive(h, "h")
    check_positive(scale, "scale")
    check_positive(shift, "shift", strict=False)
    d = len(tuple(shape))
    scale = jnp.asarray(scale)
    return LaplacianStencil(shape, 2 * d * scale / h**2 + shift, -scale / h**2, mask)


# ------------------------------------------------------------------ exact lexicographic wavefronts
class Sheared(eqx.Module):
    """Geometry of the wavefront (exact lexicographic, column-major) sweep on an ``(nx, ny)`` grid."""

    nx: int = eqx.field(static=True)
    ny: int = eqx.field(static=True)

    @property
    def width(self) -> int:
        return self.nx + self.ny - 1

    def _cols(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        i = np.arange(self.nx)[:, None]
        s = np.arange(self.width)[None, :]
        j = s - i
        return i, j, (j >= 0) & (j < self.ny)

    def shear(self, u: Any) -> Array:
        """``u (nx, ny) -> y (nx, nx+ny-1)``, ``y[i, s] = u[i, s-i]`` (zero off the grid)."""
        i, j, valid = self._cols()
        u = jnp.broadcast_to(u, (self.nx, self.ny))
        return jnp.where(valid, u[i, np.clip(j, 0, self.ny - 1)], jnp.zeros((), u.dtype))

    def unshear(self, y: Array) -> Array:
        i = np.arange(self.nx)[:, None]
        j = np.arange(self.ny)[None, :]
        return y[i, i + j]

    def valid(self) -> Bool[Array, "nx w"]:
        return jnp.asarray(self._cols()[2])


def _shift(y: Array, di: int, ds: int) -> Array:
    """``z[i, s] = y[i+di, s+ds]`` with zeros outside (``di, ds`` in {-1, 0, 1})."""
    nx, w = y.shape
    y = jnp.pad(y, ((1, 1), (1, 1)))
    return lax.dynamic_slice(y, (1 + di, 1 + ds), (nx, w))


def sheared_mv(offdiag: Array, diag_s: Array, valid_s: Array, y: Array) -> Array:
    """``A y`` in sheared coordinates (neighbours ``(i±1, s±1)`` and ``(i, s±1)``)."""
    nb = _shift(y, -1, -1) + _shift(y, 1, 1) + _shift(y, 0, -1) + _shift(y, 0, 1)
    return jnp.where(valid_s, diag_s * y + offdiag * nb, 0)


def _wavefront_update(omega, offdiag, prev, cur, nxt, d, bb, v):
    zero = jnp.zeros((1,), cur.dtype)
    up = jnp.concatenate([zero, prev[:-1]])  # (i-1, j): column s-1, row i-1
    down = jnp.concatenate([nxt[1:], zero])  # (i+1, j): column s+1, row i+1
    nb = ((up + prev) + down) + nxt  # (i-1,j) + (i,j-1) + (i+1,j) + (i,j+1)
    return jnp.where(v, (1 - omega) * cur + omega * (bb - offdiag * nb) / d, 0)


def sheared_sor_sweep(offdiag, diag_s, valid_s, b_s, y, omega, reverse: bool = False):
    """One lexicographic (column-major) SOR sweep: wavefronts ``s = 0, 1, ...`` in order
    (``reverse``: the backward sweep, ``s`` descending). Each point reads the current values of its
    neighbours, so the same update serves both directions. A ``fori_loop`` over the ``nx+ny-1``
    wavefronts with dynamic column slices (unrolling makes XLA duplicate the column chain)."""
    nx, w = y.shape
    yp = jnp.pad(y, ((0, 0), (1, 1)))

    def step(k, yp):
        s = w - 1 - k if reverse else k
        col = lambda a, j: lax.dynamic_slice_in_dim(a, j, 1, axis=1)[:, 0]
        new = _wavefront_update(
            omega,
            offdiag,
            col(yp, s),
            col(yp, s + 1),
            col(yp, s + 2),
            col(diag_s, s),
            col(b_s, s),
            col(valid_s, s),
        )
        return lax.dynamic_update_slice_in_dim(yp, new[:, None], s + 1, axis=1)

    yp = lax.fori_loop(0, w, step, yp)
    return yp[:, 1:-1]


def sheared_triangular_solve(offdiag, diag_s, valid_s, r_s, omega, upper: bool = False):
    """``(D/omega + L)^-1 r`` (``upper``: ``(D/omega + U)^-1 r``) in MATLAB's column-major order, in
    the sheared layout.

    Forward substitution visits the wavefronts ``s = 0, 1, ...``: ``y_s = omega (r_s - a (y_{s-1}[i-1]
    + y_{s-1}[i])) / d_s`` (the lower neighbours ``(i-1, j)``, ``(i, j-1)`` lie on wavefront ``s-1``);
    backward substitution runs ``s`` downwards with the upper neighbours on ``s+1``. A ``lax.scan``
    whose carry is one wavefront: ``nx+ny-1`` sequential steps of O(nx) work."""
    zero = jnp.zeros((1,), r_s.dtype)

    def step(other, inp):
        rr, d, v = inp
        if upper:
            nb = jnp.concatenate([other[1:], zero]) + other  # (i+1, j) + (i, j+1)
        else:
            nb = jnp.concatenate([zero, other[:-1]]) + other  # (i-1, j) + (i, j-1)
        new = jnp.where(v, omega * (rr - offdiag * nb) / d, 0)
        return new, new

    xs = (r_s.T, jnp.broadcast_to(diag_s, r_s.shape).T, jnp.broadcast_to(valid_s, r_s.shape).T)
    _, out = lax.scan(step, jnp.zeros_like(r_s[:, 0]), xs, reverse=upper)
    return out.T
