"""Fast direct solves of ``-Δu + k u = f``: FFT on periodic grids, DST-I on Dirichlet grids."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Real

from .._checks import check_choice, check_ndim, check_positive, check_positive_int, error_if_not
from .._solution import Solution, finalize, status
from ._derivatives import _lengths, _symbol
from ._inputs import as_array, as_real, check_nonempty, compute_dtype
from ._transforms import _dst1_all_axes

__all__ = ["solve_periodic", "solve_dirichlet", "dirichlet_eigenvalues"]


def _check_f(f):
    """``f`` as a real floating array with 1 to 3 non-empty axes."""
    f = as_real(f, "f")
    check_ndim(f, "f", (1, 2, 3))
    check_nonempty(f, "f")
    return f


def _check_real_scalar(k, name="k"):
    k_arr = as_array(k, name)
    if jnp.ndim(k_arr) != 0:
        raise ValueError(f"`{name}` must be a scalar, got shape {jnp.shape(k_arr)}.")
    if jnp.issubdtype(k_arr.dtype, jnp.complexfloating):
        raise TypeError(f"`{name}` must be a real scalar, got dtype {k_arr.dtype}.")
    return k


def _check_k(k):
    """``k >= 0``: statically for host values, at run time (``eqx.error_if``) for JAX arrays."""
    _check_real_scalar(k)
    check_positive(k, "k", strict=False)
    if isinstance(k, jax.Array):
        k = error_if_not(
            k, k >= 0, "`k` must be >= 0 in solve_dirichlet (use solve_periodic for k < 0)."
        )
    return k


_PERIODIC_ADVICE = {
    "incompatible": (
        'Pass `compatibility="project"` to solve for `f` with its singular components removed, or '
        "give `f` zero mean (`k = 0`) / move `k` off the resonance."
    ),
    "nonfinite": "Check `f` and `k` for NaN or inf.",
}


def solve_periodic(
    f: Float[ArrayLike, " *spatial"],
    *,
    k: float | Real[ArrayLike, ""] = 0.0,
    length: float | Sequence[float] = 1.0,
    stencil: str = "spectral",
    compatibility: str = "check",
    throw: bool = True,
) -> Solution:
    r"""Solve ``-Δu + k u = f`` on the periodic grid ``x_j = j L / n`` of ``[0, L)^d`` (``d`` = 1, 2, 3).

    ``u = irfftn(rfftn(f) / (λ + k))`` with ``λ = |κ|^2``, ``κ = 2π m / L`` (``stencil="spectral"``,
    exact for trigonometric polynomials) or ``λ`` the eigenvalues ``Σ_a (4/h_a^2) sin^2(π m_a / n_a)``
    of the periodic ``(2d+1)``-point ``-Δ_h`` with ``h = L/n`` (``stencil="fd"``, its exact inverse).
    Cost ``O(N log N)``, memory ``O(N)``. Differentiable in ``f`` and ``k``.

    ``k`` may be any real scalar (``k > 0``: screened Poisson; ``k < 0``: the indefinite Helmholtz
    equation ``-Δu - ω² u = f`` with ``k = -ω²``). A mode with ``|λ + k| <= 64 eps (max λ + |k|)`` is
    *singular*: for ``k = 0`` the constant mode (``f`` must have zero mean), for ``k < 0`` the modes in
    resonance with ``k``. Singular modes are detected at run time (``k`` may be traced) and the
    solution's component on them is set to 0 (for ``k = 0``: ``u`` has zero mean).

    ``compatibility`` (the option of every jaxsci solve of a singular problem, as in
    :func:`jaxsci.multigrid.solve`): ``"check"`` (default) solves the projected problem and reports
    ``RESULTS.incompatible`` (raising if ``throw``) when ``f`` has a singular component above
    ``1000 eps max|f̂|``; ``"project"`` silently solves for ``f`` with its singular components removed.
    A NaN or inf in ``f``, ``k`` or the result is ``RESULTS.nonfinite``. float16/bfloat16 ``f`` is
    solved in float32 (XLA has no half-precision FFT) and the result cast back.

    This is a direct solve: ``stats["num_steps"]`` is 0 (no iteration; the protocol counts
    iterations, cycles and sweeps). ``stats`` also holds ``mean_f`` (the mean of ``f``) and
    ``num_singular_modes`` (rfft bins found singular; 0 for ``k > 0``).

    **Arguments:** ``f`` real array ``(*spatial)``; ``k`` real scalar; ``length`` a number or one per
    axis; ``stencil`` ``"spectral"`` | ``"fd"``; ``compatibility`` ``"check"`` | ``"project"``;
    ``throw``.

    **Returns:** ``Solution(value=u, result, stats={"num_steps", "mean_f", "num_singular_modes"})``.
    """
    check_choice(stencil, "stencil", ("spectral", "fd"))
    check_choice(compatibility, "compatibility", ("check", "project"))
    f = _check_f(f)
    _check_real_scalar(k)
    L = _lengths(length, f.ndim)
    lam = _symbol(f.shape, L, rfft=True, stencil=stencil)
    out_dtype = f.dtype
    f = f.astype(compute_dtype(f.dtype))
    fh = jnp.fft.rfftn(f)
    k = jnp.asarray(k, f.dtype)
    denom = jnp.asarray(lam, f.dtype) + k
    eps = jnp.finfo(f.dtype).eps
    singular = jnp.abs(denom) <= 64 * eps * (float(lam.max()) + jnp.abs(k))
    uh = jnp.where(singular, 0.0, fh / jnp.where(singular, 1.0, denom))
    u = jnp.fft.irfftn(uh, s=f.shape).astype(out_dtype)
    stats = {
        "num_steps": jnp.zeros((), jnp.int32),
        "mean_f": jnp.mean(f),
        "num_singular_modes": jnp.sum(singular),
    }
    finite = jnp.all(jnp.isfinite(f)) & jnp.isfinite(k) & jnp.all(jnp.isfinite(u))
    if compatibility == "check":
        fh_abs = jnp.abs(fh)
        incompatible = jnp.max(jnp.where(singular, fh_abs, 0.0)) > 1000 * eps * jnp.max(fh_abs)
    else:
        incompatible = False
    result = status(converged=True, finite=finite, incompatible=incompatible)
    return finalize(
        Solution(u, result, stats), throw, solver="solve_periodic", advice=_PERIODIC_ADVICE
    )


def dirichlet_eigenvalues(
    shape: Sequence[int], length: float | Sequence[float] = 1.0, *, stencil: str = "spectral"
) -> Float[np.ndarray, " *shape"]:
    """Eigenvalues of ``-Δ`` on the DST-I basis ``prod_a sin(π m_a x_a / L_a)``, ``m_a = 1..n_a``, as a
    float64 array of ``shape``: ``Σ (π m_a / L_a)^2`` (spectral) or ``Σ (4/h_a^2) sin^2(π m_a /
    (2(n_a+1)))`` with ``h_a = L_a / (n_a + 1)`` (fd: the 3/5/7-point Laplacian). ``shape``: one
    or more sizes ``>= 1``."""
    check_choice(stencil, "stencil", ("spectral", "fd"))
    shape = tuple(shape)
    if not shape:
        raise ValueError("`shape` must have at least one entry, got ().")
    shape = tuple(check_positive_int(n, "shape") for n in shape)
    d = len(shape)
    L = _lengths(length, d)
    total = 0.0
    for a, (n, La) in enumerate(zip(shape, L, strict=False)):
        m = np.arange(1, n + 1)
        if stencil == "spectral":
            lam = (np.pi * m / La) ** 2
        else:
            h = La / (n + 1)
            lam = 4.0 / h**2 * np.sin(np.pi * m / (2 * (n + 1))) ** 2
        sh = [1] * d
        sh[a] = -1
        total = total + lam.reshape(sh)
    return np.broadcast_to(total, tuple(shape)).copy()


def solve_dirichlet(
    f: Float[ArrayLike, " *spatial"],
    *,
    k: float | Real[ArrayLike, ""] = 0.0,
    length: float | Sequence[float] = 1.0,
    stencil: str = "spectral",
) -> Float[Array, " *spatial"]:
    r"""Solve ``-Δu + k u = f`` on ``(0, L)^d`` with ``u = 0`` on the boundary, by the DST-I.

    ``f`` holds the values at the ``n_a`` interior nodes ``x_j = j h_a``, ``j = 1..n_a``,
    ``h_a = L_a / (n_a + 1)`` (the grid of ``jaxsci.multigrid.poisson``). Then
    ``u = idstn(dstn(f) / (λ + k))`` with ``λ`` from :func:`dirichlet_eigenvalues`:

    - ``stencil="spectral"``: exact eigenvalues of ``-Δ`` on the sine modes (spectrally accurate for
      fields whose odd periodic extension is smooth, exact for sine polynomials);
    - ``stencil="fd"``: eigenvalues of the 3-/5-/7-point ``-Δ_h``; the result is the exact inverse of
      that matrix (a reference for multigrid solvers).

    Cost ``O(N log N)`` (transforms of size ``2(n_a+1)``), memory ``O(N)``. ``k >= 0`` makes the problem
    non-singular, so this returns an array. Differentiable in ``f`` and ``k``. A NaN or inf in ``f``
    or ``k`` raises at run time (``eqx.error_if``, also under ``jit``/``vmap``); float16/bfloat16
    ``f`` is solved in float32 and the result cast back.
    """
    check_choice(stencil, "stencil", ("spectral", "fd"))
    f = _check_f(f)
    k = _check_k(k)
    lam = dirichlet_eigenvalues(f.shape, length, stencil=stencil)
    wdt = compute_dtype(f.dtype)
    k = jnp.asarray(k, wdt)
    # forward DST-I over all axes with d − 1 axis rotations, the division in the rotated layout, and the
    # inverse with the rotations undone: 2(d − 1) transposes in all (a per-axis transform moves every
    # axis but the last there and back, 4(d − 1)). The inverse's 1/∏ 2(n_a + 1) is folded into the
    # symbol, so the solve is four kinds of pass: extension + FFT per axis, transposes, one division.
    fh, perm = _dst1_all_axes(f.astype(wdt))
    scale = float(np.prod([2.0 * (n + 1) for n in f.shape]))
    symbol = np.transpose(lam, perm) * scale
    uh = fh / (jnp.asarray(symbol, wdt) + k * scale)
    u, _ = _dst1_all_axes(uh, inverse_layout=True)
    # Σ 0·u is 0 exactly when every entry is finite (0·inf = 0·NaN = NaN) and cannot overflow: one
    # reduction that XLA fuses with the last extraction, where all(isfinite(u)) took three passes.
    u = error_if_not(
        u,
        jnp.isfinite(jnp.sum(u * 0)) & jnp.isfinite(k),
        "solve_dirichlet: the solution is not finite: `f` or `k` contains NaN or inf.",
    )
    return u.astype(f.dtype)
