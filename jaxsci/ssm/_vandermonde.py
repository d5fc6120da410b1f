"""The Vandermonde product ``K[..., l] = 2 Re sum_n W[..., n] exp(l z[..., n])`` without the (N, L) matrix.

Algorithm (chunked GEMM). Write ``l = j*c + i`` with ``0 <= i < c`` and ``0 <= j < J = ceil(L/c)``. Then
``exp(l z) = exp(j c z) * exp(i z)`` and, per channel,

    K[j*c + i] = 2 Re sum_n (W_n exp(j c z_n)) exp(i z_n)

is a ``(J x N) @ (N x c)`` complex matrix product whose real part is two real GEMMs. Only ``H*N*(c + J)``
exponentials are evaluated (the naive kernel evaluates ``H*N*L``), and ``exp(j c z)`` is computed directly
from the product ``j*c*z`` (never by repeated multiplication), so rounding does not accumulate with ``l``.
The outer rows ``j`` are processed in tiles of ``J_t`` rows inside a ``lax.scan``, so the peak memory is
``O(H*(N*c + L))`` plus one ``(H, J_t, N)`` tile; ``c`` is chosen so that ``N*c <= max(16 N, L)``, which makes
it ``O(H*(N + L))`` plus the tile.

The backward pass (a ``jax.custom_vjp``) recomputes instead of storing residuals. With the cotangent
``g[l]``, the gradients need ``S_n = sum_l g_l exp(l z_n)`` and ``T_n = sum_l g_l l exp(l z_n)``; with the
same split, ``S_n = sum_j exp(j c z_n) Q[j, n]`` with ``Q = G @ E^T`` (``G = g`` reshaped ``(J, c)``,
``E[n, i] = exp(i z_n)``), again GEMMs plus ``O(H*J*N)`` element-wise work, tiled over ``j``.

Internally everything is real: complex numbers are carried as (real, imag) pairs, which keeps complex dtypes
out of the hot loop (see jax#11007) and makes the JAX complex-gradient convention automatic.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, ArrayLike, Complex, Float

from .._checks import check_positive_int

__all__ = ["vandermonde", "vandermonde_naive", "vandermonde_split"]

# Elements of one (H, J_t, N) tile; several real arrays of this size are live at once.
_TILE_ELEMENTS = 1 << 21
_HIGHEST = lax.Precision.HIGHEST


def _block_sizes(
    N: int, L: int, H: int, chunk: int | None, tile_rows: int | None
) -> tuple[int, int, int]:
    """Return (c, J_t, T): inner block length, outer rows per tile, number of tiles."""
    if chunk is None:
        root = max(1, math.isqrt(L - 1) + 1)  # ceil(sqrt(L))
        # N*c <= max(16 N, L): the (H, N, c) inner factor stays O(H (N + L)).
        c = min(root, max(16, -(-L // N)))
    else:
        c = min(chunk, L)
    J = -(-L // c)
    if tile_rows is None:
        jt = max(1, min(J, _TILE_ELEMENTS // max(1, H * N)))
    else:
        jt = max(1, min(J, tile_rows))
    T = -(-J // jt)
    jt = -(-J // T)  # balance the tiles so the padding is small
    return c, jt, T


def _inner(zr, zi, c, dtype):
    """exp(i z) for i = 0..c-1 as (real, imag), shape (H, N, c)."""
    i = jnp.arange(c, dtype=dtype)
    mag = jnp.exp(zr[..., None] * i)
    ang = zi[..., None] * i
    return mag * jnp.cos(ang), mag * jnp.sin(ang)


def _outer(zr, zi, rows, c, dtype):
    """exp(j c z) for the given rows j, as (real, imag) of shape (H, J_t, N)."""
    l0 = rows.astype(dtype) * c  # exact in float for any practical L
    mag = jnp.exp(l0[None, :, None] * zr[:, None, :])
    ang = l0[None, :, None] * zi[:, None, :]
    return mag * jnp.cos(ang), mag * jnp.sin(ang)


def _forward(Wr, Wi, zr, zi, L, chunk, tile_rows):
    H, N = Wr.shape
    dtype = Wr.dtype
    c, jt, T = _block_sizes(N, L, H, chunk, tile_rows)
    Er, Ei = _inner(zr, zi, c, dtype)

    def tile(t):
        rows = t * jt + jnp.arange(jt)
        Or, Oi = _outer(zr, zi, rows, c, dtype)
        Pr = Or * Wr[:, None, :] - Oi * Wi[:, None, :]
        Pi = Or * Wi[:, None, :] + Oi * Wr[:, None, :]
        # Re(P @ E) = Pr @ Er - Pi @ Ei   (two real batched GEMMs)
        out = jnp.einsum("hjn,hnc->hjc", Pr, Er, precision=_HIGHEST) - jnp.einsum(
            "hjn,hnc->hjc", Pi, Ei, precision=_HIGHEST
        )
        return 2 * out

    if T == 1:
        K = tile(0).reshape(H, jt * c)
    else:
        K = lax.map(tile, jnp.arange(T))  # (T, H, jt, c)
        K = jnp.moveaxis(K, 0, 1).reshape(H, T * jt * c)
    return K[:, :L]


def _backward(Wr, Wi, zr, zi, g, L, chunk, tile_rows):
    H, N = Wr.shape
    dtype = Wr.dtype
    c, jt, T = _block_sizes(N, L, H, chunk, tile_rows)
    Er, Ei = _inner(zr, zi, c, dtype)
    ii = jnp.arange(c, dtype=dtype)
    # Inner factors for S (E) and for the i-part of T (i*E), stacked on the mode axis: (H, 2N, c).
    Fr = jnp.concatenate([Er, Er * ii], axis=1)
    Fi = jnp.concatenate([Ei, Ei * ii], axis=1)
    gp = jnp.pad(g, ((0, 0), (0, T * jt * c - L))).reshape(H, T, jt, c)
    gp = jnp.moveaxis(gp, 1, 0)  # (T, H, jt, c)

    def tile(carry, xs):
        t, G = xs
        rows = t * jt + jnp.arange(jt)
        Or, Oi = _outer(zr, zi, rows, c, dtype)  # (H, jt, N)
        Qr = jnp.einsum("hjc,hmc->hjm", G, Fr, precision=_HIGHEST)  # (H, jt, 2N)
        Qi = jnp.einsum("hjc,hmc->hjm", G, Fi, precision=_HIGHEST)
        l0 = (rows.astype(dtype) * c)[None, :, None]
        Q0r, Q1r = Qr[..., :N], Qr[..., N:]
        Q0i, Q1i = Qi[..., :N], Qi[..., N:]
        # S = sum_j O * Q0 ;  T = sum_j O * (l0 * Q0 + Q1)
        Rr = l0 * Q0r + Q1r
        Ri = l0 * Q0i + Q1i
        Sr, Si, Tr, Ti = carry
        Sr = Sr + jnp.sum(Or * Q0r - Oi * Q0i, axis=1)
        Si = Si + jnp.sum(Or * Q0i + Oi * Q0r, axis=1)
        Tr = Tr + jnp.sum(Or * Rr - Oi * Ri, axis=1)
        Ti = Ti + jnp.sum(Or * Ri + Oi * Rr, axis=1)
        return (Sr, Si, Tr, Ti), None

    zero = jnp.zeros((H, N), dtype)
    (Sr, Si, Tr, Ti), _ = lax.scan(tile, (zero, zero, zero, zero), (jnp.arange(T), gp))
    # K = 2 Re(W e^{lz}):  dWr = 2 Re S, dWi = -2 Im S, dzr = 2 Re(W T), dzi = -2 Im(W T).
    WTr = Wr * Tr - Wi * Ti
    WTi = Wr * Ti + Wi * Tr
    return 2 * Sr, -2 * Si, 2 * WTr, -2 * WTi


@partial(jax.custom_vjp, nondiff_argnums=(4, 5, 6))
def _vand(Wr, Wi, zr, zi, L, chunk, tile_rows):
    return _forward(Wr, Wi, zr, zi, L, chunk, tile_rows)


def _vand_fwd(Wr, Wi, zr, zi, L, chunk, tile_rows):
    # Residuals are the O(H N) inputs only: the backward pass recomputes the exponentials.
    return _forward(Wr, Wi, zr, zi, L, chunk, tile_rows), (Wr, Wi, zr, zi)


def _vand_bwd(L, chunk, tile_rows, res, g):
    return _backward(*res, g, L, chunk, tile_rows)


_vand.defvjp(_vand_fwd, _vand_bwd)


def _real_dtype(*xs):
    dtype = jnp.result_type(*xs)
    if not jnp.issubdtype(dtype, jnp.inexact):
        dtype = jnp.result_type(float)
    return jnp.finfo(dtype).dtype


def vandermonde_split(
    W_re: Float[ArrayLike, " *batch n"],
    W_im: Float[ArrayLike, " *batch n"],
    z_re: Float[ArrayLike, " *batch n"],
    z_im: Float[ArrayLike, " *batch n"],
    L: int,
    *,
    chunk: int | None = None,
    tile_rows: int | None = None,
) -> Float[Array, " *batch l"]:
    """:func:`vandermonde` on real and imaginary parts given separately (no complex dtype anywhere).

    Same formula, cost and memory as :func:`vandermonde`; ``W = W_re + i W_im`` and ``z = z_re + i z_im``.
    """
    L = check_positive_int(L, "L")
    names = ("W_re", "W_im", "z_re", "z_im")
    arrs = (W_re, W_im, z_re, z_im)
    for a, name in zip(arrs, names, strict=False):
        if jnp.ndim(a) < 1:
            raise ValueError(
                f"`{name}` must have at least one dimension (..., N), got shape {jnp.shape(a)}."
            )
        if jnp.iscomplexobj(a):
            raise TypeError(f"`{name}` must be real, got dtype {jnp.result_type(a)}.")
    shape = jnp.shape(W_re)
    for a, name in zip(arrs[1:], names[1:], strict=False):
        if jnp.shape(a) != shape:
            raise ValueError(
                f"`W_re` and `{name}` must have the same shape, got {shape} and {jnp.shape(a)}."
            )
    if shape[-1] < 1:
        raise ValueError(
            f"the number of modes N (last axis of `W`) must be >= 1, got shape {shape}."
        )
    if chunk is not None:
        chunk = check_positive_int(chunk, "chunk")
    if tile_rows is not None:
        tile_rows = check_positive_int(tile_rows, "tile_rows")
    dtype = _real_dtype(*arrs)
    flat = [jnp.asarray(a, dtype).reshape(-1, shape[-1]) for a in arrs]
    K = _vand(*flat, L, chunk, tile_rows)
    return K.reshape(*shape[:-1], L)


def vandermonde(
    W: Complex[ArrayLike, " *batch n"],
    z: Complex[ArrayLike, " *batch n"],
    L: int,
    *,
    chunk: int | None = None,
    tile_rows: int | None = None,
) -> Float[Array, " *batch l"]:
    r"""The diagonal-SSM kernel as a Vandermonde product.

    .. math:: K[..., l] = 2\,\mathrm{Re} \sum_{n} W[..., n]\, e^{l z[..., n]}, \qquad l = 0, \dots, L-1.

    With ``W = C * Bbar`` and ``z = dt * A`` this is the S4D kernel (Gu et al., "On the Parameterization and
    Initialization of Diagonal State Space Models", 2022); the factor 2 Re sums the conjugate pair of every
    stored mode.

    **Arguments:**

    - ``W``: complex weights, shape ``(..., N)``; any N >= 1.
    - ``z``: complex exponents (log of the discrete poles), same shape as ``W``.
    - ``L``: the kernel length (static int >= 1); any L (padded internally).
    - ``chunk``: inner block length ``c`` (default: about ``sqrt(L)``, bounded so ``N*c <= max(16N, L)``).
    - ``tile_rows``: outer rows per tile (default: tiles of about 2M elements).

    **Returns:** real array of shape ``(..., L)``, float64 for complex128 input (x64), float32 for complex64.

    **Cost:** ``8*H*N*L`` real flops in batched GEMMs plus ``H*N*(c + L/c)`` complex exponentials (``H`` is the
    product of the leading dims). **Memory:** ``O(H*(N + L))`` plus one ``(H, tile_rows, N)`` tile; the
    ``(..., N, L)`` array is never formed, in the forward or the backward pass (a ``jax.custom_vjp`` recomputes).
    Differentiable in ``W`` and ``z`` with JAX's complex convention.
    """
    for a, name in ((W, "W"), (z, "z")):
        if jnp.ndim(a) < 1:
            raise ValueError(
                f"`{name}` must have at least one dimension (..., N), got shape {jnp.shape(a)}."
            )
        if not jnp.issubdtype(jnp.result_type(a), jnp.number):
            raise TypeError(f"`{name}` must be numeric, got dtype {jnp.result_type(a)}.")
    if jnp.shape(W) != jnp.shape(z):
        raise ValueError(
            f"`W` and `z` must have the same shape, got {jnp.shape(W)} and {jnp.shape(z)}."
        )
    W = jnp.asarray(W)
    z = jnp.asarray(z)
    return vandermonde_split(
        jnp.real(W), jnp.imag(W), jnp.real(z), jnp.imag(z), L, chunk=chunk, tile_rows=tile_rows
    )


def vandermonde_naive(
    W: Complex[ArrayLike, " *batch n"], z: Complex[ArrayLike, " *batch n"], L: int
) -> Float[Array, " *batch l"]:
    """Reference kernel that materialises ``exp(l z)`` of shape ``(..., N, L)`` (O(H N L) memory).

    Used as the peer in benchmarks and as a cross-check in tests; do not use it for large problems.
    """
    L = check_positive_int(L, "L")
    W = jnp.asarray(W)
    z = jnp.asarray(z)
    if jnp.shape(W) != jnp.shape(z):
        raise ValueError(
            f"`W` and `z` must have the same shape, got {jnp.shape(W)} and {jnp.shape(z)}."
        )
    l = jnp.arange(L, dtype=jnp.real(z).dtype)
    return 2 * jnp.real(jnp.einsum("...n,...nl->...l", W, jnp.exp(z[..., None] * l)))
