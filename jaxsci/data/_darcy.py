"""2D Darcy flow, -div(a grad u) = 1 on the unit square with zero Dirichlet data (the FNO data set)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._checks import check_ndim, check_positive, check_positive_int, check_range
from .._solution import Solution
from ..spectral._inputs import as_real, check_key
from ._generate import generate
from ._grf import _one_field

__all__ = ["darcy", "darcy_coefficient", "darcy_operator", "darcy_solve"]

A_HIGH, A_LOW = 12.0, 3.0


def darcy_operator(a: Float[ArrayLike, " s s"]):
    """The discrete ``-div(a grad .)`` of :func:`darcy_solve` on the ``(s-2)^2`` interior nodes of the
    ``s x s`` node grid ``x_i = i/(s-1)`` (``h = 1/(s-1)``): :func:`jaxsci.multigrid.diffusion` of the
    interior coefficient values ``a[1:-1, 1:-1]``, face values by harmonic means, 5-point stencil.
    Apply it with ``op.mv(u[1:-1, 1:-1])``."""
    from ..multigrid import diffusion

    a = _check_a(a)
    s = a.shape[-1]
    return diffusion(a[1:-1, 1:-1], h=1.0 / (s - 1), bc="dirichlet")


def _check_a(a):
    a = as_real(a, "a")
    check_ndim(a, "a", 2)
    s = a.shape[0]
    if a.shape[1] != s:
        raise ValueError(f"`a` must be square (s, s), got shape {a.shape}.")
    if s < 3:
        raise ValueError(f"`a` must have at least 3 x 3 nodes (an interior), got shape {a.shape}.")
    return a


def darcy_solve(
    a: Float[ArrayLike, " s s"], *, rtol: float = 1e-10, max_steps: int = 60, throw: bool = True
) -> Float[Array, " s s"] | Solution:
    """Solve ``-div(a grad u) = 1`` on ``[0, 1]^2``, ``u = 0`` on the boundary, for one coefficient.

    ``a`` holds the coefficient at the ``s x s`` grid nodes ``(i, j)/(s-1)`` including the boundary
    (the layout of the FNO files, e.g. ``s = 421``, or ``s = 85`` after subsampling by 5); the unknowns
    are the ``(s-2)^2`` interior nodes, discretised by :func:`darcy_operator` (5-point finite volumes,
    harmonic-mean face coefficients, which keep the flux continuous across the jumps of ``a``) and
    solved with :func:`jaxsci.multigrid.solve` (V(1,1) cycles, red-black Gauss-Seidel) until the
    relative residual ``||1 - A u|| / ||1||`` is ``<= rtol``.

    **Returns:** with ``throw=True`` (the default) ``u`` of shape ``(s, s)`` with zero boundary
    rows/columns, and a failed solve raises; with ``throw=False`` the whole :class:`jaxsci.Solution`
    (``value`` the padded ``u``, ``result`` the status, ``stats`` the cycle count and residual), so
    that a failure is reported, not hidden in the array. Batch-free; vmap over ``a``.
    Cost: O(s^2) per cycle, about ``log(rtol) / log(0.1)`` cycles.
    """
    from ..multigrid import solve

    a = _check_a(a)
    s = a.shape[0]
    check_positive_int(s, "a.shape[0]", minimum=4)
    op = darcy_operator(a)
    f = jnp.ones((s - 2, s - 2), a.dtype)
    sol = solve(op, f, rtol=rtol, max_steps=max_steps, throw=throw)
    u = jnp.pad(sol.value, 1)
    return u if throw else eqx.tree_at(lambda s: s.value, sol, u)


def darcy_coefficient(
    key: PRNGKeyArray, resolution: int, *, alpha: float = 2.0, tau: float = 3.0
) -> Float[Array, " s s"]:
    """One FNO Darcy coefficient: ``a = 12`` where ``g >= 0`` and ``3`` where ``g < 0``, with ``g`` a
    zero-mean Neumann (cosine-basis) GRF ``N(0, (-Laplacian + tau^2 I)^(-alpha))``
    (:func:`jaxsci.data.grf`, ``bc="neumann"``; the scale is irrelevant to the threshold) sampled at
    ``resolution x resolution`` points, used as the node values (``resolution >= 2``; ``alpha``,
    ``tau`` > 0)."""
    check_key(key)
    check_positive_int(resolution, "resolution", minimum=2)
    check_positive(alpha, "alpha")
    check_positive(tau, "tau")
    g = _one_field(key, (resolution, resolution), alpha, tau, 1.0, "neumann", True)
    return jnp.where(g >= 0, A_HIGH, A_LOW)


def darcy(
    key: PRNGKeyArray,
    num_samples: int,
    resolution: int,
    *,
    rtol: float = 1e-10,
    alpha: float = 2.0,
    tau: float = 3.0,
    max_steps: int = 60,
    chunk_size: int = 32,
    progress: bool = True,
    cache_dir=None,
) -> tuple[Float[Array, " num_samples s s"], Float[Array, " num_samples s s"]]:
    """The FNO Darcy data set: ``num_samples`` pairs ``(a, u)`` at ``resolution = s`` grid nodes per
    axis, including the boundary (``h = 1/(s-1)``; the FNO paper's 85x85 is ``s = 85``).

    ``a`` is :func:`darcy_coefficient` (thresholded GRF with ``alpha=2, tau=3``, values 12 and 3; Li et
    al., ICLR 2021, section 5.2) and ``u`` solves ``-div(a grad u) = 1``, ``u = 0`` on the boundary
    (:func:`darcy_solve`, :mod:`jaxsci.multigrid` to relative residual ``rtol``, default 1e-10). The
    solve always runs in float64 (``jax.enable_x64`` inside); the arrays are returned in the default
    float dtype (float32 unless x64 is enabled). A failed solve raises.

    Chunks of ``chunk_size`` samples are generated with jit + vmap, with a tqdm bar when ``progress``;
    sample ``i`` depends only on ``key`` and ``i``. With ``cache_dir`` the set is saved as ``.npz``
    (file name keyed by every argument and the key) and reloaded when present.
    Typical resolutions: 32, 64, 85, 128, 421.

    **Returns:** ``(a, u)``, each of shape ``(num_samples, resolution, resolution)``.
    """
    check_positive_int(num_samples, "num_samples")
    check_positive_int(resolution, "resolution", minimum=4)
    check_range(rtol, "rtol", 0.0, 1.0)
    check_positive(alpha, "alpha")
    check_positive(tau, "tau")
    check_positive_int(max_steps, "max_steps")
    out_dtype = jnp.zeros(()).dtype
    params = dict(resolution=int(resolution), rtol=float(rtol), alpha=float(alpha), tau=float(tau))

    def chunk(keys):
        with jax.enable_x64(True):
            a, u = _darcy_chunk(jax.random.key_data(keys), resolution, alpha, tau, rtol, max_steps)
            return a.astype(out_dtype), u.astype(out_dtype)

    return generate(
        "darcy",
        params,
        key,
        num_samples,
        chunk,
        chunk_size=chunk_size,
        progress=progress,
        cache_dir=cache_dir,
    )


@eqx.filter_jit
def _darcy_chunk(key_data, resolution, alpha, tau, rtol, max_steps):
    def one(kd):
        a = darcy_coefficient(jax.random.wrap_key_data(kd), resolution, alpha=alpha, tau=tau)
        return a, darcy_solve(a, rtol=rtol, max_steps=max_steps)

    return jax.vmap(one)(key_data)
