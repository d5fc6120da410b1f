"""The multigrid hierarchy: every level's operator, the transfers between levels and the coarsest
level's factorisation, built once by :func:`build_hierarchy` (``Multigrid(...).init(op)``).

The path of an operator through setup, in order:

1. :func:`level_shapes`: halve the grid (per axis by its boundary condition) until it has at most
   ``coarse_max`` unknowns or ``max_levels`` levels.
2. True coordinates of every level (host NumPy, static), the interpolation weights between levels
   (``None`` on uniform nested axes) and, for non-nested sizes, the finite-volume factors of each
   coarse grid (:mod:`jaxsci.multigrid._transfer`).
3. Coarse operators, either ``coarse="average"``: coefficients averaged onto the coarse grid
   (:func:`jaxsci.multigrid.coarsen`, harmonic along the flux, arithmetic across) and scaled by
   the geometry factors (:meth:`DiffusionOperator.with_geometry`); or ``coarse="galerkin"``:
   ``R A P`` probed into a :class:`GalerkinOperator` (:mod:`jaxsci.multigrid._galerkin`).
4. The coarsest operator as a dense matrix, factorised once (Cholesky) and stored as its inverse,
   so a coarse solve is one matrix-vector product. A singular coarsest operator (constant null
   space: Neumann/periodic with ``c = 0``) is regularised to ``A + s 1 1^T / n`` with ``s`` its mean
   diagonal: nonsingular, and for a right-hand side of zero mean its solution is the zero-mean
   solution of ``A x = r`` (``1^T A = 0`` forces ``s mean(x) = mean(r) = 0``). No
   eigendecomposition, so setup runs on the device, under ``jit`` and ``vmap`` alike.

Cost of setup: ``O(N)`` for averaged coarse operators; ``3^d`` fine-level applications of ``P``,
``A``, ``R`` per level for Galerkin ones (``5`` per Neumann axis); ``O(n_c^3)`` for the coarsest
factorisation (``n_c <= coarse_max``, 64 by default). Memory: about ``(1 + 2^-d + ...) N`` coefficient
values plus ``n_c^2``.
"""

from __future__ import annotations

from typing import Any, final

import equinox as eqx
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
from jaxtyping import Array, Float

from .._checks import check_positive_int
from .._grid import AbstractGridOperator
from ._dendy import (
    dendy_coarsen,
    dendy_coarsen_nd,
    dendy_prolong,
    dendy_prolong_nd,
    dendy_restrict,
    dendy_restrict_nd,
)
from ._galerkin import galerkin_coarsen
from ._operator import DiffusionOperator
from ._transfer import (
    axis_nodes,
    coarse_nodes,
    coarse_shape,
    coarsen,
    geometry_factors,
    interpolation_weights,
    prolong,
    restrict,
)

__all__ = ["COARSE_OPERATORS", "DENSE_COARSE_MAX", "Hierarchy", "build_hierarchy", "level_shapes"]

COARSE_OPERATORS = ("average", "galerkin", "dendy")
#: The coarsest level is factorised when it has at most this many unknowns; beyond, it is smoothed.
DENSE_COARSE_MAX = 4096
#: Sweeps of the smoother that stand in for the coarse solve when the coarsest grid is too large.
COARSE_SWEEPS = 20


