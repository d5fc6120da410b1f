"""The SOR splitting ``A = L + D + U`` of one operator, precomputed once: the state of every relax
solver (``state = solver.init(A)``).

One small class per kind of operator, all with the same methods, chosen once in :func:`splitting`:

- :class:`DenseSplitting` (a dense ``(n, n)`` matrix; triangular solves by
  ``jax.scipy.linalg.solve_triangular``, exact index order, O(n^2) per sweep);
- :class:`SparseSplitting` (a ``jax.experimental.sparse.BCOO`` matrix; substitution as one
  ``lax.scan`` over the stored entries sorted once by (row, column): O(nnz + n) sequential steps);
- :class:`WavefrontSplitting` (a 2D :class:`LaplacianStencil`, exact lexicographic sweep in MATLAB's
  column-major ``numgrid`` order by anti-diagonal wavefronts, in a sheared layout);
- :class:`RedBlackSplitting` (a 2D/3D :class:`LaplacianStencil`, red unknowns first: the grid
  family's red-black update, fully vectorised).

With ``W_L = D/omega + L`` and ``W_U = D/omega + U`` the methods are ``forward`` (an SOR sweep
``x + W_L^-1 (b - A x)``), ``backward`` (the backward sweep with ``W_U``), ``lower``/``upper`` (the
triangular solves of the SSOR preconditioner) and ``mv``, all in the splitting's own ``layout``
(identity except for the wavefront's sheared grid). ``factor(omega)`` is the per-solve part that
depends on omega (the two triangles of a dense matrix; ``omega`` itself otherwise), built once per
solve, outside the iteration.
"""

import abc
from typing import Any, ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.experimental import sparse as jsparse
from jax.scipy.linalg import solve_triangular
from jaxtyping import Array, Bool, Float, Int

from .._checks import concrete_or_none, error_if_not
from .._grid import red_mask
from ._stencil import (
    LaplacianStencil,
    Sheared,
    sheared_mv,
    sheared_sor_sweep,
    sheared_triangular_solve,
)
from ._validate import check_positive_diagonal, matrix_shape

__all__ = [
    "AbstractSplitting",
    "DenseSplitting",
    "RedBlackSplitting",
    "SparseSplitting",
    "WavefrontSplitting",
    "check_operator",
    "splitting",
]

_DIAGONAL_MESSAGE = "`A` must have a positive diagonal (SOR and SSOR divide by it)."


class AbstractSplitting(eqx.Module):
    """The precomputed splitting of one operator (see the module docstring). ``sweep`` says which
    unknown ordering defines ``L`` and ``U``: ``"lexicographic"`` or ``"redblack"``."""

    sweep: eqx.AbstractClassVar[str]

    @property
    @abc.abstractmethod
    def vector_shape(self) -> tuple[int, ...]:
        """The shape of ``b`` and ``x`` (``(n,)`` or the grid shape)."""

    @property
    @abc.abstractmethod
    def dtype(self) -> Any:
        """The dtype of the coefficients."""

    def check_vector(self, v: Any, name: str) -> None:
        """Trace-time check that ``v`` has the shape of the unknowns, naming the argument."""
        if tuple(jnp.shape(v)) != self.vector_shape:
            raise ValueError(f"`{name}` must have shape {self.vector_shape}, got {jnp.shape(v)}.")

    def layout(self, v: Array) -> Array:
        """``v`` in the layout the sweeps work in."""
        return v

    def unlayout(self, y: Array) -> Array:
        """Inverse of :meth:`layout`."""
        return y

    @abc.abstractmethod
    def mv(self, y: Array) -> Array:
        """``A y`` in the layout."""

    @abc.abstractmethod
    def abs_row_sum(self) -> Array:
        """``||A||_inf``, the largest absolute row sum (a scalar): with ``eps ||A||_inf ||x||`` it
        bounds the rounding floor ``eps || |A| |x| ||`` of the residual (``A`` symmetric)."""

    @abc.abstractmethod
    def diagonal(self) -> Array:
        """``diag(A)`` in the layout (1 where the layout has no unknown)."""

    def factor(self, omega: Array) -> Any:
        """The omega-dependent part of the splitting, built once per solve."""
        return omega

    @abc.abstractmethod
    def lower(self, factor: Any, r: Array) -> Array:
        """``(D/omega + L)^-1 r``."""

    @abc.abstractmethod
    def upper(self, factor: Any, r: Array) -> Array:
        """``(D/omega + U)^-1 r``."""

    def forward(self, factor: Any, x: Array, r: Array, b: Array) -> Array:
        """One forward SOR sweep ``x + (D/omega + L)^-1 r`` with ``r = b - A x``."""
        return x + self.lower(factor, r)

    def backward(self, factor: Any, x: Array, b: Array) -> Array:
        """One backward SOR sweep ``x + (D/omega + U)^-1 (b - A x)``."""
        return x + self.upper(factor, b - self.mv(x))


