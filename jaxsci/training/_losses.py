"""Per-sample losses for operator learning: relative L2 and relative H1 (spectral or finite differences).

Zero targets: a relative error is undefined for ``target = 0``; these losses return the *absolute*
error there (``||pred||`` for :func:`relative_l2`, the H1 norm of ``pred`` for :func:`relative_h1`), a
finite value with a finite gradient, so one all-zero sample does not turn a training loss into NaN.
Both are computed on ``pred`` and ``target`` scaled by ``max(|pred - target|, |target|)`` (the ratio
does not change), so they neither underflow nor overflow at any magnitude; float16/bfloat16 inputs
are computed and returned in float32.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_choice, check_same_shape
from ..spectral._inputs import as_real, compute_dtype

__all__ = ["mse", "relative_h1", "relative_l2"]


def _pair(pred, target):
    check_same_shape(pred, "pred", target, "target")
    pred, target = as_real(pred, "pred"), as_real(target, "target")
    dtype = compute_dtype(jnp.result_type(pred, target))
    return pred.astype(dtype), target.astype(dtype)


def _scale(e, t):
    """A constant (no gradient) ``max(|e|, |t|)``, 1 where it is 0 or not finite."""
    s = jnp.maximum(jnp.max(jnp.abs(e), initial=0.0), jnp.max(jnp.abs(t), initial=0.0))
    s = jax.lax.stop_gradient(s)
    return jnp.where((s > 0) & jnp.isfinite(s), s, jnp.ones_like(s))


def _sqrt0(x):
    """``sqrt(x)`` with a zero (not NaN) gradient at ``x = 0``; NaN stays NaN."""
    pos = x > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, x, 1.0)), x * 0)


def _relative(num_sq, den_sq, s):
    """``sqrt(num_sq / den_sq)``; ``s * sqrt(num_sq)`` (the absolute error) where ``den_sq = 0``."""
    zero = den_sq == 0
    ratio = _sqrt0(num_sq / jnp.where(zero, 1.0, den_sq))
    return jnp.where(zero, s * _sqrt0(num_sq), ratio)


def relative_l2(
    pred: Float[ArrayLike, " c *spatial"], target: Float[ArrayLike, " c *spatial"]
) -> Float[Array, " "]:
    """``||pred - target||_2 / ||target||_2`` over all axes of one sample (the FNO papers' metric,
    ``LpLoss(p=2)``); vmap for batches. Cost O(N).

    For ``target = 0`` it is the absolute error ``||pred||_2`` (see the module docstring); the
    gradient is finite everywhere, also at ``pred = target``."""
    pred, target = _pair(pred, target)
    e = pred - target
    s = _scale(e, target)
    return _relative(jnp.sum((e / s) ** 2), jnp.sum((target / s) ** 2), s)


def mse(
    pred: Float[ArrayLike, " c *spatial"], target: Float[ArrayLike, " c *spatial"]
) -> Float[Array, " "]:
    """Mean squared error of one sample."""
    pred, target = _pair(pred, target)
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
    # central differences (one-sided at the ends) with h = 1/(n-1), nodes incl. boundary
    for ax in spatial:
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

    ``method="fd"``: central differences on nodes ``x_j = j/(n-1)`` (non-periodic data, e.g. Darcy;
    at least 2 points per spatial axis); ``method="spectral"``: exact derivatives of the trigonometric
    interpolant on the periodic grid ``x_j = j/n`` (periodic data, e.g. Burgers), as in the FNO code's
    ``HsLoss``. Cost O(N log N). For ``target = 0`` it is the absolute H1 norm of ``e`` (see the module
    docstring).
    """
    check_same_shape(pred, "pred", target, "target")
    check_choice(method, "method", ("fd", "spectral"))
    pred, target = _pair(pred, target)
    if method == "fd" and any(n < 2 for n in pred.shape[1:]):
        raise ValueError(
            f'`pred` and `target` need at least 2 points per spatial axis for method="fd", got '
            f"shape {pred.shape}."
        )
    e = pred - target
    s = _scale(e, target)
    e, t = e / s, target / s
    num = jnp.sum(e**2) + _grad_sq(e, method)
    den = jnp.sum(t**2) + _grad_sq(t, method)
    return _relative(num, den, s)