@final
class Hierarchy(eqx.Module):
    """Operators ``A_0`` (fine) ... ``A_L`` (coarsest), the transfers and the coarsest solver.

    **Fields:**

    - ``ops``: the level operators, finest first (``ops[0]`` is the operator given to ``init``).
    - ``coarse_inverse``: the dense inverse of ``A_L`` (regularised when singular; see the module
      docstring), or ``None`` when ``A_L`` has more than ``DENSE_COARSE_MAX`` unknowns.
    - ``transfer_weights`` (static): per level ``l`` and axis, the interpolation weights between
      levels ``l`` and ``l + 1`` (``None`` where the grids are uniform and nested).
    - ``dtype`` (static): the dtype the cycles run in (``precision``, default the operator's).
    - ``null_mode`` (static) and ``null_flag``: whether the constants are the null space of every
      level (:attr:`DiffusionOperator.null_mode`): ``"none"``, ``"always"``, or ``"runtime"`` with
      ``null_flag`` the boolean decided at run time from ``c`` (``c`` a JAX array, zero everywhere).
    - ``interpolation``: ``None`` (bi/trilinear transfers) or, for ``coarse="dendy"``, per level the
      operator-dependent interpolation weights (:func:`jaxsci.multigrid._dendy.dendy_weights` in 2D,
      :func:`~jaxsci.multigrid._dendy.dendy_weights_nd` in 3D, arrays
      computed from the coefficients in ``init``); restriction is their transpose over ``2^d``.
    """

    ops: tuple[AbstractGridOperator, ...]
    coarse_inverse: Array | None
    transfer_weights: tuple = eqx.field(static=True, default=())
    dtype: Any = eqx.field(static=True, default=None)
    null_mode: str = eqx.field(static=True, default="none")
    null_flag: Array | None = None
    interpolation: tuple | None = None

    def singular(self) -> Any:
        """``True`` where the operator is singular (constant null space): a Python bool, or a
        boolean scalar array for ``null_mode == "runtime"``."""
        if self.null_mode == "runtime":
            return self.null_flag
        return self.null_mode == "always"

    def project(self, v: Float[Array, " *grid"]) -> Float[Array, " *grid"]:
        """Subtract the mean of ``v`` where the operator is singular (onto its range), else ``v``."""
        if self.null_mode == "none":
            return v
        if self.null_mode == "always":
            return v - jnp.mean(v)
        return v - jnp.where(self.null_flag, jnp.mean(v), jnp.zeros((), v.dtype))

    @property
    def depth(self) -> int:
        return len(self.ops)

    @property
    def op(self) -> AbstractGridOperator:
        """The finest operator."""
        return self.ops[0]

    def _weights(self, l: int):
        return self.transfer_weights[l] if l < len(self.transfer_weights) else None

    def _check_level(self, l: Any, name: str, array: Any, offset: int) -> None:
        if isinstance(l, bool) or not isinstance(l, (int, np.integer)):
            raise TypeError(f"`l` must be an int level index, got {l!r}.")
        if not 0 <= l < self.depth - 1:
            raise ValueError(f"`l` must lie in [0, {self.depth - 1}) for a transfer, got {l}.")
        level = l + offset
        want = self.ops[level].shape
        if tuple(jnp.shape(array)) != tuple(want):
            raise ValueError(
                f"`{name}` must have the grid shape {want} of level {level}, got {jnp.shape(array)}."
            )

    def prolong(self, l: int, e: Float[Array, " *coarse"]) -> Float[Array, " *fine"]:
        """Interpolate a level ``l + 1`` array to level ``l``."""
        self._check_level(l, "e", e, 1)
        op = self.ops[l]
        if self.interpolation is not None:
            if op.ndim == 2:
                return dendy_prolong(e, self.interpolation[l], op.shape)
            return dendy_prolong_nd(e, self.interpolation[l], op.shape)
        return prolong(e, op.shape, op.bc, self._weights(l))

    def restrict(self, l: int, r: Float[Array, " *fine"]) -> Float[Array, " *coarse"]:
        """Restrict a level ``l`` array to level ``l + 1`` (``R = P^T / 2^d``)."""
        self._check_level(l, "r", r, 0)
        if self.interpolation is not None:
            crs = self.ops[l + 1].shape
            if len(crs) == 2:
                return dendy_restrict(r, self.interpolation[l], crs)
            return dendy_restrict_nd(r, self.interpolation[l], crs)
        return restrict(r, self.ops[l].bc, self._weights(l))


def level_shapes(
    shape: tuple[int, ...], bcs: tuple[str, ...], max_levels: int | None, coarse_max: int
) -> list[tuple[int, ...]]:
    """The grid shapes of the levels, finest first."""
    shapes = [tuple(shape)]
    while max_levels is None or len(shapes) < max_levels:
        s = shapes[-1]
        if min(s) < 3 or int(np.prod(s)) <= coarse_max:
            break
        shapes.append(coarse_shape(s, bcs))
    return shapes


def _coarse_inverse(op: AbstractGridOperator, dtype: Any, singular: Any) -> Array:
    """The inverse of the coarsest operator by one Cholesky factorisation (see the module docstring);
    ``singular`` (a bool or a run-time boolean) says whether to regularise the constant null space."""
    work = jnp.promote_types(dtype, jnp.float32)
    mat = op.as_matrix().astype(work)
    n = mat.shape[0]
    if singular is not False:
        shift = jnp.mean(jnp.diagonal(mat))
        mat = mat + jnp.where(singular, shift / n, jnp.zeros((), work))
    factor = jnp.linalg.cholesky(mat)
    inverse = jsl.cho_solve((factor, True), jnp.eye(n, dtype=work))
    return inverse.astype(dtype)