def _checked_diagonal(d: Array) -> Array:
    # run time: device and traced values are never read on the host for a check
    return error_if_not(d, d > 0, _DIAGONAL_MESSAGE)


class DenseSplitting(AbstractSplitting):
    """A dense ``(n, n)`` matrix and its diagonal. Memory O(n^2) (plus the two triangles of
    ``factor``, built per solve); cost per sweep O(n^2)."""

    matrix: Float[Array, "n n"]
    diag: Float[Array, " n"]
    sweep: ClassVar[str] = "lexicographic"

    @property
    def vector_shape(self) -> tuple[int, ...]:
        return (self.matrix.shape[0],)

    @property
    def dtype(self) -> Any:
        return self.matrix.dtype

    def mv(self, y: Array) -> Array:
        return self.matrix @ y

    def abs_row_sum(self) -> Array:
        return jnp.max(jnp.sum(jnp.abs(self.matrix), axis=1), initial=0.0)

    def diagonal(self) -> Array:
        return self.diag

    def factor(self, omega: Array) -> tuple[Array, Array]:
        d = jnp.diag(self.diag / omega)
        return jnp.tril(self.matrix, -1) + d, jnp.triu(self.matrix, 1) + d

    def lower(self, factor: Any, r: Array) -> Array:
        return solve_triangular(factor[0], r, lower=True)

    def upper(self, factor: Any, r: Array) -> Array:
        return solve_triangular(factor[1], r, lower=False)


class SparseSplitting(AbstractSplitting):
    """A BCOO matrix, its diagonal and the two substitution orders ("events": subtract
    ``a_ij y_j`` from ``y_i``, or scale row ``i``), sorted once. Memory O(nnz + n); cost per sweep
    O(nnz + n) sequential scan steps."""

    matrix: jsparse.BCOO
    diag: Float[Array, " n"]
    forward_events: tuple[Int[Array, " e"], Int[Array, " e"], Float[Array, " e"], Bool[Array, " e"]]
    backward_events: tuple[
        Int[Array, " e"], Int[Array, " e"], Float[Array, " e"], Bool[Array, " e"]
    ]
    sweep: ClassVar[str] = "lexicographic"

    @property
    def vector_shape(self) -> tuple[int, ...]:
        return (self.matrix.shape[0],)

    @property
    def dtype(self) -> Any:
        return self.matrix.data.dtype

    def mv(self, y: Array) -> Array:
        return self.matrix @ y

    def abs_row_sum(self) -> Array:
        m = self.matrix
        rows = jnp.zeros(m.shape[0], m.data.dtype).at[m.indices[:, 0]].add(jnp.abs(m.data))
        return jnp.max(rows, initial=0.0)

    def diagonal(self) -> Array:
        return self.diag

    def factor(self, omega: Array) -> Array:
        return omega / self.diag

    def _substitute(self, events, scale: Array, r: Array) -> Array:
        def step(y, ev):
            i, j, a, div = ev
            yi = jnp.where(div, y[i] * scale[i], y[i] - a * y[j])
            return y.at[i].set(yi), None

        y, _ = lax.scan(step, r, events)
        return y

    def lower(self, factor: Any, r: Array) -> Array:
        return self._substitute(self.forward_events, factor, r)

    def upper(self, factor: Any, r: Array) -> Array:
        return self._substitute(self.backward_events, factor, r)


