"""The Vandermonde product ``K[..., l] = 2 Re sum_n W[..., n] exp(l z[..., n])`` without the (N, L) matrix.

Algorithm (chunked GEMM). Write ``l = j*c + i`` with ``0 <= i < c`` and ``0 <= j < J = ceil(L/c)``. Then
``exp(l z) = exp(j c z) * exp(i z)`` and, per channel,

    K[j*c + i] = 2 Re sum_n (W_n exp(j c z_n)) exp(i z_n)

is a ``(J x N) @ (N x c)`` complex matrix product whose real part is two real GEMMs. Only ``H*N*(c + J)``
exponentials are evaluated (the naive kernel evaluates ``H*N*L``), and ``exp(j c z)`` is computed directly
from the product ``j*c*z`` (never by repeated multiplication), so rounding does not accumulate with ``l``.
The outer rows ``j`` are processed in tiles of ``J_t`` rows inside a ``lax.map``, so the peak memory is
``O(H*(N*c + L))`` plus one ``(H, J_t, N)`` tile; ``c`` is chosen so that ``N*c <= max(16 N, L)``, which makes
it ``O(H*(N + L))`` plus the tile.

Derivatives (a ``jax.custom_jvp``). The kernel is linear in ``W``, and ``d/dz exp(l z) = l exp(l z)``, so

    dK[l] = 2 Re sum_n (dW_n + l W_n dz_n) exp(l z_n),

the same tiled product with a second weight ``V = W dz`` carried by the factor ``l = j c + i``: per tile,
``(dW + j c V) exp(j c z)`` multiplies ``exp(i z)`` and ``V exp(j c z)`` multiplies ``i exp(i z)``, one GEMM
with ``2N`` inner terms. This tangent is written with linear operations only, so JAX transposes it for reverse
mode (the transposed tiles are again GEMMs, ``G @ E^T``, summed over ``j``), and the tile body is wrapped in
``jax.checkpoint`` so the transpose recomputes the outer exponentials instead of storing them: reverse mode
keeps only ``O(H*N)`` residuals and forward mode, reverse mode and their compositions (``jax.hessian``) never
form an ``(H, N, L)`` array.

Internally everything is real: complex numbers are carried as (real, imag) pairs, which keeps complex dtypes
out of the hot loop (see jax#11007) and makes the JAX complex-gradient convention automatic.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, ArrayLike, Float, Num, Real

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


def _tiled(Ar, Ai, Vr, Vi, zr, zi, L, chunk, tile_rows):
    """``2 Re sum_n (A_n + l V_n) exp(l z_n)`` for l < L, tiled; ``V = None`` drops the ``l V`` term.

    Linear in ``(A, V)`` (JAX can transpose it); the tile body is checkpointed so its transpose recomputes the
    ``(H, J_t, N)`` outer exponentials rather than keeping one per tile."""
    H, N = Ar.shape
    dtype = Ar.dtype
    c, jt, T = _block_sizes(N, L, H, chunk, tile_rows)
    Er, Ei = _inner(zr, zi, c, dtype)
    if Vr is not None:
        ii = jnp.arange(c, dtype=dtype)
        # inner factors for the two weights, stacked on the mode axis: [E; i E], shape (H, 2N, c)
        Er = jnp.concatenate([Er, Er * ii], axis=1)
        Ei = jnp.concatenate([Ei, Ei * ii], axis=1)

    def tile(t):
        rows = t * jt + jnp.arange(jt)
        Or, Oi = _outer(zr, zi, rows, c, dtype)  # (H, jt, N)
        if Vr is None:
            Pr, Pi = Ar[:, None, :], Ai[:, None, :]
        else:
            l0 = (rows.astype(dtype) * c)[None, :, None]
            # weights of exp(j c z) exp(i z): A + j c V; of exp(j c z) i exp(i z): V
            Pr = jnp.concatenate(
                [Ar[:, None, :] + l0 * Vr[:, None, :], jnp.broadcast_to(Vr[:, None, :], Or.shape)],
                axis=2,
            )
            Pi = jnp.concatenate(
                [Ai[:, None, :] + l0 * Vi[:, None, :], jnp.broadcast_to(Vi[:, None, :], Or.shape)],
                axis=2,
            )
            Or = jnp.concatenate([Or, Or], axis=2)
            Oi = jnp.concatenate([Oi, Oi], axis=2)
        Qr = Or * Pr - Oi * Pi
        Qi = Or * Pi + Oi * Pr
        # Re(Q @ E) = Qr @ Er - Qi @ Ei   (two real batched GEMMs)
        out = jnp.einsum("hjn,hnc->hjc", Qr, Er, precision=_HIGHEST) - jnp.einsum(
            "hjn,hnc->hjc", Qi, Ei, precision=_HIGHEST
        )
        return 2 * out

    if T == 1:
        K = tile(0).reshape(H, jt * c)
    else:
        K = lax.map(jax.checkpoint(tile, prevent_cse=False), jnp.arange(T))  # (T, H, jt, c)
        K = jnp.moveaxis(K, 0, 1).reshape(H, T * jt * c)
    return K[:, :L]


@partial(jax.custom_jvp, nondiff_argnums=(4, 5, 6))
def _vand(Wr, Wi, zr, zi, L, chunk, tile_rows):
    return _tiled(Wr, Wi, None, None, zr, zi, L, chunk, tile_rows)


@_vand.defjvp
def _vand_jvp(L, chunk, tile_rows, primals, tangents):
    Wr, Wi, zr, zi = primals
    dWr, dWi, dzr, dzi = tangents
    out = _vand(Wr, Wi, zr, zi, L, chunk, tile_rows)
    # dK = 2 Re sum_n (dW_n + l V_n) exp(l z_n) with V = W dz (complex product)
    Vr = Wr * dzr - Wi * dzi
    Vi = Wr * dzi + Wi * dzr
    return out, _tiled(dWr, dWi, Vr, Vi, zr, zi, L, chunk, tile_rows)


# One compiled program per shape for eager callers (op-by-op dispatch of the tiles is slow to start); under
# an outer jit or transform this is inlined like any nested jit.
_vand_jit = jax.jit(_vand, static_argnums=(4, 5, 6))


def _real_dtype(*xs):
    dtype = jnp.result_type(*xs)
    if not jnp.issubdtype(dtype, jnp.inexact):
        dtype = jnp.result_type(float)
    return jnp.finfo(dtype).dtype


def vandermonde_split(
    W_re: Real[ArrayLike, " *batch n"],
    W_im: Real[ArrayLike, " *batch n"],
    z_re: Real[ArrayLike, " *batch n"],
    z_im: Real[ArrayLike, " *batch n"],
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
    K = _vand_jit(*flat, L, chunk, tile_rows)
    return K.reshape(*shape[:-1], L)


def vandermonde(
    W: Num[ArrayLike, " *batch n"],
    z: Num[ArrayLike, " *batch n"],
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

    - ``W``: complex (or real) weights, shape ``(..., N)``; any N >= 1.
    - ``z``: complex exponents (log of the discrete poles), same shape as ``W``.
    - ``L``: the kernel length (static int >= 1); any L (padded internally).
    - ``chunk``: inner block length ``c`` (default: about ``sqrt(L)``, bounded so ``N*c <= max(16N, L)``).
    - ``tile_rows``: outer rows per tile (default: tiles of about 2M elements).

    **Returns:** real array of shape ``(..., L)``, float64 for complex128 input (x64), float32 for complex64.

    **Cost:** ``8*H*N*L`` real flops in batched GEMMs plus ``H*N*(c + L/c)`` complex exponentials (``H`` is the
    product of the leading dims); a forward- or reverse-mode derivative costs about twice that.
    **Memory:** ``O(H*(N + L))`` plus one ``(H, tile_rows, N)`` tile; the ``(..., N, L)`` array is never formed,
    in the forward pass, under ``jax.jvp`` or ``jax.grad``, or in compositions such as ``jax.hessian`` (a
    ``jax.custom_jvp`` whose tangent is the same tiled product, transposed by JAX for reverse mode).
    Differentiable in ``W`` and ``z`` to any order, with JAX's complex convention.
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
    W: Num[ArrayLike, " *batch n"], z: Num[ArrayLike, " *batch n"], L: int
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