@eqx.filter_jit
def build_hierarchy(
    op: DiffusionOperator,
    *,
    max_levels: int | None = None,
    coarse_max: int = 64,
    dtype: Any = None,
    coarse: str = "average",
) -> Hierarchy:
    """Coarsen ``op`` until the grid has at most ``coarse_max`` unknowns (or ``max_levels`` levels).

    Coefficients are coarsened by :func:`coarsen` (harmonic along the flux, arithmetic across). Where
    a size is not nested (Dirichlet with even ``n``, periodic or Neumann with odd ``n``, on any level)
    the coarse grid is the subset of fine points (or cell unions) it really is, uniform but for one
    interval at a boundary or the periodic wrap; the transfers interpolate linearly in the true
    coordinates and the coarse operator carries the matching finite-volume factors
    (:func:`jaxsci.multigrid._transfer.geometry_factors`), i.e. it is the Galerkin operator ``R A P``
    in 1D and its lumped 5/7-point form in 2D/3D. Without this the rediscretised operator of a
    non-nested grid describes a slightly larger domain and the cycle can diverge.

    ``coarse="galerkin"`` builds every coarse operator as ``R A P`` instead
    (:func:`jaxsci.multigrid._galerkin.galerkin_coarsen`: a 9/27-point stencil, wider along Neumann
    axes), robust to coefficient jumps at the price of a setup of ``3^d`` (Dirichlet/periodic) fine
    operator applications per level and a multi-colour Gauss-Seidel on the coarse levels.
    ``coarse="dendy"`` (2D/3D, Dirichlet) replaces the bi/trilinear transfers by Dendy's
    operator-dependent interpolation (:mod:`jaxsci.multigrid._dendy`; in 3D staged over lines, planes
    and cell centres) and builds ``R A P`` with it: robust to jumps of any size whose interfaces do
    not lie on coarse grid lines.

    ``dtype``: the dtype of the cycles (default the operator's). The coarsest level is factorised
    once here (see the module docstring). ``eqx.filter_jit``-ed (the configuration is static).
    """
    if coarse not in COARSE_OPERATORS:
        raise ValueError(f"`coarse` must be one of {COARSE_OPERATORS}, got {coarse!r}.")
    if not isinstance(op, DiffusionOperator):
        raise TypeError(
            "`op` must be a jaxsci.multigrid operator (from `poisson` or `diffusion`), got "
            f"{type(op).__name__}."
        )
    if max_levels is not None:
        check_positive_int(max_levels, "max_levels")
    check_positive_int(coarse_max, "coarse_max")
    if dtype is not None:
        dtype = check_float_dtype(dtype, "dtype")
    bcs = op.bc
    shapes = level_shapes(op.shape, bcs, max_levels, coarse_max)
    # True coordinates (normalised to [0, 1]) of every level, per axis, on the host.
    coords = [[axis_nodes(n, b) for n, b in zip(op.shape, bcs, strict=True)]]
    for _ in shapes[1:]:
        coords.append([coarse_nodes(x, b) for x, b in zip(coords[-1], bcs, strict=True)])
    transfer_weights = tuple(
        tuple(interpolation_weights(xf, xc, b) for xf, xc, b in zip(fine, crs, bcs, strict=True))
        for fine, crs in zip(coords[:-1], coords[1:], strict=True)
    )
    h0 = [
        1.0 / (n + 1) if b == "dirichlet" else 1.0 / n for n, b in zip(op.shape, bcs, strict=True)
    ]
    if coarse == "dendy" and (op.ndim not in (2, 3) or any(b != "dirichlet" for b in bcs)):
        raise ValueError(
            "`coarse` = 'dendy' (operator-dependent interpolation) is implemented for 2D and 3D "
            f"operators with Dirichlet boundaries, got shape {op.shape} with `bc` {bcs}; use "
            "`coarse='galerkin'`."
        )
    ops: list[AbstractGridOperator] = [op]
    interp = []
    averaged = op
    for l in range(1, len(shapes)):
        # The averaged operator of level l also gives the Galerkin level its nominal spacing.
        averaged = coarsen(averaged)
        if coarse == "dendy":
            coarsen_fn = dendy_coarsen if op.ndim == 2 else dendy_coarsen_nd
            coarse_op, weights = coarsen_fn(ops[-1], shapes[l], averaged.h)
            ops.append(coarse_op)
            interp.append(weights)
        elif coarse == "galerkin":
            fine, fshape, w = ops[-1], shapes[l - 1], transfer_weights[l - 1]
            ops.append(
                galerkin_coarsen(
                    fine,
                    shapes[l],
                    averaged.h,
                    lambda e, fshape=fshape, w=w: prolong(e, fshape, bcs, w),
                    lambda r, w=w: restrict(r, bcs, w),
                )
            )
        else:
            factors = [
                geometry_factors(x, b, h * 2**l) for x, b, h in zip(coords[l], bcs, h0, strict=True)
            ]
            # The next level is coarsened from the uniform form: the factors belong to one level.
            ops.append(averaged.with_geometry(factors))
    dtype = jnp.dtype(dtype or op.dtype)
    null_mode = op.null_mode
    flag = op.null_space() if null_mode == "runtime" else None
    singular = flag if null_mode == "runtime" else null_mode == "always"
    inverse = None
    if ops[-1].size <= DENSE_COARSE_MAX:
        inverse = _coarse_inverse(ops[-1], dtype, singular)
    interpolation = None
    if coarse == "dendy":
        interpolation = tuple(tuple(w.astype(dtype) for w in ws) for ws in interp)
    return Hierarchy(tuple(ops), inverse, transfer_weights, dtype, null_mode, flag, interpolation)


def check_float_dtype(dtype: Any, name: str) -> Any:
    """``dtype`` as a NumPy floating dtype of at least 32 bits, or a ``TypeError`` naming ``name``."""
    try:
        dt = jnp.dtype(dtype)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be a floating dtype, got {dtype!r}.") from None
    if not jnp.issubdtype(dt, jnp.floating):
        raise TypeError(f"`{name}` must be a floating dtype, got {dt}.")
    if dt.itemsize < 4:
        raise TypeError(
            f"`{name}` must be float32 or float64 (multigrid does not compute in half precision), "
            f"got {dt}."
        )
    return dt
