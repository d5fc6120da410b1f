"""Per-sample losses for operator learning: relative L2 and relative H1 (spectral or finite differences)."""

from __future__ import annotations

import math

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_choice, check_same_shape

__all__ = ["mse", "relative_h1", "relative_l2"]


def relative_l2(
    pred: Float[ArrayLike, " c *spatial"], target: Float[ArrayLike, " c *spatial"]
) -> Float[Array, " "]:
    """``||pred - target||_2 / ||target||_2`` over all axes of one sample (the FNO papers' metric,
    ``LpLoss(p=2)``); vmap for batches. Cost O(N)."""
    check_same_shape(pred, "pred", target, "target")
    pred, target = jnp.asarray(pred), jnp.asarray(target)
    diff = jnp.sqrt(jnp.sum((pred - target) ** 2))
    return diff / jnp.sqrt(jnp.sum(target**2))


def mse(
    pred: Float[ArrayLike, " c *spatial"], target: Float[ArrayLike, " c *spatial"]
) -> Float[Array, " "]:
    """Mean squared error of one sample."""
    check_same_shape(pred, "pred", target, "target")
    pred, target = jnp.asarray(pred), jnp.asarray(target)
    return jnp.mean((pred - target) ** 2)


def _grad_sq(x, method):
    """Sum over spatial axes of |grad x|^2 on the unit cube (channels first)."""
    spatial = tuple(range(1, x.ndim))
    total = 0.0
    if method == "spectral":  # periodic: |2 pi k|^2 |x_hat_k|^2 / N (Parseval), h = 1/n per axis
        xh = jnp.fft.fftn(x, axes=spatial)
        n_total = math.prod(x.shape[1:])
        k2 = 0.0
        for i, n in enumerate(x.shape[1:]):
            k = 2 * jnp.pi * jnp.fft.fftfreq(n, d=1.0 / n)
            k2 = k2 + (k**2).reshape((n,) + (1,) * (x.ndim - 2 - i))
        return jnp.sum(k2 * jnp.abs(xh) ** 2) / n_total
    for ax in (
        spatial
    ):  # central differences (one-sided at the ends) with h = 1/(n-1), nodes incl. boundary
        n = x.shape[ax]
        d = jnp.gradient(x, 1.0 / (n - 1), axis=ax)
        total = total + jnp.sum(d**2)
    return total


def relative_h1(
    pred: Float[ArrayLike, " c *spatial"],
    target: Float[ArrayLike, " c *spatial"],
    *,
    method: str = "fd",
) -> Float[Array, " "]:
    """Relative H1 error ``sqrt(|e|^2 + |grad e|^2) / sqrt(|t|^2 + |grad t|^2)`` of one sample (discrete
    norms on the unit cube, ``e = pred - target``).

    ``method="fd"``: central differences on nodes ``x_j = j/(n-1)`` (non-periodic data, e.g. Darcy);
    ``method="spectral"``: exact derivatives of the trigonometric interpolant on the periodic grid
    ``x_j = j/n`` (periodic data, e.g. Burgers), as in the FNO code's ``HsLoss``. Cost O(N log N).
    """
    check_same_shape(pred, "pred", target, "target")
    check_choice(method, "method", ("fd", "spectral"))
    pred, target = jnp.asarray(pred), jnp.asarray(target)
    e = pred - target
    num = jnp.sum(e**2) + _grad_sq(e, method)
    den = jnp.sum(target**2) + _grad_sq(target, method)
    return jnp.sqrt(num / den)
