"""The one family of matrix-free grid operators: a :class:`lineax.AbstractLinearOperator` on
grid-shaped vectors.

Subclasses (multigrid's :class:`~jaxsci.multigrid.DiffusionOperator` and Galerkin
:class:`~jaxsci.multigrid.StencilOperator`, relax's 5/7-point stencil) implement ``mv``, ``diagonal``,
``dtype`` and declare ``shape``; this base gives them, written once:

- the lineax interface (``in_structure``/``out_structure`` are the grid shape, ``transpose`` is the
  operator itself, symmetric and positive-semidefinite tags), so ``lineax.linear_solve(op, f, solver)``
  and ``lineax.CG`` work on an operator directly;
- ``as_matrix`` (dense, row-major flattening; for tests and small grids), ``as_bcoo`` and ``as_scipy``
  (sparse exports built by probing with ``(2 r + 1)^d`` coloured indicator vectors, ``r`` the stencil
  radius: ``O(3^d N)`` work, no dense matrix);
- the colour update of Gauss–Seidel/SOR smoothers, :meth:`AbstractGridOperator.colour_sweep`
  (``u_p <- u_p + omega (f - A u)_p / a_pp`` at the points of one colour), and the red-black sweep
  built from it (exact Gauss–Seidel for stencils that couple only nearest neighbours).
"""

import abc
import itertools
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float

__all__ = ["AbstractGridOperator", "red_mask"]


def red_mask(shape: tuple[int, ...]) -> np.ndarray:
    """``True`` at the red points (even index sum) of a grid; red points only neighbour black ones
    in a nearest-neighbour stencil."""
    return np.indices(shape).sum(0) % 2 == 0


