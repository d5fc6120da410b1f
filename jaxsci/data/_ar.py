"""Stable autoregressive processes ``x_t = sum_{i=1}^p phi_i x_{t-i} + sigma e_t`` (SpaceTime expressivity)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray, Real

from .._checks import check_positive_int, check_range, default_float_dtype

__all__ = ["ar_coefficients", "ar_process"]


def ar_coefficients(
    key: PRNGKeyArray, p: int, *, r_min: float = 0.5, r_max: float = 0.95, dtype=None
) -> Float[Array, " p"]:
    r"""Coefficients ``phi`` ``(p,)`` of a stable AR(p): the roots of ``z^p - sum_i phi_i z^{p-i}`` are drawn
    with moduli uniform in ``[r_min, r_max]`` (``0 <= r_min <= r_max < 1``), in complex-conjugate pairs with
    angles uniform in ``(0, pi)``, plus one real root of random sign when ``p`` is odd. Every root lies
    inside the unit disc, so the process is stationary. As a companion SSM (``d = p``) the last column is
    ``a = phi[::-1]``."""
    p = check_positive_int(p, "p")
    check_range(r_min, "r_min", 0.0, 1.0, closed="left")
    check_range(r_max, "r_max", 0.0, 1.0, closed="left")
    if r_min > r_max:
        raise ValueError(f"`r_min` must be <= `r_max`, got {r_min} > {r_max}.")
    dtype = default_float_dtype(dtype)
    k1, k2, k3 = jax.random.split(key, 3)
    pairs = p // 2
    r = jax.random.uniform(k1, (pairs + 1,), dtype, r_min, r_max)
    theta = jax.random.uniform(k2, (pairs,), dtype, 0.0, jnp.pi)
    poly = jnp.ones((1,), dtype)
    for j in range(pairs):  # (z^2 - 2 r cos(theta) z + r^2)
        quad = jnp.stack([jnp.ones((), dtype), -2 * r[j] * jnp.cos(theta[j]), r[j] ** 2])
        poly = jnp.convolve(poly, quad)
    if p % 2:
        sign = jnp.where(jax.random.bernoulli(k3), 1.0, -1.0).astype(dtype)
        poly = jnp.convolve(poly, jnp.stack([jnp.ones((), dtype), -sign * r[-1]]))
    return -poly[1:]


def ar_process(
    key: PRNGKeyArray,
    phi: Real[ArrayLike, " p"],
    length: int,
    *,
    batch: int = 1,
    noise_std: float = 1.0,
    burn_in: int = 0,
    dtype=None,
) -> Float[Array, " batch length"]:
    r"""``batch`` sample paths ``(batch, length)`` of ``x_t = sum_{i=1}^p phi_i x_{t-i} + noise_std e_t``,
    ``e_t ~ N(0, 1)``, started from standard normal initial values ``x_{-p..-1}`` and run for ``burn_in``
    discarded steps. ``noise_std = 0`` gives the noise-free process (a deterministic recurrence from random
    initial values). A ``lax.scan`` over time (``O(batch p length)``), jit-able with the sizes static."""
    length = check_positive_int(length, "length")
    batch = check_positive_int(batch, "batch")
    burn_in = check_positive_int(burn_in, "burn_in", minimum=0)
    check_range(noise_std, "noise_std", 0.0, float("inf"), closed="left")
    dtype = default_float_dtype(dtype)
    phi = jnp.asarray(phi, dtype)
    if phi.ndim != 1 or phi.shape[0] < 1:
        raise ValueError(f"`phi` must have shape (p,) with p >= 1, got {phi.shape}.")
    p = phi.shape[0]
    k1, k2 = jax.random.split(key)
    init = jax.random.normal(k1, (batch, p), dtype)  # x_{t-1}, ..., x_{t-p}
    noise = noise_std * jax.random.normal(k2, (burn_in + length, batch), dtype)

    def step(past, e):
        x = past @ phi + e
        return jnp.concatenate([x[:, None], past[:, :-1]], axis=1), x

    _, xs = jax.lax.scan(step, init, noise)
    return xs[burn_in:].T
