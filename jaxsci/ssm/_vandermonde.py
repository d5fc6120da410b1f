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

from .._checks import check_positive_int, error_if_not
from ._util import as_array, check_finite, check_real, compute_dtype

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


def _check_modes(shape, name):
    if len(shape) < 1:
        raise ValueError(f"`{name}` must have at least one dimension (..., N), got shape {shape}.")
    if shape[-1] < 1:
        raise ValueError(
            f"the number of modes N (last axis of `{name}`) must be >= 1, got shape {shape}."
        )


def _overflow_check(K, name):
    return error_if_not(
        K,
        jnp.isfinite(K),
        f"the kernel overflows: `{name}` has a real part too large for `L` (exp(l Re {name}) is not "
        "finite in the working precision).",
    )


def _split_impl(W_re, W_im, z_re, z_im, L, chunk, tile_rows):
    """The unchecked kernel (shapes, dtypes already normalised): the layers call it and check themselves."""
    shape = W_re.shape
    flat = [a.reshape(-1, shape[-1]) for a in (W_re, W_im, z_re, z_im)]
    return _vand_jit(*flat, L, chunk, tile_rows).reshape(*shape[:-1], L)


def _vandermonde_unchecked(W, z, L):
    dtype = compute_dtype(W, z)
    return _split_impl(
        *(
            jnp.asarray(part, dtype)
            for part in (jnp.real(W), jnp.imag(W), jnp.real(z), jnp.imag(z))
        ),
        L,
        None,
        None,
    )


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

    Same formula, cost, memory, dtype and value checks as :func:`vandermonde`; ``W = W_re + i W_im`` and
    ``z = z_re + i z_im``.
    """
    L = check_positive_int(L, "L")
    names = ("W_re", "W_im", "z_re", "z_im")
    arrs = [as_array(a, name) for a, name in zip((W_re, W_im, z_re, z_im), names, strict=True)]
    for a, name in zip(arrs, names, strict=True):
        check_real(a, name)
        _check_modes(a.shape, name)
    shape = arrs[0].shape
    for a, name in zip(arrs[1:], names[1:], strict=True):
        if a.shape != shape:
            raise ValueError(
                f"`W_re` and `{name}` must have the same shape, got {shape} and {a.shape}."
            )
    chunk, tile_rows = _check_blocks(chunk, tile_rows)
    dtype = compute_dtype(*arrs)
    arrs = [check_finite(a.astype(dtype), name) for a, name in zip(arrs, names, strict=True)]
    return _overflow_check(_split_impl(*arrs, L, chunk, tile_rows), "z_re")


def _check_blocks(chunk, tile_rows):
    if chunk is not None:
        chunk = check_positive_int(chunk, "chunk")
    if tile_rows is not None:
        tile_rows = check_positive_int(tile_rows, "tile_rows")
    return chunk, tile_rows


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

    **Returns:** real array of shape ``(..., L)``, float64 for complex128 input (x64), float32 for complex64;
    integer inputs are computed in JAX's default float, half precision (float16, bfloat16) in float32 (the
    returned dtype). Booleans and strings raise a ``TypeError`` naming the argument.

    **Checks** (run time, ``eqx.error_if``, also under ``jit``/``vmap``): NaN/inf in ``W`` or ``z`` raise an
    error naming the argument, and so does a kernel that overflows (``Re z`` too large for ``L``): no NaN
    or inf is returned.

    **Cost:** ``8*H*N*L`` real flops in batched GEMMs plus ``H*N*(c + L/c)`` complex exponentials (``H`` is the
    product of the leading dims); a forward- or reverse-mode derivative costs about twice that.
    **Memory:** ``O(H*(N + L))`` plus one ``(H, tile_rows, N)`` tile; the ``(..., N, L)`` array is never formed,
    in the forward pass, under ``jax.jvp`` or ``jax.grad``, or in compositions such as ``jax.hessian`` (a
    ``jax.custom_jvp`` whose tangent is the same tiled product, transposed by JAX for reverse mode).
    Differentiable in ``W`` and ``z`` to any order, with JAX's complex convention.
    """
    W, z = _check_pair(W, z)
    L = check_positive_int(L, "L")
    chunk, tile_rows = _check_blocks(chunk, tile_rows)
    dtype = compute_dtype(W, z)
    W, z = check_finite(W, "W"), check_finite(z, "z")
    parts = (jnp.real(W), jnp.imag(W), jnp.real(z), jnp.imag(z))
    K = _split_impl(*(jnp.asarray(p, dtype) for p in parts), L, chunk, tile_rows)
    return _overflow_check(K, "z")


def _check_pair(W, z):
    W, z = as_array(W, "W"), as_array(z, "z")
    for a, name in ((W, "W"), (z, "z")):
        if a.dtype == jnp.bool_:
            raise TypeError(f"`{name}` must be numeric (integer, real or complex), got dtype bool.")
        _check_modes(a.shape, name)
    if W.shape != z.shape:
        raise ValueError(f"`W` and `z` must have the same shape, got {W.shape} and {z.shape}.")
    return W, z


def vandermonde_naive(
    W: Num[ArrayLike, " *batch n"], z: Num[ArrayLike, " *batch n"], L: int
) -> Float[Array, " *batch l"]:
    """Reference kernel that materialises ``exp(l z)`` of shape ``(..., N, L)`` (O(H N L) memory).

    Used as the peer in benchmarks and as a cross-check in tests; do not use it for large problems. Dtypes
    and checks as :func:`vandermonde`.
    """
    W, z = _check_pair(W, z)
    L = check_positive_int(L, "L")
    cdtype = compute_dtype(W, z, complex_=True)
    W, z = check_finite(W.astype(cdtype), "W"), check_finite(z.astype(cdtype), "z")
    l = jnp.arange(L, dtype=jnp.finfo(cdtype).dtype)
    K = 2 * jnp.real(jnp.einsum("...n,...nl->...l", W, jnp.exp(z[..., None] * l)))
    return _overflow_check(K, "z")
