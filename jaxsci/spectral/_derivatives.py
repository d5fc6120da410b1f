"""Spectral derivatives of periodic fields on ``[0, L)^d``."""

from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_ndim, check_positive, check_positive_int
from ._inputs import as_real, check_nonempty, compute_dtype
from ._transforms import wavenumbers

__all__ = ["spectral_derivative", "spectral_gradient", "spectral_laplacian"]


def _lengths(length, d: int) -> tuple[float, ...]:
    if isinstance(length, (int, float, np.integer, np.floating)):
        length = (float(length),) * d
    length = tuple(float(v) for v in length)
    if len(length) != d:
        raise ValueError(
            f"`length` must be a number or have one entry per axis ({d}), got {length}."
        )
    check_positive(np.asarray(length), "length")
    return length


def _float(u):
    """A real floating field with 1 to 3 non-empty axes (float16/bfloat16 are differentiated in
    float32 and cast back)."""
    u = as_real(u, "u")
    check_ndim(u, "u", (1, 2, 3))
    check_nonempty(u, "u")
    return u


def spectral_derivative(
    u: Float[ArrayLike, " *spatial"],
    axis: int,
    *,
    order: int = 1,
    length: float | Sequence[float] = 1.0,
) -> Float[Array, " *spatial"]:
    r"""``∂^p u / ∂x_a^p`` of a periodic field sampled at ``x_j = j L / n`` on ``[0, L)^d``.

    ``rfft`` along ``axis``, multiply by ``(i κ)^p`` with ``κ = 2π k / L``, ``irfft``. For odd ``p`` on
    an even grid the Nyquist mode is zeroed (its derivative, a sine at the Nyquist frequency, vanishes
    on the grid), so the result is real and exact for trigonometric polynomials of degree ``< n/2``.
    Cost ``O(N log n)``, memory ``O(N)``.
    """
    u = _float(u)
    check_positive_int(order, "order", minimum=0)
    d = u.ndim
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"`axis` must be an int, got {axis!r}.")
    if not -d <= axis < d:
        raise ValueError(f"`axis` = {axis} is out of range for `u` of shape {u.shape}.")
    axis %= d
    L = _lengths(length, d)[axis]
    n = u.shape[axis]
    if order == 0:
        return u
    kappa = wavenumbers(n, L, rfft=True)
    factor = (1j * kappa) ** order
    if order % 2 == 1 and n % 2 == 0:
        factor[-1] = 0.0
    shape = [1] * d
    shape[axis] = -1
    uh = jnp.fft.rfft(u.astype(compute_dtype(u.dtype)), axis=axis)
    uh = uh * jnp.asarray(factor.reshape(shape), uh.dtype)
    return jnp.fft.irfft(uh, n=n, axis=axis).astype(u.dtype)


def spectral_gradient(
    u: Float[ArrayLike, " *spatial"], *, length: float | Sequence[float] = 1.0
) -> Float[Array, " d *spatial"]:
    """Gradient ``(∂u/∂x_1, ..., ∂u/∂x_d)`` of a periodic field on ``[0, L)^d``, shape ``(d, *spatial)``.

    One :func:`spectral_derivative` per axis (Nyquist mode zeroed on even grids). Cost ``O(d N log n)``.
    """
    u = _float(u)
    L = _lengths(length, u.ndim)
    return jnp.stack([spectral_derivative(u, a, length=L) for a in range(u.ndim)])


def spectral_laplacian(
    u: Float[ArrayLike, " *spatial"], *, length: float | Sequence[float] = 1.0
) -> Float[Array, " *spatial"]:
    r"""Laplacian ``Δu`` of a periodic field on ``[0, L)^d``: ``irfftn(-|κ|^2 rfftn(u))``.

    Exact for trigonometric polynomials resolved by the grid (the Nyquist cosine is kept: its second
    derivative is real on the grid). Cost ``O(N log N)``, memory ``O(N)``.
    """
    u = _float(u)
    d = u.ndim
    L = _lengths(length, d)
    lam = _symbol(u.shape, L, rfft=True)
    wdt = compute_dtype(u.dtype)
    uh = jnp.fft.rfftn(u.astype(wdt))
    return jnp.fft.irfftn(-uh * jnp.asarray(lam, wdt), s=u.shape).astype(u.dtype)


def _symbol(shape, lengths, *, rfft: bool, stencil: str = "spectral") -> np.ndarray:
    """``|κ|^2`` (spectral) or the eigenvalues of the periodic ``(2d+1)``-point ``-Δ_h`` (fd), float64,
    on the (r)fft grid of ``shape``."""
    d = len(shape)
    total = 0.0
    for a, (n, L) in enumerate(zip(shape, lengths, strict=False)):
        last = rfft and a == d - 1
        if stencil == "spectral":
            lam = wavenumbers(n, L, rfft=last) ** 2
        else:
            k = np.fft.rfftfreq(n, 1.0 / n) if last else np.fft.fftfreq(n, 1.0 / n)
            h = L / n
            lam = 4.0 / h**2 * np.sin(np.pi * k / n) ** 2
        sh = [1] * d
        sh[a] = -1
        total = total + lam.reshape(sh)
    return np.asarray(total)
