"""Matrix-free finite-volume operators ``-div(a grad u) + c u`` on structured 1D/2D/3D grids.

Grid conventions (per axis, chosen by the boundary condition of that axis):

- ``"dirichlet"``: vertex-centred. The ``n`` unknowns are the interior nodes ``x_i = (i + 1) h``,
  ``i = 0..n-1``, of ``[0, 1]`` with ``h = 1/(n + 1)``; the boundary values are zero (homogeneous data;
  put inhomogeneous data into ``f``).
- ``"neumann"``: cell-centred. The unknowns are the cell centres ``x_i = (i + 1/2) h`` with
  ``h = 1/n``; the flux through the two boundary faces is zero.
- ``"periodic"``: ``x_i = i h`` with ``h = 1/n``; node ``n - 1`` neighbours node ``0``.

Coefficient placement: ``a`` lives at the unknowns (same shape as ``u``). The coefficient on the face
between two neighbouring unknowns is the harmonic mean ``2 a_i a_j / (a_i + a_j)`` (exact for a
coefficient that is piecewise constant on the two half-cells, and the choice that keeps the flux
continuous across jumps). On a Dirichlet boundary face the adjacent unknown's ``a`` is used; Neumann
boundary faces carry weight 0. Internally an operator stores one array of face weights per axis
(shape of ``u`` with ``n + 1`` along that axis, or any shape broadcastable to it, or a scalar), so
the same code applies constant and variable coefficients. The stencil is

    (A u)_i = sum_d [ w_{i+1/2} (u_i - u_{i+1}) + w_{i-1/2} (u_i - u_{i-1}) ] / h_d^2 + c_i u_i,

symmetric and positive definite unless every axis is Neumann/periodic and ``c = 0`` (then the constants
are its null space and the operator is flagged ``singular``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Real

from .._checks import check_positive, concrete_or_none, error_if_not
from .._grid import AbstractGridOperator, red_mask

__all__ = ["DiffusionOperator", "diffusion", "poisson"]

BOUNDARY_CONDITIONS = ("dirichlet", "neumann", "periodic")


def _normalise_bc(bc: Any, ndim: int) -> tuple[str, ...]:
    if isinstance(bc, str):
        bcs = (bc,) * ndim
    elif isinstance(bc, Sequence) and all(isinstance(b, str) for b in bc):
        bcs = tuple(bc)
        if len(bcs) != ndim:
            raise ValueError(f"`bc` must be a string or one name per axis ({ndim}), got {bc!r}.")
    else:
        raise TypeError(f"`bc` must be a string or a tuple of strings, got {bc!r}.")
    for b in bcs:
        if b not in BOUNDARY_CONDITIONS:
            raise ValueError(f"`bc` must be one of {BOUNDARY_CONDITIONS}, got {b!r}.")
    return bcs


def _normalise_h(h: Any, shape: tuple[int, ...], bcs: tuple[str, ...]) -> tuple[float, ...]:
    if h is None:
        return tuple(
            1.0 / (n + 1) if b == "dirichlet" else 1.0 / n for n, b in zip(shape, bcs, strict=False)
        )
    hs = tuple(h) if isinstance(h, (tuple, list)) else (h,) * len(shape)
    if len(hs) != len(shape):
        raise ValueError(f"`h` must be a scalar or one spacing per axis ({len(shape)}), got {h!r}.")
    out = []
    for v in hs:
        if isinstance(v, jax.core.Tracer):
            raise TypeError(
                "`h` must be a Python float (it is static configuration), got a tracer."
            )
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise TypeError(f"`h` must be a positive float or one per axis, got {h!r}.") from None
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"`h` must be > 0, got {h!r}.")
        out.append(v)
    return tuple(out)


def _check_shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"`shape` must be a tuple of ints, got {shape!r}.") from None
    if not 1 <= len(shape) <= 3:
        raise ValueError(f"`shape` must have 1, 2 or 3 entries, got {shape!r}.")
    for n in shape:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"`shape` must contain positive ints, got {shape!r}.")
    return tuple(int(n) for n in shape)


def pad_axis(u: Array, axis: int, bc: str) -> Array:
    """One ghost layer on both ends of ``axis``: zeros (Dirichlet, Neumann) or the wrapped values."""
    if bc == "periodic":
        n = u.shape[axis]
        first = jax.lax.slice_in_dim(u, 0, 1, axis=axis)
        last = jax.lax.slice_in_dim(u, n - 1, n, axis=axis)
        return jnp.concatenate([last, u, first], axis=axis)
    widths = [(0, 0)] * u.ndim
    widths[axis] = (1, 1)
    return jnp.pad(u, widths)


def shift_neighbours(u: Array, axis: int, bc: str) -> tuple[Array, Array]:
    """``(u_{i-1}, u_{i+1})`` along ``axis``, each of ``u``'s shape: zeros beyond a Dirichlet or
    Neumann end (the Neumann faces carry weight 0), the wrapped values on a periodic axis. Shifts
    of the same shape partition into one-row halo exchanges on a sharded axis."""
    n = u.shape[axis]
    if n == 1:
        z = u if bc == "periodic" else jnp.zeros_like(u)
        return z, z
    head = jax.lax.slice_in_dim(u, 0, n - 1, axis=axis)
    tail = jax.lax.slice_in_dim(u, 1, n, axis=axis)
    if bc == "periodic":
        first = jax.lax.slice_in_dim(u, 0, 1, axis=axis)
        last = jax.lax.slice_in_dim(u, n - 1, n, axis=axis)
        return (
            jnp.concatenate([last, head], axis=axis),
            jnp.concatenate([tail, first], axis=axis),
        )
    zero = jnp.zeros((), u.dtype)
    lo_cfg = [(0, 0, 0)] * u.ndim
    hi_cfg = [(0, 0, 0)] * u.ndim
    lo_cfg[axis] = (1, 0, 0)
    hi_cfg[axis] = (0, 1, 0)
    return jax.lax.pad(head, zero, lo_cfg), jax.lax.pad(tail, zero, hi_cfg)


def _diff(x: Array, axis: int) -> Array:
    n = x.shape[axis]
    return jax.lax.slice_in_dim(x, 1, n, axis=axis) - jax.lax.slice_in_dim(x, 0, n - 1, axis=axis)


def _harmonic(x: Array, y: Array) -> Array:
    s = x + y
    return jnp.where(s > 0, 2 * x * y / jnp.where(s > 0, s, 1), 0)


@final
class DiffusionOperator(AbstractGridOperator):
    """The operator ``u -> -div(a grad u) + c u`` on a structured grid (see the module docstring).

    **Fields:**

    - ``weights``: per axis, the face coefficients (``a`` on the faces): a scalar, or an array of the
      unknowns' shape with ``n_d + 1`` along axis ``d`` (or broadcastable to it).
    - ``c``: the reaction coefficient, a scalar or an array of the unknowns' shape, or ``None`` when
      it is zero (known on the host: a Python or NumPy zero).
    - ``shape``, ``h``, ``bc`` (static): grid size, spacing and boundary condition per axis.

    ``singular`` is ``True`` when no axis is Dirichlet and ``c is None``: the constants are the null
    space and ``f`` must have zero mean. A ``c`` given as a JAX array (traced under ``jit``/``vmap``)
    is never read on the host: without a Dirichlet axis the operator is then singular exactly when
    ``c`` is zero everywhere, which the solvers decide at run time (``null_mode == "runtime"``,
    :meth:`null_space`) and treat like a host zero (projection, ``RESULTS.incompatible``).

    Build it with :func:`poisson` or :func:`diffusion`. It is a :class:`lineax.AbstractLinearOperator`
    (symmetric, positive semidefinite; :class:`jaxsci._grid.AbstractGridOperator`): ``op.mv(u)`` (or
    ``op(u)``) applies it in ``O(N)`` work and memory, ``op.diagonal()`` gives its diagonal,
    ``op.as_matrix()``/``op.as_bcoo()``/``op.as_scipy()`` export it, and
    ``lineax.linear_solve(op, f, solver)`` takes it directly.
    """

    weights: tuple[Array, ...]
    c: Array | None
    shape: tuple[int, ...] = eqx.field(static=True)
    h: tuple[float, ...] = eqx.field(static=True)
    bc: tuple[str, ...] = eqx.field(static=True)

    @property
    def dtype(self):
        return jnp.result_type(*self.weights, *(() if self.c is None else (self.c,)))

    @property
    def singular(self) -> bool:
        return self.c is None and all(b != "dirichlet" for b in self.bc)

    @property
    def null_mode(self) -> str:
        """Whether the constants are in the null space (static): ``"none"`` (a Dirichlet axis),
        ``"always"`` (no Dirichlet axis, ``c`` a host zero) or ``"runtime"`` (no Dirichlet axis, ``c``
        an array: singular where ``c == 0`` everywhere, see :meth:`null_space`)."""
        if any(b == "dirichlet" for b in self.bc):
            return "none"
        return "always" if self.c is None else "runtime"

    def null_space(self) -> Any:
        """``True`` where the constants are in the null space: a Python bool for ``null_mode``
        ``"none"``/``"always"``, else a boolean scalar array computed from ``c`` at run time."""
        mode = self.null_mode
        if mode != "runtime":
            return mode == "always"
        return jnp.all(self.c == 0)

    @property
    def periodic_axes(self) -> tuple[bool, ...]:
        return tuple(b == "periodic" for b in self.bc)

    @property
    def widths(self) -> tuple[int, ...]:
        """How far the stencil reaches along each axis (nearest neighbours)."""
        return (1,) * self.ndim

    def mv(self, vector: Float[ArrayLike, " *grid"]) -> Float[Array, " *grid"]:
        """``A u``: one pass over the grid (the stencil fuses into one loop under jit)."""
        self.check_vector(vector)
        u = jnp.asarray(vector)
        # Neighbours as same-shape shifts of ``u`` (XLA fuses them into one vectorised loop). A grid
        # sharded along an axis then exchanges one boundary row per neighbour: padding the whole
        # grid to ``n + 2`` first (the earlier form) gave an array that does not divide over the
        # devices, which XLA's partitioner realigned by shifting up to 7 rows per device (8x the
        # halo bytes of a V-cycle on 8 devices, 256^2).
        out = jnp.zeros_like(u) if self.c is None else self.c.astype(u.dtype) * u
        for d in range(self.ndim):
            n = self.shape[d]
            lo, hi = shift_neighbours(u, d, self.bc[d])
            w = self.weights[d].astype(u.dtype)
            if w.ndim and w.shape[d] > 1:
                w_lo = jax.lax.slice_in_dim(w, 0, n, axis=d)
                w_hi = jax.lax.slice_in_dim(w, 1, n + 1, axis=d)
            else:
                w_lo = w_hi = w
            out = out + (w_lo * (u - lo) + w_hi * (u - hi)) * (1.0 / self.h[d] ** 2)
        return out

    def diagonal(self) -> Float[Array, " *grid"]:
        """The diagonal of ``A`` as a grid-shaped array (a broadcast scalar for constant
        coefficients, which costs no memory traffic under ``jit``)."""
        c = 0.0 if self.c is None else self.c
        diag = jnp.broadcast_to(jnp.asarray(c, self.dtype), self.shape)
        for d in range(self.ndim):
            w = jnp.broadcast_to(self.weights[d], _face_shape(self.shape, d))
            n = self.shape[d]
            lo = jax.lax.slice_in_dim(w, 0, n, axis=d)
            hi = jax.lax.slice_in_dim(w, 1, n + 1, axis=d)
            diag = diag + (lo + hi) / self.h[d] ** 2
        return diag

    def colour_masks(self) -> list[Array]:
        """The Gauss-Seidel colour classes of the 3/5/7-point stencil: red (even index sum), black."""
        red = jnp.asarray(red_mask(self.shape))
        return [red, ~red]

    def with_geometry(self, factors) -> "DiffusionOperator":
        """Scale face weights and ``c`` by the finite-volume factors of a non-uniform level grid
        (per axis ``None`` or ``(face, volume)`` from :func:`jaxsci.multigrid._transfer.geometry_factors`)."""
        if all(f is None for f in factors):
            return self
        nd, dtype = self.ndim, self.dtype

        def profile(values, axis):
            shape = [1] * nd
            shape[axis] = len(values)
            return jnp.asarray(np.asarray(values).reshape(shape), dtype)

        vols = [None if f is None else profile(f[1], d) for d, f in enumerate(factors)]
        weights = []
        for d, w in enumerate(self.weights):
            g = jnp.asarray(1.0, dtype) if factors[d] is None else profile(factors[d][0], d)
            for e in range(nd):
                if e != d and vols[e] is not None:
                    g = g * vols[e]
            weights.append(w * g)
        c = self.c
        if c is not None:
            for v in vols:
                if v is not None:
                    c = c * v
        return DiffusionOperator(tuple(weights), c, self.shape, self.h, self.bc)


def _face_shape(shape: tuple[int, ...], axis: int) -> tuple[int, ...]:
    s = list(shape)
    s[axis] += 1
    return tuple(s)


def _check_real_dtype(x: Any, name: str, *, integers: bool) -> Any:
    """The dtype of ``x`` (an array-like), refusing what a real operator cannot hold: strings and
    other objects, complex and boolean values, half precision (multigrid computes in float32 or
    float64), and integers unless ``integers``."""
    try:
        dtype = jnp.result_type(x) if isinstance(x, (jax.Array, np.ndarray)) else None
        if dtype is None:
            dtype = jnp.asarray(x).dtype
    except (TypeError, ValueError):
        raise TypeError(
            f"`{name}` must be a real number or array, got {type(x).__name__}."
        ) from None
    if jnp.issubdtype(dtype, jnp.floating):
        if jnp.dtype(dtype).itemsize < 4:
            raise TypeError(
                f"`{name}` must be float32 or float64 (multigrid does not compute in half precision), "
                f"got {dtype}; convert it with `.astype(jnp.float32)`."
            )
        return dtype
    if integers and jnp.issubdtype(dtype, jnp.integer) and dtype != jnp.bool_:
        return dtype
    kind = "real floating" if not integers else "real (floating or integer)"
    raise TypeError(f"`{name}` must be a {kind} array, got dtype {dtype}.")


def _check_c(c: Any, shape: tuple[int, ...]) -> Array | None:
    """``c`` as an array, or ``None`` when it is a host zero (then the operator may be singular)."""
    _check_real_dtype(c, "c", integers=True)
    if jnp.ndim(c) != 0 and tuple(jnp.shape(c)) != shape:
        raise ValueError(
            f"`c` must be a scalar or have the grid shape {shape}, got {jnp.shape(c)}."
        )
    check_positive(c, "c", strict=False)
    host = concrete_or_none(c)
    if host is None:
        c = jnp.asarray(c)
        return error_if_not(c, (c >= 0) & jnp.isfinite(c), "`c` must be finite and >= 0.")
    if bool(np.all(host == 0)):
        return None
    return jnp.asarray(c)


def poisson(
    shape: int | Sequence[int],
    *,
    h: float | Sequence[float] | None = None,
    bc: str | Sequence[str] = "dirichlet",
    c: ArrayLike = 0.0,
) -> DiffusionOperator:
    """The 3/5/7-point negative Laplacian ``-Δu (+ c u)`` on ``shape`` unknowns.

    With the default ``bc="dirichlet"`` the unknowns are the interior nodes of ``[0, 1]^d``,
    ``h = 1/(n + 1)`` per axis, zero boundary values: ``(A u)_ij = (4u_ij - u_{i±1,j} - u_{i,j±1})/h^2``
    in 2D. ``bc`` may be ``"neumann"`` (cell-centred, ``h = 1/n``) or ``"periodic"`` (``h = 1/n``), or a
    tuple with one name per axis. ``h`` overrides the spacing (a scalar or one per axis). Constant
    coefficients are stored as scalars, so applying the operator reads only ``u``.
    """
    shape = _check_shape(shape)
    bcs = _normalise_bc(bc, len(shape))
    hs = _normalise_h(h, shape, bcs)
    c = _check_c(c, shape)
    weights = []
    for d, b in enumerate(bcs):
        if b == "neumann":
            prof = np.ones(shape[d] + 1)
            prof[0] = prof[-1] = 0.0
            bshape = [1] * len(shape)
            bshape[d] = shape[d] + 1
            weights.append(jnp.asarray(prof.reshape(bshape)))
        else:
            weights.append(jnp.asarray(1.0))
    return DiffusionOperator(tuple(weights), c, shape, hs, bcs)


def diffusion(
    a: Real[ArrayLike, " *grid"] | tuple[Real[ArrayLike, " *grid"], ...],
    *,
    h: float | Sequence[float] | None = None,
    bc: str | Sequence[str] = "dirichlet",
    c: ArrayLike = 0.0,
) -> DiffusionOperator:
    """The variable-coefficient operator ``-div(a grad u) + c u``, or with per-axis coefficients
    ``-sum_d d/dx_d (a_d du/dx_d) + c u``.

    **Arguments:**

    - ``a``: the coefficient, ``a > 0`` (float32/float64, or integers, converted to the default float
      dtype; complex, boolean and half-precision arrays are refused), with the SAME shape as the
      unknowns (1, 2 or 3 dimensions): ``a[i, j]`` is the coefficient at unknown ``(i, j)``. Face
      coefficients are harmonic means of the two neighbouring values (see the module docstring);
      this keeps the flux continuous across jumps. Or a tuple ``(a_x, a_y[, a_z])`` of such arrays,
      one per axis (anisotropic and layered media, e.g. ``(eps * ones, ones)`` for
      ``-(eps u_xx + u_yy)``): the faces normal to axis ``d`` take harmonic means of ``a_d``.
    - ``h``, ``bc``: as in :func:`poisson` (``h`` defaults to ``1/(n+1)`` for Dirichlet axes, ``1/n``
      otherwise).
    - ``c``: reaction coefficient ``>= 0``, scalar or grid-shaped.

    Differentiable with respect to ``a`` and ``c`` (the operator is a pytree of arrays).
    Cost: ``O(N)`` to build (``d`` face arrays of about ``N`` entries each).
    """
    if isinstance(a, tuple) and a and all(hasattr(x, "shape") for x in a):
        fields = [_check_coefficient(x, "a") for x in a]
        shapes = {tuple(x.shape) for x in fields}
        if len(shapes) != 1 or len(fields) != fields[0].ndim:
            raise ValueError(
                "`a` given as a tuple must hold one coefficient array per axis, all of the grid "
                f"shape, got {len(fields)} arrays of shapes {[tuple(x.shape) for x in fields]}."
            )
        fields = jnp.broadcast_arrays(*fields)
        dtype = jnp.result_type(*fields)
        fields = [x.astype(dtype) for x in fields]
    else:
        if not hasattr(a, "shape") and not isinstance(a, (list, tuple)):
            raise TypeError(f"`a` must be an array with the grid shape, got {type(a).__name__}.")
        a = _check_coefficient(a, "a")
        fields = [a] * a.ndim
    shape = tuple(fields[0].shape)
    bcs = _normalise_bc(bc, len(shape))
    hs = _normalise_h(h, shape, bcs)
    c = _check_c(c, shape)
    weights = [_faces(fields[d], d, b) for d, b in enumerate(bcs)]
    return DiffusionOperator(tuple(weights), c, shape, hs, bcs)


def _faces(a: Array, axis: int, bc: str) -> Array:
    """The ``n + 1`` face coefficients of ``a`` along ``axis``: harmonic means of the two neighbours
    inside, ``a`` of the adjacent unknown on a Dirichlet end, 0 on a Neumann end, the harmonic mean
    of the two wrapped neighbours on a periodic one.

    Built from the two one-sided paddings of ``a`` (``lo[j] = a[j-1]``, ``hi[j] = a[j]``, zero
    beyond the ends) and selections on an index, not by concatenating the boundary faces to the
    interior: on an axis sharded over devices a concatenation became all-to-alls of the field,
    while padding moves one row.
    """
    n = a.shape[axis]
    zero = jnp.zeros((), a.dtype)
    cfg_lo = [(0, 0, 0)] * a.ndim
    cfg_hi = [(0, 0, 0)] * a.ndim
    cfg_lo[axis] = (1, 0, 0)
    cfg_hi[axis] = (0, 1, 0)
    lo = jax.lax.pad(a, zero, cfg_lo)  # lo[j] = a[j - 1], 0 at j = 0
    hi = jax.lax.pad(a, zero, cfg_hi)  # hi[j] = a[j], 0 at j = n
    j = jax.lax.broadcasted_iota(jnp.int32, lo.shape, axis)
    end = (j == 0) | (j == n)
    if bc == "periodic":
        first = jax.lax.slice_in_dim(a, 0, 1, axis=axis)
        last = jax.lax.slice_in_dim(a, n - 1, n, axis=axis)
        lo = jnp.where(j == 0, last, lo)
        hi = jnp.where(j == n, first, hi)
        return _harmonic(lo, hi)
    interior = _harmonic(lo, hi)
    if bc == "neumann":
        return jnp.where(end, zero, interior)
    return jnp.where(end, lo + hi, interior)  # Dirichlet: the one non-zero neighbour


def _check_coefficient(a: Any, name: str) -> Array:
    """One coefficient field as a floating array, checked ``> 0`` and finite (host values at trace
    time, device values at run time), or an error naming ``name``."""
    _check_real_dtype(a, name, integers=True)
    check_positive(a, name)  # host values, at trace time
    device = isinstance(a, jax.Array)
    a = jnp.asarray(a)
    if not jnp.issubdtype(a.dtype, jnp.floating):
        a = a.astype(jnp.result_type(float))
    if not 1 <= a.ndim <= 3:
        raise ValueError(
            f"`{name}` must have 1, 2 or 3 dimensions (the grid shape), got {a.shape}."
        )
    if min(a.shape) < 1:
        raise ValueError(f"`{name}` must be non-empty, got shape {a.shape}.")
    if device:  # device values, at run time (never copied to the host)
        a = error_if_not(a, (a > 0) & jnp.isfinite(a), f"`{name}` must be finite and > 0.")
    return a
