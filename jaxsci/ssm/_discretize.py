"""Discretisation of diagonal continuous-time SSMs x' = A x + B u (zero-order hold and bilinear)."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Complex, Num, Real

from .._checks import check_choice, check_positive, concrete_or_none, error_if_not

__all__ = ["discretize", "phi1"]

_METHODS = ("zoh", "bilinear")

#: The documented forms of a step ``dt`` for parameters of shape ``(*batch, N)``: a scalar, tied per channel
#: ``(*batch)`` or ``(*batch, 1)``, or per mode ``(*batch, N)`` (each axis may also be 1, broadcasting).
DtLike = Real[ArrayLike, " *#batch"] | Real[ArrayLike, " *#batch #n"]


def _expm1_complex(x):
    """expm1 for complex x, accurate when |x| is small: expm1(a) cos b - 2 sin^2(b/2) + i e^a sin b."""
    a, b = jnp.real(x), jnp.imag(x)
    re = jnp.expm1(a) * jnp.cos(b) - 2 * jnp.sin(b / 2) ** 2
    im = jnp.exp(a) * jnp.sin(b)
    return re + 1j * im


def phi1(x: Num[ArrayLike, " *shape"]) -> Complex[Array, " *shape"]:
    r"""``phi1(x) = (e^x - 1) / x`` (with ``phi1(0) = 1``), accurate for every x including x -> 0.

    For ``|x| < 1e-3`` a 5-term Taylor series is used (truncation error below ``|x|^5 / 720``); otherwise an
    ``expm1`` form. The unused branch is evaluated at a safe point, so gradients are finite everywhere.
    """
    x = jnp.asarray(x)
    if not jnp.iscomplexobj(x):
        x = x.astype(jnp.result_type(x, 1j))
    small = jnp.abs(x) < 1e-3
    xs = jnp.where(small, jnp.ones_like(x), x)
    big = _expm1_complex(xs) / xs
    xt = jnp.where(small, x, jnp.zeros_like(x))
    series = 1 + xt * (1 / 2 + xt * (1 / 6 + xt * (1 / 24 + xt / 120)))
    return jnp.where(small, series, big)


def _check_dt(dt, name="dt", check=True):
    """``dt > 0``: statically for host values; at run time (``eqx.error_if``) for JAX arrays when ``check``
    (the layers pass ``check=False``: their ``dt = exp(log_dt)`` is positive by construction)."""
    check_positive(dt, name)
    host = concrete_or_none(dt) is not None
    dt = jnp.asarray(dt)
    if check and not host:
        dt = error_if_not(dt, jnp.isfinite(dt) & (dt > 0), f"`{name}` must be finite and > 0.")
    return dt


def _dt_for(A, dt, name="dt", check=True):
    """Broadcast ``dt`` (scalar, ``A.shape[:-1]`` tied per channel, or ``A.shape`` per mode) against A."""
    dt = _check_dt(dt, name, check)
    if jnp.iscomplexobj(dt):
        raise TypeError(f"`{name}` must be real, got dtype {dt.dtype}.")
    shape, ashape = jnp.shape(dt), jnp.shape(A)
    if shape == () or shape == ashape:
        return dt
    if shape == ashape[:-1]:
        return dt[..., None]
    if shape == ashape[:-1] + (1,):
        return dt
    raise ValueError(
        f"`{name}` must be a scalar or have shape {ashape[:-1]} (tied) or {ashape} (per mode), got {shape}."
    )


def discretize(
    A: Num[ArrayLike, " *batch n"],
    B: Num[ArrayLike, " *batch n"],
    dt: DtLike,
    method: str = "zoh",
) -> tuple[Complex[Array, " *batch n"], Complex[Array, " *batch n"]]:
    r"""Discretise the diagonal SSM ``x' = diag(A) x + B u`` with step ``dt``.

    - ``"zoh"`` (zero-order hold): ``Abar = exp(dt A)``, ``Bbar = (exp(dt A) - 1) / A * B
      = dt * phi1(dt A) * B``, computed through :func:`phi1` so ``dt A -> 0`` never divides 0 by 0.
    - ``"bilinear"`` (Tustin): ``Abar = (1 + dt A/2) / (1 - dt A/2)``, ``Bbar = dt B / (1 - dt A/2)``.

    **Arguments:** ``A``, ``B`` complex of shape ``(..., N)``; ``dt`` positive, a scalar, of shape ``(...)``
    (tied per channel) or ``(..., N)`` (per mode). **Returns:** ``(Abar, Bbar)``, complex ``(..., N)``.
    Cost ``O(numel)``. A non-positive ``dt`` raises: at trace time for host values, at run time
    (``eqx.error_if``) for JAX arrays. References: Gu et al. (S4D) 2022 §3; Smith et al. (S5) 2023 App. A.
    """
    return _discretize(A, B, dt, method)


def _discretize(A, B, dt, method, check=True):
    check_choice(method, "method", _METHODS)
    A = jnp.asarray(A)
    B = jnp.asarray(B)
    if jnp.ndim(A) < 1:
        raise ValueError(f"`A` must have shape (..., N), got {jnp.shape(A)}.")
    if jnp.shape(A) != jnp.shape(B):
        raise ValueError(
            f"`A` and `B` must have the same shape, got {jnp.shape(A)} and {jnp.shape(B)}."
        )
    dt = _dt_for(A, dt, check=check)
    cdtype = jnp.result_type(A, B, dt, 1j)
    A = A.astype(cdtype)
    B = B.astype(cdtype)
    dtA = dt * A
    if method == "zoh":
        return jnp.exp(dtA), dt * phi1(dtA) * B
    den = 1 - dtA / 2
    return (1 + dtA / 2) / den, dt * B / den