def _events(rows, cols, data, n: int, lower: bool):
    ar = jnp.arange(n, dtype=rows.dtype)
    keep = (cols < rows) if lower else (cols > rows)
    tgt = jnp.concatenate([rows, ar])
    src = jnp.concatenate([cols, ar])
    coef = jnp.concatenate([jnp.where(keep, data, 0), jnp.zeros(n, data.dtype)])
    is_div = jnp.concatenate([jnp.zeros(rows.shape, bool), jnp.ones(n, bool)])
    # within a row: the subtractions first, then the scaling (key n + 1 > any column)
    sub = jnp.where(jnp.concatenate([keep, jnp.zeros(n, bool)]), src, 0)
    inner = jnp.where(is_div, n + 1, sub)
    outer = tgt if lower else (n - 1 - tgt)
    order = jnp.lexsort((inner, outer))
    return tgt[order], src[order], coef[order], is_div[order]


class WavefrontSplitting(AbstractSplitting):
    """A 2D :class:`LaplacianStencil` in the sheared layout of the exact lexicographic (column-major)
    sweep: ``nx + ny - 1`` sequential wavefronts of O(nx) work per sweep, no matrix stored."""

    geometry: Sheared
    offdiag: Float[Array, ""]
    diag_s: Float[Array, "nx w"]
    valid_s: Bool[Array, "nx w"]
    mask: Bool[Array, "nx ny"] | None
    sweep: ClassVar[str] = "lexicographic"

    @property
    def vector_shape(self) -> tuple[int, ...]:
        return (self.geometry.nx, self.geometry.ny)

    @property
    def dtype(self) -> Any:
        return self.diag_s.dtype

    def layout(self, v: Array) -> Array:
        v = v if self.mask is None else jnp.where(self.mask, v, 0)
        return self.geometry.shear(v)

    def unlayout(self, y: Array) -> Array:
        return self.geometry.unshear(y)

    def mv(self, y: Array) -> Array:
        return sheared_mv(self.offdiag, self.diag_s, self.valid_s, y)

    def abs_row_sum(self) -> Array:
        return jnp.max(jnp.abs(self.diag_s)) + 4 * jnp.abs(self.offdiag)

    def diagonal(self) -> Array:
        return self.diag_s

    def lower(self, factor: Any, r: Array) -> Array:
        return sheared_triangular_solve(self.offdiag, self.diag_s, self.valid_s, r, factor)

    def upper(self, factor: Any, r: Array) -> Array:
        return sheared_triangular_solve(
            self.offdiag, self.diag_s, self.valid_s, r, factor, upper=True
        )

    def forward(self, factor: Any, x: Array, r: Array, b: Array) -> Array:
        return sheared_sor_sweep(self.offdiag, self.diag_s, self.valid_s, b, x, factor)

    def backward(self, factor: Any, x: Array, b: Array) -> Array:
        return sheared_sor_sweep(
            self.offdiag, self.diag_s, self.valid_s, b, x, factor, reverse=True
        )


class RedBlackSplitting(AbstractSplitting):
    """A 2D/3D :class:`LaplacianStencil` with the red unknowns (even index sum) ordered first. The
    sweeps are the grid family's ``colour_sweep``/``redblack_sweep`` (the one red-black update):
    O(N) per half-sweep, fully vectorised (the accelerator path)."""

    operator: LaplacianStencil
    sweep: ClassVar[str] = "redblack"

    @property
    def vector_shape(self) -> tuple[int, ...]:
        return tuple(self.operator.shape)

    @property
    def dtype(self) -> Any:
        return self.operator.dtype

    def layout(self, v: Array) -> Array:
        return self.operator.masked(v)

    def mv(self, y: Array) -> Array:
        return self.operator.mv(y)

    def abs_row_sum(self) -> Array:
        op = self.operator
        return jnp.max(jnp.abs(op.diagonal())) + 2 * op.ndim * jnp.abs(op.offdiag)

    def diagonal(self) -> Array:
        return self.operator.diagonal()

    def _triangular(self, omega: Array, r: Array, first: Array) -> Array:
        # From y = 0 the first colour is omega r / d (its rows couple to nothing solved yet), the
        # second is one colour update on top of it: a forward (or backward) substitution.
        d = self.diagonal().astype(r.dtype)
        y = jnp.where(first, omega * r / d, 0)
        return self.operator.colour_sweep(y, r, omega, ~first, d)

    def lower(self, factor: Any, r: Array) -> Array:
        return self._triangular(factor, r, jnp.asarray(red_mask(self.vector_shape)))

    def upper(self, factor: Any, r: Array) -> Array:
        return self._triangular(factor, r, ~jnp.asarray(red_mask(self.vector_shape)))

    def forward(self, factor: Any, x: Array, r: Array, b: Array) -> Array:
        return self.operator.redblack_sweep(x, b, factor)

    def backward(self, factor: Any, x: Array, b: Array) -> Array:
        return self.operator.redblack_sweep(x, b, factor, reverse=True)


