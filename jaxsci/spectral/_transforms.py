"""Discrete sine transform (type I) and Fourier wavenumbers. JAX has no DST; this builds it on ``rfft``."""

from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Real

from .._checks import check_choice, check_positive, check_positive_int
from ._inputs import as_real, compute_dtype

__all__ = ["dst1", "dstn", "idstn", "wavenumbers"]


def _axes(x, axes, name="axes") -> tuple[int, ...]:
    nd = jnp.ndim(x)
    if axes is None:
        return tuple(range(nd))
    if isinstance(axes, (int, np.integer)):
        axes = (int(axes),)
    out = []
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"`{name}` must hold ints, got {a!r}.")
        if not -nd <= a < nd:
            raise ValueError(f"`{name}` entry {a} is out of range for an array of {nd} dimensions.")
        out.append(a % nd)
    if len(set(out)) != len(out):
        raise ValueError(f"`{name}` must not repeat an axis, got {tuple(axes)}.")
    return tuple(out)


def _odd_extension(x):
    """``(0, x, 0, -reversed(x))`` along the last axis (length ``2(n+1)``), written as the difference of
    two zero-padded copies: pads, reversals and the subtraction are elementwise, so XLA fuses them (and
    whatever produced ``x``: the previous axis's imaginary-part extraction and axis rotation) into one
    loop. A ``concatenate`` here stays a separate pass that reads ``x`` and a negated reversed copy."""
    n = x.shape[-1]
    keep = [(0, 0)] * (x.ndim - 1)
    return jnp.pad(x, keep + [(1, n + 1)]) - jnp.pad(x[..., ::-1], keep + [(n + 2, 0)])


def _dst1_last(x):
    """Unnormalised DST-I along the last axis of a float32/float64 array (no checks): ``-Im(rfft(v))``
    of the odd extension ``v = (0, x, 0, -reversed(x))``. XLA fuses the extension into one pass and the
    imaginary-part extraction into the FFT's consumer. (A length-(n+1) real FFT with a pre-twiddle and a
    running sum over the odd outputs, Press et al.'s ``sinft``, halves the FFT but on XLA:CPU its extra
    passes cost as much as they save below 1023 points, and its recurrence loses accuracy (measured
    again for issue 17: 2e-6 relative in float32 at n = 1023, against 1e-7 here): not used.)"""
    n = x.shape[-1]
    return -jnp.imag(jnp.fft.rfft(_odd_extension(x), axis=-1))[..., 1 : n + 1]


def _dst1_all_axes(x, scale=None, *, inverse_layout=False):
    """DST-I over every axis of ``x`` with only ``d − 1`` transposes: transform the last axis, move it to
    the front (a cyclic rotation of the axes), repeat. Returns the result in the *rotated* layout
    (axes permuted by ``d − 1`` rotations) and that permutation, so that a caller that divides by a
    symbol and transforms back (:func:`jaxsci.spectral.solve_dirichlet`) can undo the rotations on the way
    back (``inverse_layout``) instead of transposing twice per axis."""
    d = x.ndim
    perm = list(range(d))
    for i in range(d):
        x = _dst1_last(x)
        if i < d - 1:
            if inverse_layout:
                x = jnp.moveaxis(x, 0, -1)
                perm = perm[1:] + perm[:1]
            else:
                x = jnp.moveaxis(x, -1, 0)
                perm = perm[-1:] + perm[:-1]
    return x, tuple(perm)


def dst1(
    x: Real[ArrayLike, " ..."], axis: int = -1, *, norm: str | None = None
) -> Float[Array, " ..."]:
    r"""Discrete sine transform of type I along ``axis``, as ``scipy.fft.dst(x, type=1, axis, norm)``.

    .. math:: y_k = 2 \sum_{j=0}^{n-1} x_j \sin\Big(\frac{\pi (j+1)(k+1)}{n+1}\Big), \quad k = 0..n-1

    (``norm="ortho"`` multiplies by ``1/sqrt(2(n+1))``, making the transform orthogonal and its own
    inverse). Computed as ``-Im(rfft(v))[1:n+1]`` of the odd extension
    ``v = (0, x, 0, -reversed(x))`` of length ``2(n+1)``: cost ``O(n log n)`` per line, memory
    ``O(2(n+1))`` per line. Real input only (complex input raises: transform its real and imaginary
    parts separately); integers become JAX's default float dtype; float16/bfloat16 are transformed in
    float32 and cast back. Unnormalised, ``dst1(dst1(x)) = 2(n+1) x``.
    """
    check_choice(norm, "norm", (None, "backward", "ortho"))
    x = as_real(x, "x", integers=True)
    (axis,) = _axes(x, (axis,), name="axis")
    n = x.shape[axis]
    xm = jnp.moveaxis(x, axis, -1).astype(compute_dtype(x.dtype))
    y = _dst1_last(xm).astype(x.dtype)
    if norm == "ortho":
        y = y / np.sqrt(2.0 * (n + 1))
    return jnp.moveaxis(y, -1, axis)


def dstn(
    x: Real[ArrayLike, " ..."], axes: Sequence[int] | None = None, *, norm: str | None = None
) -> Float[Array, " ..."]:
    """Multidimensional DST-I over ``axes`` (default all), as ``scipy.fft.dstn(x, type=1, axes=axes)``."""
    x = as_real(x, "x", integers=True)
    for a in _axes(x, axes):
        x = dst1(x, a, norm=norm)
    return x


def idstn(
    x: Real[ArrayLike, " ..."], axes: Sequence[int] | None = None, *, norm: str | None = None
) -> Float[Array, " ..."]:
    """Inverse of :func:`dstn`, as ``scipy.fft.idstn(x, type=1, axes=axes)``: ``dstn / prod(2(n_a+1))``."""
    x = as_real(x, "x", integers=True)
    axes = _axes(x, axes)
    y = dstn(x, axes, norm=norm)
    if norm == "ortho":
        return y
    scale = float(np.prod([2.0 * (x.shape[a] + 1) for a in axes]))
    return y / scale


def wavenumbers(n: int, length: float = 1.0, *, rfft: bool = False) -> Float[np.ndarray, " k"]:
    """Angular wavenumbers ``2 pi k / L`` of an ``n``-point periodic grid on ``[0, L)`` in FFT order
    (``rfft=True``: the ``n // 2 + 1`` non-negative ones), as a float64 NumPy array. ``n >= 1`` and
    ``length > 0`` (finite)."""
    n = check_positive_int(n, "n")
    check_positive(length, "length")
    k = np.fft.rfftfreq(n, d=1.0 / n) if rfft else np.fft.fftfreq(n, d=1.0 / n)
    return 2.0 * np.pi * k / float(length)
