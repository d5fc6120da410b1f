"""Comparators for online ω tuning: Young's ω*, best fixed arm in hindsight, golden-section search.

The spectral comparators (:func:`jacobi_spectral_radius`, :func:`young_omega`) are host work in
float64 NumPy: an eigendecomposition never runs on the device.
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.experimental import sparse as jsparse
from jaxtyping import Array, ArrayLike, Float, Int, Real

from .._checks import check_positive_int, concrete_or_none
from ._validate import check_positive_diagonal, matrix_shape


def young_omega_from_beta(beta: Float[ArrayLike, " ..."]) -> Float[Array, " ..."]:
    """``ω* = 1 + (β/(1 + √(1 − β²)))²`` (= 2/(1 + √(1 − β²))); NaN where β >= 1 (Jacobi diverges)."""
    _finite_host(beta, "beta")
    beta = jnp.asarray(beta)
    safe = jnp.clip(beta, 0.0, 1.0)
    w = 1 + (safe / (1 + jnp.sqrt(1 - safe**2))) ** 2
    return jnp.where(beta < 1, w, jnp.nan)


def _finite_host(x: Any, name: str) -> None:
    if (
        isinstance(x, (str, bytes))
        or not jnp.issubdtype(jnp.result_type(x), jnp.number)
        or jnp.iscomplexobj(x)
    ):
        raise TypeError(f"`{name}` must be real, got {x!r}.")
    host = concrete_or_none(x)
    if host is not None and not np.all(np.isfinite(host)):
        raise ValueError(f"`{name}` must be finite, got {host!r}.")


def _host_matrix(A: Any, name: str = "A") -> np.ndarray:
    if isinstance(A, jax.core.Tracer):
        raise TypeError(
            f"`{name}` must be concrete (a NumPy or JAX array, not a traced value): the comparator "
            "runs on the host in float64; call it outside `jit`/`vmap`."
        )
    if isinstance(A, jsparse.BCOO):
        A = A.todense()
    matrix_shape(A, name)
    A = np.asarray(A, dtype=np.float64)  # the one host copy: the computation itself is host work
    if not np.all(np.isfinite(A)):
        raise ValueError(f"`{name}` must be finite (it has NaN or inf entries).")
    check_positive_diagonal(np.diagonal(A), name)
    return A


def jacobi_spectral_radius(A: Real[ArrayLike, "n n"] | jsparse.BCOO) -> float:
    """beta = rho(I - D^-1 A) for a symmetric matrix with positive diagonal, from the eigenvalues of
    the symmetric similar matrix I - D^-1/2 A D^-1/2: on the host, in float64 NumPy (``eigvalsh``,
    O(n^3) time, O(n^2) memory; never an eigendecomposition on the device). ``A`` must be concrete."""
    A = _host_matrix(A)
    s = 1 / np.sqrt(np.diagonal(A))
    lam = np.linalg.eigvalsh(np.eye(A.shape[0]) - s[:, None] * A * s[None, :])
    return float(np.max(np.abs(lam))) if lam.size else 0.0


def young_omega(A: Real[ArrayLike, "n n"] | jsparse.BCOO) -> float:
    """Young's asymptotically optimal SOR parameter ``omega* = 1 + (beta/(1 + sqrt(1 - beta^2)))^2``,
    beta = rho(I - D^-1 A) (:func:`jacobi_spectral_radius`, host float64).

    Optimal for consistently ordered matrices with real Jacobi spectrum (e.g. the 5-point Laplacian
    plus a shift, in lexicographic or red-black order), where rho(C_omega*) = omega* - 1. Assumes
    ``A`` symmetric. NaN when beta >= 1. O(n^3) on the host.
    """
    beta = jacobi_spectral_radius(A)
    if beta >= 1:
        return float("nan")
    return float(1 + (beta / (1 + np.sqrt(1 - beta**2))) ** 2)


def sor_spectral_radius(
    beta: Float[ArrayLike, "*b"], omega: Real[ArrayLike, "*w"]
) -> Float[Array, "..."]:
    """ρ(C_ω) for a consistently ordered matrix with Jacobi radius β (Young's formula); broadcasts."""
    _finite_host(beta, "beta")
    _finite_host(omega, "omega")
    beta, omega = jnp.asarray(beta), jnp.asarray(omega)
    disc = (omega * beta) ** 2 - 4 * (omega - 1)
    below = 0.25 * (omega * beta + jnp.sqrt(jnp.maximum(disc, 0))) ** 2
    return jnp.where(disc > 0, below, omega - 1)


def best_fixed_arm(costs: Float[ArrayLike, " T d"]) -> tuple[Int[Array, " "], Float[Array, " T"]]:
    """The arm with the least total cost in hindsight and its per-instance costs."""
    _finite_host(costs, "costs")
    costs = jnp.asarray(costs)
    if costs.ndim != 2 or 0 in costs.shape:
        raise ValueError(f"`costs` must be a non-empty (T, d) array, got shape {costs.shape}.")
    arm = jnp.argmin(jnp.sum(costs, axis=0))
    return arm, costs[:, arm]


def golden_section_search(
    cost_fn: Callable[[Array], Array], low: float, high: float, *, num_evals: int = 12
) -> tuple[Float[Array, " "], Float[Array, " "]]:
    """Minimise a unimodal scalar function on [low, high] with ``num_evals`` evaluations (golden
    section; the paper's per-step instance-optimal ω uses 12). Returns ``(x_best, f(x_best))`` over
    the evaluated points. ``cost_fn`` is a JAX function (e.g. ω ↦ a solve's ``num_steps``); lax loop."""
    check_positive_int(num_evals, "num_evals", minimum=2)
    if not callable(cost_fn):
        raise TypeError(f"`cost_fn` must be callable, got {type(cost_fn).__name__}.")
    for v, name in ((low, "low"), (high, "high")):
        _finite_host(v, name)
    lo_h, hi_h = concrete_or_none(low), concrete_or_none(high)
    if lo_h is not None and hi_h is not None and not lo_h < hi_h:
        raise ValueError(f"`low` must be < `high`, got low={low!r}, high={high!r}.")
    invphi = (5**0.5 - 1) / 2
    a, b = jnp.asarray(low, float), jnp.asarray(high, float)
    c = b - invphi * (b - a)
    d = a + invphi * (b - a)
    fc, fd = cost_fn(c), cost_fn(d)
    best = jnp.where(fc <= fd, c, d)
    fbest = jnp.minimum(fc, fd)

    def body(_, s):
        a, b, c, d, fc, fd, best, fbest = s
        left = fc <= fd  # minimum in [a, d]
        a2, b2 = jnp.where(left, a, c), jnp.where(left, d, b)
        x = jnp.where(left, b2 - invphi * (b2 - a2), a2 + invphi * (b2 - a2))
        fx = cost_fn(x)
        c2 = jnp.where(left, x, d)
        d2 = jnp.where(left, c, x)
        fc2 = jnp.where(left, fx, fd)
        fd2 = jnp.where(left, fc, fx)
        better = fx < fbest
        return a2, b2, c2, d2, fc2, fd2, jnp.where(better, x, best), jnp.where(better, fx, fbest)

    out = lax.fori_loop(0, num_evals - 2, body, (a, b, c, d, fc, fd, best, fbest))
    return out[6], out[7]