# -------------------------------------------------------------------------------------- building
def check_operator(A: Any, sweep: str) -> None:
    """Static checks of ``A`` for a splitting with ``sweep``, naming the argument: its kind, shape and
    dtype, and (for NumPy/Python inputs only) a positive diagonal. Device values are checked at run
    time by :func:`splitting`."""
    if isinstance(A, LaplacianStencil):
        if sweep == "lexicographic" and len(A.shape) != 2:
            raise ValueError(
                "`A`: the lexicographic sweep on a LaplacianStencil needs a 2D grid, got shape "
                f"{A.shape}; pass `sweep='redblack'` for 3D grids."
            )
        return
    if sweep == "redblack":
        raise ValueError(
            "`sweep='redblack'` needs a LaplacianStencil `A` (a grid to colour), got "
            f"{type(A).__name__}; use `sweep='lexicographic'` for matrices."
        )
    n = matrix_shape(A, "A")
    if isinstance(A, jsparse.BCOO):
        dtype = A.data.dtype
    else:
        if not hasattr(A, "shape") or not hasattr(A, "dtype"):
            raise TypeError(
                "`A` must be a dense (n, n) array, a jax.experimental.sparse.BCOO matrix or a "
                f"LaplacianStencil, got {type(A).__name__}."
            )
        dtype = jnp.result_type(A)
    if not (jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.integer)):
        raise TypeError(f"`A` must be a real matrix, got dtype {dtype}.")
    if not isinstance(A, jsparse.BCOO):
        host = concrete_or_none(A)
        if host is not None and n:
            check_positive_diagonal(np.diagonal(host), "A")


def splitting(A: Any, sweep: str) -> AbstractSplitting:
    """Build the splitting of ``A`` for ``sweep`` (the one place that looks at the operator's type)."""
    check_operator(A, sweep)
    if isinstance(A, LaplacianStencil):
        if sweep == "redblack":
            return RedBlackSplitting(eqx.tree_at(lambda op: op.diag, A, _checked_diagonal(A.diag)))
        geometry = Sheared(*A.shape)
        valid = geometry.valid()
        if A.mask is not None:
            valid = valid & geometry.shear(A.mask)
        diag_s = jnp.where(valid, geometry.shear(_checked_diagonal(A.diag)), 1).astype(A.dtype)
        return WavefrontSplitting(geometry, A.offdiag, diag_s, valid, A.mask)
    if isinstance(A, jsparse.BCOO):
        n = A.shape[0]
        rows, cols, data = A.indices[:, 0], A.indices[:, 1], A.data
        if not jnp.issubdtype(data.dtype, jnp.floating):
            data = data.astype(jnp.result_type(float))
            A = jsparse.BCOO((data, A.indices), shape=A.shape)
        diag = jnp.zeros(n, data.dtype).at[rows].add(jnp.where(rows == cols, data, 0))
        return SparseSplitting(
            A,
            _checked_diagonal(diag),
            _events(rows, cols, data, n, lower=True),
            _events(rows, cols, data, n, lower=False),
        )
    matrix = jnp.asarray(A, jnp.result_type(float, A))
    return DenseSplitting(matrix, _checked_diagonal(jnp.diagonal(matrix)))
