"""The selective scan of Mamba (S6): a time-varying diagonal recurrence, chunked for bounded memory.

Sequences are time-first: ``u`` and ``delta`` are ``(L, D)`` (length, channels), ``B`` and ``C`` are ``(L, N)``,
``A`` is ``(D, N)`` and the state ``h`` is ``(D, N)``. Batch with ``jax.vmap``.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, ArrayLike, Float, Real

from .._checks import check_choice, check_positive_int, error_if_not
from ._util import as_array, check_finite, check_real, compute_dtype

__all__ = ["selective_scan", "selective_scan_naive", "selective_step"]

_DISCRETIZATIONS = ("euler", "zoh")


def _phi1_real(x):
    """``(e^x - 1) / x`` for real ``x`` (1 at 0), with finite gradients everywhere."""
    small = jnp.abs(x) < 1e-4
    xs = jnp.where(small, jnp.ones_like(x), x)
    return jnp.where(small, 1 + x / 2 + x * x / 6, jnp.expm1(xs) / xs)


def _discretize(delta, A, B, u, zoh):
    """``(Abar, Bbar u)`` for any leading time shape: ``delta``, ``u`` ``(..., D)``, ``B`` ``(..., N)``,
    ``A`` ``(D, N)`` -> two ``(..., D, N)`` arrays. Euler: ``Bbar = delta B``; ZOH: ``Bbar = delta phi1(delta A) B``.
    """
    dA = delta[..., :, None] * A
    w = delta[..., :, None] * (_phi1_real(dA) if zoh else 1)
    return jnp.exp(dA), w * B[..., None, :] * u[..., :, None]


def _combine(left, right):
    a_i, b_i = left
    a_j, b_j = right
    return a_j * a_i, a_j * b_i + b_j


def _chunk_associative(h0, xs, A, D, zoh):
    """One chunk of ``T`` steps by an associative scan over its ``(T, D, N)`` terms."""
    u, delta, B, C = xs
    a, b = _discretize(delta, A, B, u, zoh)
    b = b.at[0].add(a[0] * h0)
    _, h = lax.associative_scan(_combine, (a, b), axis=0)
    y = jnp.einsum("tdn,tn->td", h, C)
    return h[-1], y if D is None else y + D * u


def _chunk_sequential(h0, xs, A, D, zoh):
    """One chunk of ``T`` steps by a sequential loop holding one ``(D, N)`` state.

    The transcendental part, ``exp(delta A)`` (and the ZOH weight), is computed for the whole chunk
    at once as a ``(T, D, N)`` block: one vectorised pass over a cache-sized array is about twice as
    fast on CPU as ``T`` small ``exp`` calls inside the loop. The loop itself is one fused
    multiply-add and one ``(D, N) @ (N,)`` product per step."""
    u, delta, B, C = xs
    dA = delta[:, :, None] * A
    a = jnp.exp(dA)
    if zoh:
        w = delta[:, :, None] * _phi1_real(dA)

        def step(h, x):
            a_t, w_t, u_t, B_t, C_t = x
            h = a_t * h + w_t * B_t * u_t[:, None]
            return h, h @ C_t

        h, y = lax.scan(step, h0, (a, w, u, B, C))
    else:

        def step(h, x):
            a_t, du_t, B_t, C_t = x
            h = a_t * h + du_t[:, None] * B_t
            return h, h @ C_t

        h, y = lax.scan(step, h0, (a, delta * u, B, C))
    return h, y if D is None else y + D * u


def default_chunk(L: int) -> int:
    """The default chunk length: the power of two nearest ``sqrt(L)``, clipped to [16, 128] and to ``L``.
    ``sqrt(L)`` balances the saved boundary states ``(L/T) D N`` against the workspace ``T D N`` of one
    chunk; the cap keeps the per-chunk recomputation cheap (measured on CPU: T = 64-128 is fastest)."""
    return max(1, min(L, 2 ** min(7, max(4, round(math.log2(max(L, 1)) / 2)))))


@partial(jax.jit, static_argnames=("chunk", "zoh", "inner"))
def _selective_scan(u, delta, A, B, C, D, h0, *, chunk, zoh, inner):
    L, Dm = u.shape
    T = chunk
    K = -(-L // T)
    pad = K * T - L
    if pad:
        # delta = 0 gives Abar = 1 and Bbar u = 0: padded steps leave the state unchanged
        u, delta = (jnp.pad(x, ((0, pad), (0, 0))) for x in (u, delta))
        B, C = (jnp.pad(x, ((0, pad), (0, 0))) for x in (B, C))
    xs = tuple(x.reshape(K, T, x.shape[-1]) for x in (u, delta, B, C))
    body = _chunk_associative if inner == "associative" else _chunk_sequential
    # Only the carries (the chunk-boundary states, (K, D, N)) are saved for the backward pass; each
    # chunk's states are recomputed from its boundary state there.
    body = jax.checkpoint(
        partial(body, A=A, D=D, zoh=zoh), policy=jax.checkpoint_policies.nothing_saveable
    )
    h, y = lax.scan(body, h0, xs)
    return y.reshape(K * T, Dm)[:L], h


def _check_args(u, delta, A, B, C, D, h0, discretization, chunk):
    check_choice(discretization, "discretization", _DISCRETIZATIONS)
    names = ("u", "delta", "A", "B", "C")
    arrs = [as_array(x, n) for x, n in zip((u, delta, A, B, C), names, strict=True)]
    for x, n in zip(arrs, names, strict=True):
        check_real(x, n, bool_ok=n == "u")
    u, delta, A, B, C = arrs
    if u.ndim != 2:
        raise ValueError(f"`u` must have shape (L, D) (time-first), got {u.shape}.")
    L, Dm = u.shape
    if L < 1:
        raise ValueError(f"`u` must have length L >= 1, got shape {u.shape}.")
    if Dm < 1:
        raise ValueError(f"`u` must have D >= 1 channels, got shape {u.shape}.")
    if delta.shape != u.shape:
        raise ValueError(f"`delta` must have the shape of `u`, {u.shape}, got {delta.shape}.")
    if A.ndim != 2 or A.shape[0] != Dm or A.shape[1] < 1:
        raise ValueError(f"`A` must have shape ({Dm}, N) with N >= 1, got {A.shape}.")
    N = A.shape[1]
    for x, n in ((B, "B"), (C, "C")):
        if x.shape != (L, N):
            raise ValueError(f"`{n}` must have shape ({L}, {N}) (L, N), got {x.shape}.")
    extra = []
    if D is not None:
        D = as_array(D, "D")
        check_real(D, "D")
        if D.shape != (Dm,):
            raise ValueError(f"`D` must have shape ({Dm},), got {D.shape}.")
        extra.append(D)
    if h0 is not None:
        h0 = as_array(h0, "h0")
        check_real(h0, "h0")
        if h0.shape != (Dm, N):
            raise ValueError(f"`h0` must have shape ({Dm}, {N}), got {h0.shape}.")
        extra.append(h0)
    if chunk is not None:
        chunk = check_positive_int(chunk, "chunk")
    dtype = compute_dtype(u, delta, A, B, C, *extra)
    u, delta, A, B, C = (x.astype(dtype) for x in (u, delta, A, B, C))
    A = error_if_not(A, jnp.isfinite(A) & (A <= 0), "`A` must be finite and <= 0 (a decay rate).")
    if D is not None:
        D = check_finite(D.astype(dtype), "D")
    h0 = jnp.zeros((Dm, N), dtype) if h0 is None else check_finite(h0.astype(dtype), "h0")
    # The run-time checks of the (L, D) and (L, N) inputs are attached to the small initial state,
    # which every output depends on: checking them in place would copy the long arrays.
    for ok, message in (
        (jnp.isfinite(u), "`u` must be finite (no NaN or inf)."),
        (jnp.isfinite(delta) & (delta >= 0), "`delta` must be finite and >= 0 (a step size)."),
        (jnp.isfinite(B), "`B` must be finite (no NaN or inf)."),
        (jnp.isfinite(C), "`C` must be finite (no NaN or inf)."),
    ):
        h0 = error_if_not(h0, ok, message)
    return u, delta, A, B, C, D, h0, chunk


def selective_scan(
    u: Real[ArrayLike, " L D"],
    delta: Real[ArrayLike, " L D"],
    A: Real[ArrayLike, " D N"],
    B: Real[ArrayLike, " L N"],
    C: Real[ArrayLike, " L N"],
    D: Real[ArrayLike, " D"] | None = None,
    *,
    h0: Real[ArrayLike, " D N"] | None = None,
    chunk: int | None = None,
    discretization: str = "euler",
    return_state: bool = False,
    inner: str = "sequential",
) -> Float[Array, " L D"] | tuple[Float[Array, " L D"], Float[Array, " D N"]]:
    r"""The selective scan (S6) of Mamba: ``y = C h + D u`` with an input-dependent diagonal recurrence.

    Per channel ``d`` and state ``n``:
    ``h_t[d, n] = exp(delta_t[d] A[d, n]) h_{t-1}[d, n] + Bbar_t[d, n] u_t[d]``,
    ``y_t[d] = sum_n C_t[n] h_t[d, n] + D[d] u_t[d]``, with ``h_{-1} = h0`` (default 0) and
    ``Bbar_t = delta_t[d] B_t[n]`` (``discretization="euler"``, the rule of the official Mamba kernel) or
    ``Bbar_t = (exp(delta_t A) - 1) / A B_t = delta_t phi1(delta_t A) B_t`` (``"zoh"``, exact for ``u``
    constant over the step; ``A = 0`` allowed).

    **Shapes** (time-first, one sample; batch with ``jax.vmap``): ``u``, ``delta`` ``(L, D)``; ``A``
    ``(D, N)`` real, ``<= 0``; ``B``, ``C`` ``(L, N)``; ``D`` ``(D,)`` or ``None`` (no skip); ``h0``
    ``(D, N)``. Returns ``y`` ``(L, D)``, or ``(y, h_L)`` with ``return_state=True`` (``h_L`` the final
    state, to continue with the next segment as its ``h0`` or with :func:`selective_step`). float32 and
    float64 (integer/boolean ``u`` become the default float, half precision is computed in float32).

    **Cost and memory.** Work ``O(L D N)``. The sequence is cut into chunks of ``chunk`` steps (default
    :func:`default_chunk`, about ``sqrt(L)``); a ``lax.scan`` over chunks carries the ``(D, N)`` state, and
    each chunk is ``jax.checkpoint``-ed so that reverse mode saves only the ``L/T`` chunk-boundary
    states and recomputes the states inside a chunk from its boundary (the scheme of axlearn's Mamba
    TPU kernel, in plain JAX). Peak memory, forward and backward: ``O(L D + (L/T) D N + T D N)``, never
    an ``(L, D, N)`` array (compare :func:`selective_scan_naive`). ``inner="sequential"`` (default)
    computes a chunk's ``exp(delta A)`` as one ``(T, D, N)`` block, then loops over its steps (one
    multiply-add and one ``(D, N) @ (N,)`` product each; workspace ``O(T D N)``); ``"associative"`` an
    associative scan over the chunk's ``(T, D, N)`` terms (more parallel, ``O(T D N log T)`` workspace in
    reverse mode).

    **Checks.** Shapes raise ``ValueError`` naming the argument at trace time; at run time (also under
    ``jit``) NaN/inf inputs, a negative ``delta`` or a positive ``A`` raise an error naming the argument.

    Reference: Gu & Dao, "Mamba: Linear-Time Sequence Modeling with Selective State Spaces", 2023
    (Algorithm 2, the selective scan).
    """
    check_choice(inner, "inner", ("sequential", "associative"))
    if not isinstance(return_state, bool):
        raise TypeError(f"`return_state` must be a bool, got {return_state!r}.")
    u, delta, A, B, C, D, h0, chunk = _check_args(u, delta, A, B, C, D, h0, discretization, chunk)
    L = u.shape[0]
    T = default_chunk(L) if chunk is None else min(chunk, L)
    y, h = _selective_scan(
        u, delta, A, B, C, D, h0, chunk=T, zoh=discretization == "zoh", inner=inner
    )
    return (y, h) if return_state else y


def selective_scan_naive(
    u: Real[ArrayLike, " L D"],
    delta: Real[ArrayLike, " L D"],
    A: Real[ArrayLike, " D N"],
    B: Real[ArrayLike, " L N"],
    C: Real[ArrayLike, " L N"],
    D: Real[ArrayLike, " D"] | None = None,
    *,
    h0: Real[ArrayLike, " D N"] | None = None,
    discretization: str = "euler",
    return_state: bool = False,
) -> Float[Array, " L D"] | tuple[Float[Array, " L D"], Float[Array, " D N"]]:
    r""":func:`selective_scan` computed the naive way: ``Abar`` and ``Bbar u`` materialised as ``(L, D, N)``
    arrays, then one ``lax.associative_scan`` over the whole sequence (as mamba-minimal-jax does).

    Same arguments, checks and result as :func:`selective_scan`. Memory ``O(L D N)`` forward and
    ``O(L D N log L)`` under reverse-mode autodiff: a reference for tests and a benchmark peer, not for
    long sequences.
    """
    if not isinstance(return_state, bool):
        raise TypeError(f"`return_state` must be a bool, got {return_state!r}.")
    u, delta, A, B, C, D, h0, _ = _check_args(u, delta, A, B, C, D, h0, discretization, None)
    a, b = _discretize(delta, A, B, u, discretization == "zoh")
    b = b.at[0].add(a[0] * h0)
    _, h = lax.associative_scan(_combine, (a, b), axis=0)
    y = jnp.einsum("tdn,tn->td", h, C)
    if D is not None:
        y = y + D * u
    return (y, h[-1]) if return_state else y


def selective_step(
    h: Real[ArrayLike, " D N"],
    u: Real[ArrayLike, " D"],
    delta: Real[ArrayLike, " D"],
    A: Real[ArrayLike, " D N"],
    B: Real[ArrayLike, " N"],
    C: Real[ArrayLike, " N"],
    D: Real[ArrayLike, " D"] | None = None,
    *,
    discretization: str = "euler",
) -> tuple[Float[Array, " D"], Float[Array, " D N"]]:
    r"""One step of :func:`selective_scan`: ``h' = exp(delta A) h + Bbar u``, ``y = h' C + D u``.

    Shapes: ``h`` ``(D, N)``, ``u`` and ``delta`` ``(D,)`` (one token), ``A`` ``(D, N)``, ``B`` and ``C``
    ``(N,)``, ``D`` ``(D,)`` or ``None``. Returns ``(y, h')``; stepping through a sequence from ``h0``
    reproduces :func:`selective_scan` row by row and its final state. Cost ``O(D N)``. The same checks
    as :func:`selective_scan` (shapes statically; NaN/inf, ``delta < 0`` and ``A > 0`` at run time).
    """
    h = as_array(h, "h")
    check_real(h, "h")
    h = check_finite(h, "h")
    u = as_array(u, "u")
    if u.ndim != 1:
        raise ValueError(f"`u` must have shape (D,) (one token), got {u.shape}.")
    delta, B, C = (as_array(x, n) for x, n in ((delta, "delta"), (B, "B"), (C, "C")))
    for x, n in ((delta, "delta"), (B, "B"), (C, "C")):
        if x.ndim != 1:
            raise ValueError(f"`{n}` must have one dimension, got shape {jnp.shape(x)}.")
    if h.ndim != 2:
        raise ValueError(f"`h` must have shape (D, N), got {h.shape}.")
    if h.shape[0] != u.shape[0] or h.shape[1] != B.shape[0]:
        raise ValueError(f"`h` must have shape ({u.shape[0]}, {B.shape[0]}) (D, N), got {h.shape}.")
    u2, delta2, A, B2, C2, D, h, _ = _check_args(
        u[None], delta[None], A, B[None], C[None], D, h,
        discretization, None,
    )  # fmt: skip
    a, b = _discretize(delta2[0], A, B2[0], u2[0], discretization == "zoh")
    h = a * h + b
    y = h @ C2[0]
    if D is not None:
        y = y + D * u2[0]
    return y, h
