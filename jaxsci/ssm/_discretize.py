"""Discretisation of diagonal continuous-time SSMs x' = A x + B u (zero-order hold and bilinear)."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Complex, Num, Real

from .._checks import check_choice, check_positive, concrete_or_none, error_if_not
from ._util import as_array, check_finite, check_real, compute_dtype

__all__ = ["discretize", "phi1"]

_METHODS = ("zoh", "bilinear")

#: The documented forms of a step ``dt`` for parameters of shape ``(*batch, N)``: a scalar, tied per channel
#: ``(*batch)`` or ``(*batch, 1)``, or per mode ``(*batch, N)`` (each axis may also be 1, broadcasting).
DtLike = Real[ArrayLike, " *#batch"] | Real[ArrayLike, " *#batch #n"]


def _expm1_complex(x):
    """expm1 for complex x, accurate when |x| is small: expm1(a) cos b - 2 sin^2(b/2) + i e^a sin b."""
    a, b = jnp.real(x), jnp.imag(x)
    re = jnp.expm1(a) * jnp.cos(b) - 2 * jnp.sin(b / 2) ** 2
    im = jnp.where(b == 0, 0, jnp.exp(a) * jnp.sin(b))  # exp(inf) * 0 would be NaN
    return re, im


def _div(re, im, x):
    """``(re + i im) / x``; for real ``x`` (``Im x == 0``) by real divisions, so an overflowed ``re = inf``
    gives ``inf + 0i`` (complex division would make the imaginary part ``inf * 0 = NaN``)."""
    c, d = jnp.real(x), jnp.imag(x)
    real_x = d == 0
    cs = jnp.where(real_x, c, 1)
    general = (re + 1j * im) / jnp.where(real_x, 1, x)
    return jnp.where(real_x, re / cs + 1j * (im / cs), general)


def phi1(x: Num[ArrayLike, " *shape"]) -> Complex[Array, " *shape"]:
    r"""``phi1(x) = (e^x - 1) / x`` (with ``phi1(0) = 1``), accurate for every x including x -> 0.

    For ``|x| < 1e-3`` a 5-term Taylor series is used (truncation error below ``|x|^5 / 720``); otherwise an
    ``expm1`` form. The unused branch is evaluated at a safe point, so gradients are finite everywhere.
    Integer inputs are converted; half precision is computed (and returned) in complex64. Elementwise, like
    ``jnp.exp``: a NaN entry gives NaN in its own entry only (documented propagation, no error), and a
    real ``x`` beyond the overflow threshold gives ``+inf`` (with imaginary part 0), the correctly rounded
    value.
    """
    x = as_array(x, "x")
    if x.dtype == jnp.bool_:
        raise TypeError("`x` must be numeric (integer, real or complex), got dtype bool.")
    x = x.astype(compute_dtype(x, complex_=True))
    small = jnp.abs(x) < 1e-3
    xs = jnp.where(small, jnp.ones_like(x), x)
    big = _div(*_expm1_complex(xs), xs)
    xt = jnp.where(small, x, jnp.zeros_like(x))
    series = 1 + xt * (1 / 2 + xt * (1 / 6 + xt * (1 / 24 + xt / 120)))
    return jnp.where(small, series, big)


def _check_dt(dt, name="dt", check=True):
    """``dt > 0``: statically for host values; at run time (``eqx.error_if``) for JAX arrays when ``check``
    (the layers pass ``check=False``: their ``dt = exp(log_dt)`` is positive by construction)."""
    if isinstance(dt, complex) or (hasattr(dt, "dtype") and jnp.iscomplexobj(dt)):
        raise TypeError(f"`{name}` must be real, got {dt!r}.")
    check_positive(dt, name)
    host = concrete_or_none(dt) is not None
    dt = as_array(dt, name)
    check_real(dt, name)
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
    (``eqx.error_if``) for JAX arrays; so do NaN/inf in ``A`` or ``B`` and, for ``"bilinear"``, a singular
    step ``dt A = 2``. References: Gu et al. (S4D) 2022 §3; Smith et al. (S5) 2023 App. A.
    """
    return _discretize(A, B, dt, method)


def _discretize(A, B, dt, method, check=True):
    check_choice(method, "method", _METHODS)
    A = as_array(A, "A")
    B = as_array(B, "B")
    if jnp.ndim(A) < 1:
        raise ValueError(f"`A` must have shape (..., N), got {jnp.shape(A)}.")
    if jnp.shape(A) != jnp.shape(B):
        raise ValueError(
            f"`A` and `B` must have the same shape, got {jnp.shape(A)} and {jnp.shape(B)}."
        )
    dt = _dt_for(A, dt, check=check)
    cdtype = compute_dtype(A, B, dt, complex_=True)
    A = A.astype(cdtype)
    B = B.astype(cdtype)
    if check:
        A = check_finite(A, "A")
        B = check_finite(B, "B")
    dtA = dt * A
    if method == "zoh":
        return jnp.exp(dtA), dt * phi1(dtA) * B
    den = 1 - dtA / 2
    if check:
        den = error_if_not(
            den, den != 0, "`A` and `dt`: the bilinear step is singular at dt * A = 2."
        )
    return (1 + dtA / 2) / den, dt * B / den
