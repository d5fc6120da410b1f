"""Matrix-free constant-stencil operators on 2D/3D grids and their SOR sweeps.

``StencilOperator`` is ``(A u)[p] = diag[p]·u[p] + offdiag·Σ_{q ~ p} u[q]`` over the 2·ndim nearest
neighbours (5-point in 2D, 7-point in 3D), zero Dirichlet data outside the grid and outside an optional
domain ``mask`` (e.g. MATLAB's L-shaped ``numgrid``). Sweeps provided here:

- red-black (two-colour) SOR half-sweeps: every point of one colour at once, fully vectorised;
- exact lexicographic SOR on 2D grids in MATLAB's column-major node order (``numgrid`` numbering), by
  anti-diagonal wavefronts: the grid is stored sheared, ``y[i, s] = u[i, s - i]``, so that the points
  updated together (``i + j = s``) form one column and all neighbour reads are static shifts.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jaxtyping import Array, ArrayLike, Bool, Float

from .._checks import check_positive


class StencilOperator(eqx.Module):
    """``A = diag·I + offdiag·(sum of the 2·ndim neighbours)`` on a grid, zero outside ``mask``.

    **Fields:** ``diag`` (scalar or grid-shaped, > 0), ``offdiag`` (scalar), ``shape`` (static grid
    shape, 2D or 3D), ``mask`` (bool grid or ``None``: points where ``mask`` is False are not unknowns).
    Apply with ``op.mv(u)`` for ``u`` of shape ``shape``; cost O(N) flops, no matrix stored.
    """

    diag: Float[Array, " ..."]
    offdiag: Float[Array, " "]
    mask: Bool[Array, " ..."] | None
    shape: tuple[int, ...] = eqx.field(static=True)

    def __init__(self, shape, diag, offdiag, mask=None):
        shape = tuple(int(s) for s in shape)
        if len(shape) not in (2, 3) or min(shape) < 1:
            raise ValueError(f"`shape` must be a 2D or 3D grid shape, got {shape}.")
        check_positive(diag, "diag")
        self.shape = shape
        self.diag = jnp.asarray(diag)
        self.offdiag = jnp.asarray(offdiag)
        if jnp.ndim(self.diag) not in (0, len(shape)):
            raise ValueError(f"`diag` must be a scalar or have the grid shape {shape}.")
        if mask is not None and np.shape(mask) != shape:
            raise ValueError(f"`mask` must have the grid shape {shape}, got {np.shape(mask)}.")
        self.mask = None if mask is None else jnp.asarray(mask, dtype=bool)

    def neighbour_sum(self, u: Float[Array, " ..."]) -> Float[Array, " ..."]:
        """Σ of the 2·ndim neighbours with zero Dirichlet data outside the grid."""
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

    def masked(self, u):
        return u if self.mask is None else jnp.where(self.mask, u, 0)

    def mv(self, u: Float[Array, " ..."]) -> Float[Array, " ..."]:
        """``A u``."""
        u = self.masked(u)
        return self.masked(self.diag * u + self.offdiag * self.neighbour_sum(u))

    def diagonal(self) -> Float[Array, " ..."]:
        return jnp.broadcast_to(self.diag, self.shape)

    def red(self) -> Bool[Array, " ..."]:
        """Red points: even index sum. Red points only neighbour black points (and vice versa)."""
        grids = np.indices(self.shape).sum(0)
        return jnp.asarray(grids % 2 == 0)

    def as_dense(self) -> Float[Array, " N N"]:
        """The matrix on the unknowns (``mask`` True), numbered column-major like MATLAB's ``numgrid``.
        For tests and small grids only (O(N²) memory)."""
        N = int(np.prod(self.shape))
        rev = tuple(range(len(self.shape), 0, -1))
        basis = (
            np.eye(N).reshape((N, *self.shape[::-1])).transpose(0, *rev)
        )  # column-major unit grids
        cols = jax.vmap(self.mv)(jnp.asarray(basis, self.diag.dtype))
        M = cols.transpose(0, *rev).reshape(N, N).T
        keep = np.ones(N, bool) if self.mask is None else np.asarray(self.mask).ravel(order="F")
        return M[np.ix_(keep, keep)]


def laplacian_stencil(
    shape, *, h: float = 1.0, shift: ArrayLike = 0.0, scale: ArrayLike = 1.0, mask=None
) -> StencilOperator:
    """``scale·(−Δ_h) + shift·I``: the 5-point (2D) / 7-point (3D) Laplacian, zero Dirichlet data.

    ``delsq(numgrid('S', n+2)) + c·I`` is ``laplacian_stencil((n, n), shift=c)``; the Crank–Nicolson
    heat matrix ``I − ½κΔt·Δ_h`` is ``laplacian_stencil(shape, h=h, scale=κΔt/2, shift=1)``.
    """
    check_positive(h, "h")
    check_positive(scale, "scale")
    d = len(tuple(shape))
    scale = jnp.asarray(scale)
    return StencilOperator(shape, 2 * d * scale / h**2 + shift, -scale / h**2, mask)


# ----------------------------------------------------------------------------------------- sweeps
def redblack_half_sweep(op: StencilOperator, x, b, omega, colour):
    """SOR update of every point of one colour (vectorised): x_p ← (1−ω)x_p + ω(b_p − Σ a x)/a_pp."""
    gs = (b - op.offdiag * op.neighbour_sum(x)) / op.diag
    new = op.masked((1 - omega) * x + omega * gs)
    return jnp.where(colour, new, x)


def redblack_lower_solve(op: StencilOperator, r, omega, red):
    """Solve ``(D/ω + L) y = r`` in red-black order (red unknowns first)."""
    y = jnp.where(red, omega * r / op.diag, 0)
    yb = omega * (r - op.offdiag * op.neighbour_sum(op.masked(y))) / op.diag
    return op.masked(jnp.where(red, y, yb))


def redblack_upper_solve(op: StencilOperator, r, omega, red):
    """Solve ``(D/ω + U) y = r`` in red-black order (black unknowns solved first, then red)."""
    y = jnp.where(red, 0, omega * r / op.diag)
    yr = omega * (r - op.offdiag * op.neighbour_sum(op.masked(y))) / op.diag
    return op.masked(jnp.where(red, yr, y))


class Sheared(eqx.Module):
    """Helpers for the wavefront (exact lexicographic, column-major) sweep on 2D grids."""

    nx: int = eqx.field(static=True)
    ny: int = eqx.field(static=True)

    @property
    def width(self) -> int:
        return self.nx + self.ny - 1

    def _cols(self):
        i = np.arange(self.nx)[:, None]
        s = np.arange(self.width)[None, :]
        j = s - i
        return i, j, (j >= 0) & (j < self.ny)

    def shear(self, u):
        """u (nx, ny) → y (nx, nx+ny−1), y[i, s] = u[i, s−i] (zero where s−i is off the grid)."""
        i, j, valid = self._cols()
        u = jnp.broadcast_to(u, (self.nx, self.ny))
        return jnp.where(valid, u[i, np.clip(j, 0, self.ny - 1)], 0)

    def unshear(self, y):
        i = np.arange(self.nx)[:, None]
        j = np.arange(self.ny)[None, :]
        return y[i, i + j]

    def valid(self):
        return jnp.asarray(self._cols()[2])


def _shift(y, di, ds):
    """z[i, s] = y[i+di, s+ds] with zeros outside (di, ds ∈ {−1, 0, 1})."""
    nx, w = y.shape
    y = jnp.pad(y, ((1, 1), (1, 1)))
    return lax.dynamic_slice(y, (1 + di, 1 + ds), (nx, w))


def sheared_mv(offdiag, diag_s, valid_s, y):
    """A y in sheared coordinates (neighbours (i±1, s±1) and (i, s±1))."""
    nb = _shift(y, -1, -1) + _shift(y, 1, 1) + _shift(y, 0, -1) + _shift(y, 0, 1)
    return jnp.where(valid_s, diag_s * y + offdiag * nb, 0)


def _wavefront_update(omega, offdiag, prev, cur, nxt, d, bb, v):
    zero = jnp.zeros((1,), cur.dtype)
    up = jnp.concatenate([zero, prev[:-1]])  # (i−1, j): column s−1, row i−1
    down = jnp.concatenate([nxt[1:], zero])  # (i+1, j): column s+1, row i+1
    nb = ((up + prev) + down) + nxt  # (i−1,j) + (i,j−1) + (i+1,j) + (i,j+1)
    return jnp.where(v, (1 - omega) * cur + omega * (bb - offdiag * nb) / d, 0)


def sheared_sor_sweep(offdiag, diag_s, valid_s, b_s, y, omega, reverse: bool = False):
    """One lexicographic (column-major) SOR sweep: wavefronts s = 0, 1, ... in order (``reverse``:
    the backward sweep, s descending). Each point reads the current values of its neighbours, so the
    same update serves both directions. A ``fori_loop`` over the
    nx+ny−1 wavefronts with dynamic column slices (unrolling makes XLA duplicate the column chain)."""
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
    """``(D/ω + L)⁻¹ r`` (``upper``: ``(D/ω + U)⁻¹ r``) in MATLAB's column-major order, sheared layout.

    Forward substitution visits the wavefronts s = 0, 1, ...: ``y_s = ω(r_s − a·(y_{s−1}[i−1] +
    y_{s−1}[i]))/d_s`` (the lower neighbours (i−1, j), (i, j−1) lie on wavefront s−1); backward
    substitution runs s downwards with the upper neighbours on s+1. A ``lax.scan`` whose carry is one
    wavefront (no in-place updates of the whole grid): nx+ny−1 sequential steps of O(nx) work."""
    zero = jnp.zeros((1,), r_s.dtype)

    def step(other, inp):
        rr, d, v = inp
        if upper:
            nb = jnp.concatenate([other[1:], zero]) + other  # (i+1, j) + (i, j+1)
        else:
            nb = jnp.concatenate([zero, other[:-1]]) + other  # (i−1, j) + (i, j−1)
        new = jnp.where(v, omega * (rr - offdiag * nb) / d, 0)
        return new, new

    xs = (r_s.T, jnp.broadcast_to(diag_s, r_s.shape).T, jnp.broadcast_to(valid_s, r_s.shape).T)
    _, out = lax.scan(step, jnp.zeros_like(r_s[:, 0]), xs, reverse=upper)
    return out.T