class AbstractGridOperator(lx.AbstractLinearOperator):
    """A symmetric positive (semi)definite operator on vectors of shape ``shape``.

    Subclasses declare ``shape`` (static) and implement :meth:`mv`, :meth:`diagonal` and ``dtype``.
    ``stencil_radius`` (default 1) and ``periodic_axes`` (default none) size the probing of the sparse
    exports. ``singular`` (default ``False``) marks operators whose null space is the constants.
    """

    shape: eqx.AbstractVar[tuple[int, ...]]

    @abc.abstractmethod
    def mv(self, vector: Float[Array, "*grid"]) -> Float[Array, "*grid"]:
        """``A u`` for a grid-shaped ``u``."""

    @abc.abstractmethod
    def diagonal(self) -> Float[Array, "*grid"]:
        """The diagonal of ``A`` as a grid-shaped array."""

    @property
    @abc.abstractmethod
    def dtype(self) -> Any:
        """The dtype of the operator's coefficients."""

    @property
    def stencil_radius(self) -> int:
        return 1

    @property
    def periodic_axes(self) -> tuple[bool, ...]:
        return (False,) * len(self.shape)

    @property
    def singular(self) -> bool:
        return False

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def __call__(self, u: Float[Array, "*grid"]) -> Float[Array, "*grid"]:
        return self.mv(u)

    def check_vector(self, u: Any, name: str = "u") -> None:
        """Trace-time check that ``u`` has the grid shape, naming the argument."""
        if tuple(jnp.shape(u)) != tuple(self.shape):
            raise ValueError(
                f"`{name}` must have the operator's grid shape {self.shape}, got {jnp.shape(u)}."
            )

    # ---------------------------------------------------------------------------- lineax interface
    def in_structure(self) -> jax.ShapeDtypeStruct:
        return jax.ShapeDtypeStruct(tuple(self.shape), self.dtype)

    def out_structure(self) -> jax.ShapeDtypeStruct:
        return self.in_structure()

    def transpose(self) -> "AbstractGridOperator":
        return self

    def as_matrix(self) -> Float[Array, "N N"]:
        """The dense ``N x N`` matrix (row-major flattening of the grid). O(N^2) memory: for tests
        and small grids; prefer :meth:`as_bcoo` / :meth:`as_scipy`."""
        eye = jnp.eye(self.size, dtype=self.dtype).reshape((self.size, *self.shape))
        return jax.vmap(self.mv)(eye).reshape(self.size, self.size).T

    # ------------------------------------------------------------------------------ sparse export
    def _probes(self) -> tuple[tuple[int, ...], list[tuple[int, ...]]]:
        # Colour c(i) = i mod m per axis with m = 2r + 1 (no two points of a colour share a stencil);
        # a periodic axis whose length m does not divide gets one colour per point.
        width = 2 * self.stencil_radius + 1
        mods = tuple(
            n if (per and n % width) else min(width, n)
            for n, per in zip(self.shape, self.periodic_axes, strict=True)
        )
        return mods, list(itertools.product(*[range(m) for m in mods]))

    def _coo(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Host ``(rows, cols, values)`` of the nonzeros (row-major flattening), by probing."""
        mods, colours = self._probes()
        idx = np.indices(self.shape)
        masks = np.stack(
            [np.all([idx[d] % mods[d] == c[d] for d in range(self.ndim)], axis=0) for c in colours]
        )
        responses = np.asarray(jax.vmap(self.mv)(jnp.asarray(masks, self.dtype)))
        # Within the stencil of row i each colour occurs once, so the entry A[i, i + o] is the
        # response, at i, of the probe of the colour of i + o.
        radius = self.stencil_radius
        rows, cols, vals = [], [], []
        flat = np.arange(self.size).reshape(self.shape)
        offsets = itertools.product(*[range(-radius, radius + 1)] * self.ndim)
        for off in offsets:
            src = [idx[d] + off[d] for d in range(self.ndim)]
            valid = np.ones(self.shape, bool)
            for d in range(self.ndim):
                if self.periodic_axes[d]:
                    src[d] = src[d] % self.shape[d]
                else:
                    valid &= (src[d] >= 0) & (src[d] < self.shape[d])
                    src[d] = np.clip(src[d], 0, self.shape[d] - 1)
            col_flat = flat[tuple(src)]
            colour_index = np.zeros(self.shape, int)
            for d in range(self.ndim):
                colour_index = colour_index * mods[d] + src[d] % mods[d]
            value = np.take_along_axis(
                responses.reshape(len(colours), -1), colour_index.reshape(1, -1), axis=0
            ).reshape(self.shape)
            keep = valid & (value != 0)
            rows.append(flat[keep])
            cols.append(col_flat[keep])
            vals.append(value[keep])
        rows, cols, vals = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
        # A periodic axis shorter than the stencil visits the same column twice: keep one entry.
        key = rows * self.size + cols
        _, first = np.unique(key, return_index=True)
        return rows[first], cols[first], vals[first]

    def as_bcoo(self):
        """The operator as a ``jax.experimental.sparse.BCOO`` ``(N, N)`` matrix (row-major grid
        flattening). Built on the host from ``(2 r + 1)^d`` probes; the operator must be concrete."""
        from jax.experimental import sparse as jsparse

        rows, cols, vals = self._coo()
        indices = jnp.asarray(np.stack([rows, cols], axis=1))
        return jsparse.BCOO((jnp.asarray(vals), indices), shape=(self.size, self.size))

    def as_scipy(self):
        """The operator as a ``scipy.sparse.csr_matrix`` (row-major grid flattening), e.g. to compare
        with SciPy or pyamg. SciPy is imported here only (it is not a core dependency)."""
        try:
            import scipy.sparse as sps
        except ImportError as err:  # pragma: no cover - scipy is in every extra
            raise ImportError("`as_scipy` needs SciPy: pip install scipy.") from err
        rows, cols, vals = self._coo()
        return sps.csr_matrix((vals, (rows, cols)), shape=(self.size, self.size))

    # ----------------------------------------------------------------------------------- smoothing
    def colour_sweep(
        self,
        u: Float[Array, "*grid"],
        f: Float[Array, "*grid"],
        omega: Float[ArrayLike, ""],
        colour: Bool[ArrayLike, "*grid"],
        diagonal: Float[Array, "*grid"] | None = None,
    ) -> Float[Array, "*grid"]:
        """One SOR update of the points of one colour: ``u_p + omega (f - A u)_p / a_pp`` where
        ``colour`` is ``True``, ``u_p`` elsewhere. Exact Gauss–Seidel (``omega = 1``) for points that
        do not couple with each other. Cost: one ``mv``."""
        d = self.diagonal() if diagonal is None else diagonal
        d = d.astype(u.dtype)
        update = omega * (f - self.mv(u)) / jnp.where(d != 0, d, 1)
        return jnp.where(colour, u + update, u)

    def redblack_sweep(
        self,
        u: Float[Array, "*grid"],
        f: Float[Array, "*grid"],
        omega: Float[ArrayLike, ""] = 1.0,
        *,
        reverse: bool = False,
    ) -> Float[Array, "*grid"]:
        """A red-black SOR sweep (red points, then black; ``reverse=True`` black first, the adjoint
        order for symmetric smoothing). Exact for nearest-neighbour stencils. Cost: two ``mv``."""
        red = jnp.asarray(red_mask(tuple(self.shape)))
        d = self.diagonal()
        first, second = (~red, red) if reverse else (red, ~red)
        u = self.colour_sweep(u, f, omega, first, d)
        return self.colour_sweep(u, f, omega, second, d)


# lineax answers structural questions by single dispatch on the operator type.
@lx.is_symmetric.register(AbstractGridOperator)
def _(operator):
    return True


@lx.is_positive_semidefinite.register(AbstractGridOperator)
def _(operator):
    return True


@lx.is_negative_semidefinite.register(AbstractGridOperator)
@lx.is_diagonal.register(AbstractGridOperator)
@lx.is_tridiagonal.register(AbstractGridOperator)
@lx.has_unit_diagonal.register(AbstractGridOperator)
@lx.is_lower_triangular.register(AbstractGridOperator)
@lx.is_upper_triangular.register(AbstractGridOperator)
def _(operator):
    return False


@lx.linearise.register(AbstractGridOperator)
@lx.materialise.register(AbstractGridOperator)
@lx.conj.register(AbstractGridOperator)
def _(operator):
    return operator


@lx.diagonal.register(AbstractGridOperator)
def _(operator):
    return operator.diagonal().reshape(-1)
