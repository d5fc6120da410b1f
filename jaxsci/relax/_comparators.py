"""Comparators for online ω tuning: Young's ω*, best fixed arm in hindsight, golden-section search."""

from collections.abc import Callable

import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, ArrayLike, Float, Int

from .._checks import check_positive_int
from ._validate import check_positive_diagonal, matrix_shape


def young_omega_from_beta(beta: Float[ArrayLike, " ..."]) -> Float[Array, " ..."]:
    """``ω* = 1 + (β/(1 + √(1 − β²)))²`` (= 2/(1 + √(1 − β²))); NaN where β >= 1 (Jacobi diverges)."""
    beta = jnp.asarray(beta)
    safe = jnp.clip(beta, 0.0, 1.0)
    w = 1 + (safe / (1 + jnp.sqrt(1 - safe**2))) ** 2
    return jnp.where(beta < 1, w, jnp.nan)


def jacobi_spectral_radius(A: Float[ArrayLike, " n n"]) -> Float[Array, " "]:
    """β = ρ(I − D⁻¹A) for a symmetric matrix with positive diagonal, via the eigenvalues of the
    symmetric similar matrix I − D^{−½}AD^{−½} (``eigvalsh``, O(n³))."""
    A = jnp.asarray(A)
    matrix_shape(A, "A")
    check_positive_diagonal(jnp.diagonal(A))
    s = 1 / jnp.sqrt(jnp.diagonal(A))
    lam = jnp.linalg.eigvalsh(jnp.eye(A.shape[0], dtype=A.dtype) - s[:, None] * A * s[None, :])
    return jnp.max(jnp.abs(lam))


def young_omega(A: Float[ArrayLike, " n n"]) -> Float[Array, " "]:
    """Young's asymptotically optimal SOR parameter ``ω* = 1 + (β/(1+√(1−β²)))²``, β = ρ(I − D⁻¹A).

    Optimal for consistently ordered matrices with real Jacobi spectrum (e.g. the 5-point Laplacian
    plus a shift, in lexicographic or red-black order), where ρ(C_{ω*}) = ω* − 1. Assumes ``A``
    symmetric. NaN when β >= 1. O(n³) (dense eigenvalues).
    """
    return young_omega_from_beta(jacobi_spectral_radius(A))


def sor_spectral_radius(beta, omega):
    """ρ(C_ω) for a consistently ordered matrix with Jacobi radius β (Young's formula)."""
    beta, omega = jnp.asarray(beta), jnp.asarray(omega)
    disc = (omega * beta) ** 2 - 4 * (omega - 1)
    below = 0.25 * (omega * beta + jnp.sqrt(jnp.maximum(disc, 0))) ** 2
    return jnp.where(disc > 0, below, omega - 1)


def best_fixed_arm(costs: Float[ArrayLike, " T d"]) -> tuple[Int[Array, " "], Float[Array, " T"]]:
    """The arm with the least total cost in hindsight and its per-instance costs."""
    costs = jnp.asarray(costs)
    arm = jnp.argmin(jnp.sum(costs, axis=0))
    return arm, costs[:, arm]


def golden_section_search(
    cost_fn: Callable[[Array], Array], low: float, high: float, *, num_evals: int = 12
) -> tuple[Float[Array, " "], Float[Array, " "]]:
    """Minimise a unimodal scalar function on [low, high] with ``num_evals`` evaluations (golden
    section; the paper's per-step instance-optimal ω uses 12). Returns ``(x_best, f(x_best))`` over
    the evaluated points. ``cost_fn`` is a JAX function (e.g. ω ↦ solver iterations); lax loop."""
    check_positive_int(num_evals, "num_evals", minimum=2)
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
