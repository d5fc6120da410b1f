"""The S4D convolution kernel and the causal (FFT) convolution."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Num, Real

from .._checks import check_choice, check_positive_int, error_if_not
from ._discretize import _discretize, _dt_for
from ._util import as_array, check_finite, check_real, compute_dtype
from ._vandermonde import _vandermonde_unchecked

__all__ = ["causal_conv", "fast_fft_length", "s4d_kernel"]


def s4d_kernel(
    A: Num[ArrayLike, " h n"],
    B: Num[ArrayLike, " h n"],
    C: Num[ArrayLike, " h n"],
    dt: Real[ArrayLike, ""]
    | Real[ArrayLike, " h"]
    | Real[ArrayLike, " h 1"]
    | Real[ArrayLike, " h n"],
    L: int,
    *,
    method: str = "zoh",
) -> Float[Array, " h l"]:
    r"""The S4D kernel ``K[h, l] = 2 Re sum_n C[h,n] Bbar[h,n] Abar[h,n]^l``, ``l = 0..L-1``.

    ``A``, ``B``, ``C`` are the ``N`` stored modes (one of each conjugate pair; the state size is ``2N``),
    shape ``(H, N)``; ``dt`` is positive: a scalar, ``(H,)`` or ``(H, 1)`` (tied per channel), or ``(H, N)``
    (per mode). The kernel is channels-first, ``(H, L)``: one row per channel. The discretisation is
    :func:`discretize` (``method="zoh"`` or ``"bilinear"``) and the powers are a :func:`vandermonde` product
    with ``W = C Bbar`` and ``z = log Abar`` (``= dt A`` for ZOH), so the cost is ``O(H N L)`` flops in GEMMs
    and the memory ``O(H (N + L))``, also under ``jax.jvp``, ``jax.grad`` and ``jax.hessian`` (no
    ``(H, N, L)`` array or residual is formed).

    Integer inputs are converted, half precision is computed (and returned) in float32. NaN/inf in ``A``,
    ``B``, ``C`` or ``dt``, a non-positive ``dt`` and a kernel that overflows (``Re(dt A)`` too large for
    ``L``) raise errors naming the argument (at run time, ``eqx.error_if``, for JAX arrays).
    Reference: Gu, Gupta, Goel, Ré, "On the Parameterization and Initialization of Diagonal State Space
    Models" (S4D), NeurIPS 2022.
    """
    L = check_positive_int(L, "L")
    check_choice(method, "method", ("zoh", "bilinear"))
    A, B, C = (as_array(x, name) for x, name in ((A, "A"), (B, "B"), (C, "C")))
    if jnp.ndim(A) != 2 or A.shape[1] < 1:
        raise ValueError(f"`A` must have shape (H, N) with N >= 1 modes, got {jnp.shape(A)}.")
    for x, name in ((B, "B"), (C, "C")):
        if jnp.shape(x) != jnp.shape(A):
            raise ValueError(
                f"`A` and `{name}` must have the same shape, got {jnp.shape(A)} and {jnp.shape(x)}."
            )
    dt = _dt_for(A, dt)
    cdtype = compute_dtype(A, B, C, dt, complex_=True)
    A, B, C = (check_finite(x.astype(cdtype), n) for x, n in ((A, "A"), (B, "B"), (C, "C")))
    Abar, Bbar = _discretize(A, B, dt, method, check=method == "bilinear")  # dt checked above
    z = dt * A if method == "zoh" else jnp.log(Abar)
    K = _vandermonde_unchecked(C * Bbar, z, L)
    return error_if_not(
        K,
        jnp.isfinite(K),
        "the kernel overflows: `A` has modes with Re(dt A) > 0 too large for `L` "
        "(exp(l dt Re A) is not finite in the working precision).",
    )


def fast_fft_length(n: int) -> int:
    """The smallest integer >= n of the form 2^a 3^b 5^c (fast for every FFT backend)."""
    n = check_positive_int(n, "n")
    best = 1 << (n - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def causal_conv(
    u: Real[ArrayLike, " l h"],
    K: Float[ArrayLike, " h l"] | Float[ArrayLike, " 2 h l"],
    D: Real[ArrayLike, " h"] | None = None,
    *,
    bidirectional: bool = False,
) -> Float[Array, " l h"]:
    r"""Causal convolution ``y[t, h] = sum_{s<=t} K[h, t-s] u[s, h] + D[h] u[t, h]`` by real FFTs.

    Sequences are time-first (``u`` and ``y`` are ``(L, H)``) and kernels channels-first (``K`` is ``(H, L)``,
    one row per channel, as :func:`s4d_kernel` returns it). The FFTs are zero-padded to a fast length ``>= 2L``
    (:func:`fast_fft_length`), so nothing wraps around.

    **Bidirectional** (``bidirectional=True``): ``K`` has shape ``(2, H, L)``; ``K[0]`` is the causal kernel as
    above and ``K[1]`` the anti-causal one, which excludes the present sample (it is in ``K[0]``):
    ``y[t, h] = sum_{s<=t} K[0,h,t-s] u[s,h] + sum_{s>t} K[1,h,s-t-1] u[s,h] + D[h] u[t,h]``.

    **Shapes:** ``u`` ``(L, H)``; ``K`` ``(H, L)`` (or ``(2, H, L)``); ``D`` ``(H,)`` or ``None``; returns
    ``(L, H)`` in the promoted floating dtype of ``u``, ``K`` and ``D`` (integer ``u`` is converted; half
    precision, float16 or bfloat16, is computed and returned in float32: XLA's FFT has no half type).
    NaN/inf in ``u``, ``K`` or ``D`` raise a run-time error naming the argument (``eqx.error_if``): an FFT
    would spread one NaN over every time step of its channel, the past included. Complex inputs raise.
    **Cost:** ``O(H L log L)``; memory ``O(H L)``.
    """
    u = as_array(u, "u")
    K = as_array(K, "K")
    check_real(u, "u")
    check_real(K, "K")
    if jnp.ndim(u) != 2:
        raise ValueError(f"`u` must have shape (L, H), got {jnp.shape(u)}.")
    L, H = u.shape
    if L < 1:
        raise ValueError(f"`u` must have length L >= 1, got shape {u.shape}.")
    want = (2, H, L) if bidirectional else (H, L)
    if K.shape != want:
        raise ValueError(f"`K` must have shape {want} (matching `u` {u.shape}), got {K.shape}.")
    if D is not None:
        D = as_array(D, "D")
        check_real(D, "D")
        if D.shape != (H,):
            raise ValueError(f"`D` must have shape ({H},), got {D.shape}.")
    dtype = compute_dtype(u, K) if D is None else compute_dtype(u, K, D)
    u = check_finite(u.astype(dtype), "u")
    K = check_finite(K.astype(dtype), "K")
    if D is not None:
        D = check_finite(D.astype(dtype), "D")
    return _conv(u, K, D, bidirectional)


def _conv(u, K, D, bidirectional):
    """The unchecked FFT convolution (dtypes and shapes already normalised)."""
    L, H = u.shape
    dtype = u.dtype
    n = fast_fft_length(2 * L)
    if bidirectional:
        # lag -(k+1) for K[1][k] sits at index n - (k+1) of the circular kernel
        k = jnp.zeros((H, n), dtype).at[:, :L].set(K[0])
        k = k.at[:, n - L :].add(K[1][:, ::-1])
    else:
        k = K.astype(dtype)
    y = jnp.fft.irfft(jnp.fft.rfft(u, n=n, axis=0) * jnp.fft.rfft(k, n=n).T, n=n, axis=0)[:L]
    if D is not None:
        y = y + D[None, :] * u
    return y.astype(dtype)
