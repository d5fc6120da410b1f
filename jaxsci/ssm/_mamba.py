"""Mamba: the selective-SSM block (S6 with a causal depthwise convolution and a SiLU gate) and a model.

Sequences are time-first, ``(L, d_model)``; batch with ``jax.vmap``. Streaming ``step`` methods consume one
``(d_model,)`` token and reproduce the parallel forward exactly.
"""

from __future__ import annotations

import math
from typing import final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import DTypeLike
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray, PyTree, Real

from .._checks import check_choice, check_positive_int, default_float_dtype
from ._layers import _as_float, _check_sequence
from ._selective import _DISCRETIZATIONS, _discretize, selective_scan
from ._util import check_key, check_real_scalar

__all__ = ["IO_KINDS", "MambaBlock", "MambaModel", "RMSNorm", "structured_io_factors"]

#: The parameterisations of ``S_B`` and ``S_C`` (the input-output blocks of ``x_proj``): ``None`` free;
#: ``"positive"`` makes ``S_C^T S_B`` positive semidefinite, ``"negative"`` negative semidefinite,
#: ``"mixed"`` indefinite (Vo et al. 2025, refinement 1 and its controls).
IO_KINDS = (None, "positive", "negative", "mixed")


def structured_io_factors(
    P: Float[Array, " n d"], d: Float[Array, " n"], kind: str = "positive"
) -> tuple[Float[Array, " n d"], Float[Array, " n d"]]:
    r"""``(S_B, S_C)`` with a definite input-output matrix ``S_C^T S_B`` (Vo et al., ICLR 2025, refinement 1).

    ``U`` is the strictly upper-triangular part of the free block ``P`` ``(N, d)`` plus a unit diagonal
    (so ``U`` has full row rank ``N``, ``N <= d``); ``S_C = U`` and ``S_B = diag(s) U`` with ``s`` =
    ``softplus(d) + 0.7`` (``kind="positive"``: ``S_C^T S_B = U^T diag(s) U`` is positive semidefinite of
    rank ``N``), ``-(softplus(d) + 0.7)`` (``"negative"``, the negative-definite control) or ``softplus(d)``
    times ``+1`` on the first ``N/2`` rows and ``-1`` on the rest (``"mixed"``, indefinite). Cost ``O(N d)``.
    """
    check_choice(kind, "kind", IO_KINDS[1:])
    if jnp.ndim(P) != 2 or P.shape[0] > P.shape[1] or P.shape[0] < 1:
        raise ValueError(f"`P` must have shape (N, d) with 1 <= N <= d, got {jnp.shape(P)}.")
    if jnp.shape(d) != (P.shape[0],):
        raise ValueError(f"`d` must have shape ({P.shape[0]},), got {jnp.shape(d)}.")
    N, width = P.shape
    U = jnp.triu(P, 1) + jnp.eye(N, width, dtype=P.dtype)
    sp = jax.nn.softplus(d)
    if kind == "positive":
        s = sp + 0.7
    elif kind == "negative":
        s = -(sp + 0.7)
    else:
        s = sp * jnp.where(jnp.arange(N) < N // 2, 1.0, -1.0).astype(sp.dtype)
    return s[:, None] * U, U


def _softsort(s, tau):
    sorted_s = jnp.sort(s)
    return jax.nn.softmax(-jnp.abs(sorted_s[:, None] - s[None, :]) / tau, axis=-1)


@final
class RMSNorm(eqx.Module):
    r"""``x / sqrt(mean(x^2) + eps) * weight`` over the last axis of one token ``(d,)``
    (Zhang & Sennrich 2019). Cost ``O(d)``."""

    weight: Float[Array, " d"]
    eps: float = eqx.field(static=True)

    def __init__(self, d: int, eps: float = 1e-5, *, dtype: DTypeLike | None = None):
        d = check_positive_int(d, "d")
        self.eps = check_real_scalar(eps, "eps")
        self.weight = jnp.ones((d,), default_float_dtype(dtype))

    def __call__(self, x: Float[Array, " d"]) -> Float[Array, " d"]:
        ms = jnp.mean(jnp.square(x), axis=-1, keepdims=True)
        return x * jax.lax.rsqrt(ms + self.eps) * self.weight


def _dt_bias(key, d_inner, dt_min, dt_max, floor, dtype):
    """``softplus^{-1}(dt)`` with ``dt`` log-uniform in ``[dt_min, dt_max]`` floored at ``floor``."""
    u = jax.random.uniform(key, (d_inner,), dtype)
    dt = jnp.exp(u * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
    dt = jnp.maximum(dt, floor)
    return dt + jnp.log(-jnp.expm1(-dt))


@final
class MambaBlock(eqx.Module):
    r"""The Mamba mixer (Gu & Dao 2023): ``(L, d_model) -> (L, d_model)``, time-first.

    ``x, z = in_proj(u)`` (``d_model -> 2 d_inner``, ``d_inner = expand d_model``); ``x <- SiLU(conv(x))``
    with a causal depthwise convolution of width ``d_conv``; ``(delta, B, C) = x_proj(x)`` (``dt_rank + 2N``
    outputs, no bias); ``Delta = softplus(dt_proj(delta))``; ``y = selective_scan(x, Delta, A, B, C, D)``
    with ``A = -exp(A_log)`` (S4D-real init ``A_log[:, n] = log(n + 1)``) and ``D = 1`` at init; output
    ``out_proj(y * SiLU(z))``. ``dt_proj``'s bias is ``softplus^{-1}(dt)``, ``dt`` log-uniform in
    ``[dt_min, dt_max]`` floored at ``dt_init_floor``; its weight uniform in ``+-dt_rank^{-1/2}``.

    **Token-dynamics refinements** (Vo, Pham, Tong, Nguyen, ICLR 2025): ``io`` parameterises the ``S_B``,
    ``S_C`` blocks of ``x_proj``'s weight through :func:`structured_io_factors` (``"positive"`` excludes
    the convergent scenario; ``"negative"`` and ``"mixed"`` are the controls; ``None`` free). ``reorder``
    reorders the tokens by importance before the scan: score ``s_l = k^T dt_proj(delta_l)`` (a learned map
    of the pre-softplus ``Delta``), ``x' = SoftSort_tau(s) x`` (and the gate ``z' = SoftSort(s) z``), then
    ``x_proj`` is re-applied to ``x'``; the output is not permuted back (non-causal: no streaming).

    **Arguments:** ``d_model``; ``d_state`` ``N`` (16); ``d_conv`` (4); ``expand`` (2); ``dt_rank``
    (``"auto"``: ``ceil(d_model / 16)``); ``dt_min``, ``dt_max``, ``dt_init_floor``; ``conv_bias`` (True);
    ``bias`` of ``in_proj``/``out_proj`` (False); ``io``; ``reorder``, ``tau``; ``discretization``
    (``"euler"`` as the official kernel, or ``"zoh"``); ``chunk`` of :func:`selective_scan`; ``dtype``;
    ``key``. Initialisable under ``jax.jit`` and ``eqx.filter_vmap`` over keys.

    ``__call__(u, *, key=None)``: ``u`` ``(L, d_model)`` -> ``(L, d_model)``. Cost ``O(L d_inner (N +
    d_model + dt_rank + d_conv))``; memory ``O(L d_inner + (L/T) d_inner N)`` forward and backward (the
    chunked scan). Streaming: :meth:`init_state`, :meth:`step` (convolution and SSM states).
    """

    in_proj: eqx.nn.Linear
    conv_weight: Float[Array, " d_inner d_conv"]
    conv_bias: Float[Array, " d_inner"] | None
    x_proj: eqx.nn.Linear
    dt_proj: eqx.nn.Linear
    A_log: Float[Array, " d_inner n"]
    D: Float[Array, " d_inner"]
    out_proj: eqx.nn.Linear
    score: Float[Array, " d_inner"] | None
    d_state: int = eqx.field(static=True)
    dt_rank: int = eqx.field(static=True)
    io: str | None = eqx.field(static=True)
    tau: float = eqx.field(static=True)
    discretization: str = eqx.field(static=True)
    chunk: int | None = eqx.field(static=True)

    def __init__(
        self,
        d_model: int,
        *,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        dt_rank: int | str = "auto",
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
        dt_init_floor: float = 1e-4,
        conv_bias: bool = True,
        bias: bool = False,
        io: str | None = None,
        reorder: bool = False,
        tau: float = 1.0,
        discretization: str = "euler",
        chunk: int | None = None,
        dtype: DTypeLike | None = None,
        key: PRNGKeyArray,
    ):
        d_model = check_positive_int(d_model, "d_model")
        d_state = check_positive_int(d_state, "d_state")
        d_conv = check_positive_int(d_conv, "d_conv")
        expand = check_positive_int(expand, "expand")
        if dt_rank == "auto":
            dt_rank = math.ceil(d_model / 16)
        dt_rank = check_positive_int(dt_rank, "dt_rank")
        for v, n in ((dt_min, "dt_min"), (dt_max, "dt_max"), (dt_init_floor, "dt_init_floor")):
            check_real_scalar(v, n)
        if dt_min > dt_max:
            raise ValueError(f"`dt_min` must be <= `dt_max`, got {dt_min} > {dt_max}.")
        check_real_scalar(tau, "tau")
        check_choice(io, "io", IO_KINDS)
        check_choice(discretization, "discretization", _DISCRETIZATIONS)
        if chunk is not None:
            chunk = check_positive_int(chunk, "chunk")
        for v, n in ((conv_bias, "conv_bias"), (bias, "bias"), (reorder, "reorder")):
            if not isinstance(v, bool):
                raise TypeError(f"`{n}` must be a bool, got {v!r}.")
        check_key(key)
        dtype = default_float_dtype(dtype)
        d_inner = expand * d_model
        if io is not None and d_state > d_inner:
            raise ValueError(
                f"`io`={io!r} needs `d_state` <= d_inner = {d_inner}, got d_state={d_state}."
            )
        k = jax.random.split(key, 8)
        self.in_proj = eqx.nn.Linear(d_model, 2 * d_inner, use_bias=bias, key=k[0], dtype=dtype)
        bound = 1 / math.sqrt(d_conv)  # PyTorch's Conv1d init, fan-in = d_conv (depthwise)
        self.conv_weight = jax.random.uniform(k[1], (d_inner, d_conv), dtype, -bound, bound)
        self.conv_bias = (
            jax.random.uniform(k[2], (d_inner,), dtype, -bound, bound) if conv_bias else None
        )
        self.x_proj = eqx.nn.Linear(
            d_inner, dt_rank + 2 * d_state, use_bias=False, key=k[3], dtype=dtype
        )
        dt_proj = eqx.nn.Linear(dt_rank, d_inner, key=k[4], dtype=dtype)
        std = dt_rank**-0.5
        w = jax.random.uniform(k[5], (d_inner, dt_rank), dtype, -std, std)
        b = _dt_bias(k[6], d_inner, dt_min, dt_max, dt_init_floor, dtype)
        self.dt_proj = eqx.tree_at(lambda m: (m.weight, m.bias), dt_proj, (w, b))
        A_log = np.log(np.arange(1, d_state + 1, dtype=np.float64))  # host, no key
        self.A_log = jnp.asarray(np.tile(A_log, (d_inner, 1)), dtype)
        self.D = jnp.ones((d_inner,), dtype)
        self.out_proj = eqx.nn.Linear(d_inner, d_model, use_bias=bias, key=k[7], dtype=dtype)
        self.score = (
            jax.random.normal(jax.random.fold_in(key, 1), (d_inner,), dtype) / math.sqrt(d_inner)
            if reorder
            else None
        )
        self.d_state = d_state
        self.dt_rank = dt_rank
        self.io = io
        self.tau = float(tau)
        self.discretization = discretization
        self.chunk = chunk

    def __check_init__(self):
        check_choice(self.io, "io", IO_KINDS)
        if self.A_log.shape != (self.D.shape[0], self.d_state):
            raise ValueError(
                f"`A_log` must have shape {(self.D.shape[0], self.d_state)}, got {self.A_log.shape}."
            )

    @property
    def d_model(self) -> int:
        return self.in_proj.in_features

    @property
    def d_inner(self) -> int:
        return self.D.shape[0]

    @property
    def reorder(self) -> bool:
        return self.score is not None

    def x_proj_weight(self) -> Float[Array, " r d_inner"]:
        """The effective ``x_proj`` weight ``[S_delta; S_B; S_C]`` ``(dt_rank + 2N, d_inner)``: the free
        weight, or with ``io`` set, ``S_B``/``S_C`` from :func:`structured_io_factors` of its rows
        ``dt_rank : dt_rank + N`` (the free block ``P``) and column 0 of its last ``N`` rows (``d``)."""
        W = self.x_proj.weight
        if self.io is None:
            return W
        R, N = self.dt_rank, self.d_state
        S_B, S_C = structured_io_factors(W[R : R + N], W[R + N :, 0], self.io)
        return jnp.concatenate([W[:R], S_B, S_C], axis=0)

    def io_factors(self) -> tuple[Float[Array, " n d_inner"], Float[Array, " n d_inner"]]:
        """``(S_B, S_C)``: ``B_t = S_B x_t``, ``C_t = S_C x_t`` (the paper's notation)."""
        W = self.x_proj_weight()
        R, N = self.dt_rank, self.d_state
        return W[R : R + N], W[R + N :]

    def A(self) -> Float[Array, " d_inner n"]:
        """``A = -exp(A_log)`` ``(d_inner, N)``."""
        return -jnp.exp(self.A_log)

    def _conv(self, x):
        K = self.conv_weight.shape[1]
        xp = jnp.pad(x, ((K - 1, 0), (0, 0)))
        L = x.shape[0]
        y = sum(xp[k : k + L] * self.conv_weight[:, k] for k in range(K))
        return y if self.conv_bias is None else y + self.conv_bias

    def _project(self, x):
        W = self.x_proj_weight()
        proj = x @ W.T
        R, N = self.dt_rank, self.d_state
        delta_pre = proj[..., :R] @ self.dt_proj.weight.T + self.dt_proj.bias
        return delta_pre, proj[..., R : R + N], proj[..., R + N :]

    def permutation(self, u: Float[Array, " l d_model"]) -> Float[Array, " l l"]:
        """The soft permutation ``SoftSort_tau(s)`` ``(L, L)`` of the reordering (``reorder=True``)."""
        if not self.reorder:
            raise ValueError("this block was built with `reorder`=False: no permutation")
        x, _ = self._inner(u)
        delta_pre, _, _ = self._project(x)
        return _softsort(delta_pre @ self.score, self.tau)

    def _inner(self, u):
        xz = u @ self.in_proj.weight.T
        if self.in_proj.bias is not None:
            xz = xz + self.in_proj.bias
        x, z = jnp.split(xz, 2, axis=-1)
        return jax.nn.silu(self._conv(x)), z

    def __call__(
        self, u: Real[Array, " l d_model"] | Bool[Array, " l d_model"], *, key=None
    ) -> Float[Array, " l d_model"]:
        del key
        u = _as_float(u, self.D.dtype)
        u = _check_sequence(u, self.d_model)
        x, z = self._inner(u)
        if self.reorder:
            delta_pre, _, _ = self._project(x)
            P = _softsort(delta_pre @ self.score, self.tau)
            x, z = P @ x, P @ z
        delta_pre, B, C = self._project(x)
        y = selective_scan(
            x,
            jax.nn.softplus(delta_pre),
            self.A(),
            B,
            C,
            self.D,
            chunk=self.chunk,
            discretization=self.discretization,
        )
        y = y * jax.nn.silu(z)
        out = y @ self.out_proj.weight.T
        return out if self.out_proj.bias is None else out + self.out_proj.bias

    def init_state(self) -> tuple[Float[Array, " k d_inner"], Float[Array, " d_inner n"]]:
        """The zero streaming state: the last ``d_conv - 1`` convolution inputs and the SSM state."""
        dtype = self.D.dtype
        K = self.conv_weight.shape[1]
        return jnp.zeros((K - 1, self.d_inner), dtype), jnp.zeros(
            (self.d_inner, self.d_state), dtype
        )

    def step(
        self, state: tuple[Array, Array], u: Real[Array, " d_model"]
    ) -> tuple[Float[Array, " d_model"], tuple[Array, Array]]:
        """One token ``u`` ``(d_model,)``: returns ``(y_t, state)``; ``y_t`` equals row ``t`` of
        ``__call__`` on the sequence so far. Cost ``O(d_inner (N + d_model + d_conv))``."""
        if self.reorder:
            raise ValueError("a block with `reorder`=True is not causal: it has no streaming step")
        u = _as_float(u, self.D.dtype)
        if u.shape != (self.d_model,):
            raise ValueError(f"`u` must have shape ({self.d_model},) (one token), got {u.shape}.")
        conv_state, h = state
        xz = self.in_proj(u)
        x, z = jnp.split(xz, 2)
        window = jnp.concatenate([conv_state, x[None]], axis=0)  # (d_conv, d_inner)
        xc = jnp.sum(window.T * self.conv_weight, axis=1)
        if self.conv_bias is not None:
            xc = xc + self.conv_bias
        xc = jax.nn.silu(xc)
        delta_pre, B, C = self._project(xc)
        a, b = _discretize(
            jax.nn.softplus(delta_pre), self.A(), B, xc, self.discretization == "zoh"
        )
        h = a * h + b
        y = (h @ C + self.D * xc) * jax.nn.silu(z)
        return self.out_proj(y), (window[1:], h)


@final
class _ResidualBlock(eqx.Module):
    norm: RMSNorm
    mixer: MambaBlock

    def __call__(self, x):
        return x + self.mixer(jax.vmap(self.norm)(x))

    def step(self, state, x):
        y, state = self.mixer.step(state, self.norm(x))
        return x + y, state


@final
class MambaModel(eqx.Module):
    r"""A Mamba language/sequence model: embedding or linear encoder -> ``n_layers`` pre-RMSNorm residual
    :class:`MambaBlock` s (``x + Mamba(RMSNorm(x))``) -> RMSNorm -> pooling -> linear head.

    **Arguments:** ``d_input`` (the input features, or the vocabulary size with ``embedding=True``: then
    ``x`` is an integer token sequence ``(L,)``); ``d_output``; ``d_model`` (64); ``n_layers`` (2);
    ``pool`` in ``{"mean", "last", None}`` (``None``: per-token outputs ``(L, d_output)``);
    ``reorder``: token reordering in the first block only (Vo et al. 2025: "the first block of a stage");
    ``dtype``; ``key``; further keywords (``d_state``, ``io``, ``expand``, ``chunk``, ...) go to every
    :class:`MambaBlock`.

    ``__call__(x, *, key=None)``: one sample, time-first. Streaming: :meth:`init_state` and
    :meth:`step` (one token), equal to the parallel forward on the prefix (``pool`` as
    :class:`SSMModel`; not with ``reorder``).
    """

    encoder: eqx.nn.Linear | eqx.nn.Embedding
    blocks: tuple[_ResidualBlock, ...]
    norm_f: RMSNorm
    head: eqx.nn.Linear
    pool: str | None = eqx.field(static=True)

    def __init__(
        self,
        d_input: int,
        d_output: int,
        *,
        d_model: int = 64,
        n_layers: int = 2,
        embedding: bool = False,
        pool: str | None = "mean",
        reorder: bool = False,
        dtype: DTypeLike | None = None,
        key: PRNGKeyArray,
        **block_kwargs,
    ):
        d_input = check_positive_int(d_input, "d_input")
        d_output = check_positive_int(d_output, "d_output")
        d_model = check_positive_int(d_model, "d_model")
        n_layers = check_positive_int(n_layers, "n_layers")
        check_choice(pool, "pool", ("mean", "last", None))
        if not isinstance(embedding, bool):
            raise TypeError(f"`embedding` must be a bool, got {embedding!r}.")
        check_key(key)
        dtype = default_float_dtype(dtype)
        keys = jax.random.split(key, n_layers + 2)
        if embedding:
            self.encoder = eqx.nn.Embedding(d_input, d_model, key=keys[0], dtype=dtype)
        else:
            self.encoder = eqx.nn.Linear(d_input, d_model, key=keys[0], dtype=dtype)
        self.blocks = tuple(
            _ResidualBlock(
                RMSNorm(d_model, dtype=dtype),
                MambaBlock(
                    d_model,
                    reorder=reorder and i == 0,
                    dtype=dtype,
                    key=keys[2 + i],
                    **block_kwargs,
                ),
            )
            for i in range(n_layers)
        )
        self.norm_f = RMSNorm(d_model, dtype=dtype)
        self.head = eqx.nn.Linear(d_model, d_output, key=keys[1], dtype=dtype)
        self.pool = pool

    @property
    def embedding(self) -> bool:
        return isinstance(self.encoder, eqx.nn.Embedding)

    def _encode(self, x, name="x"):
        if self.embedding:
            x = jnp.asarray(x)
            if not jnp.issubdtype(x.dtype, jnp.integer):
                raise TypeError(f"`{name}` must hold integer token ids, got dtype {x.dtype}.")
            return x
        return _as_float(x, self.head.weight.dtype, name)

    def __call__(
        self, x: Int[Array, " l"] | Real[Array, " l d_in"], *, key: PRNGKeyArray | None = None
    ) -> Float[Array, " d_out"] | Float[Array, " l d_out"]:
        del key
        x = self._encode(x)
        if self.embedding:
            if x.ndim != 1 or x.shape[0] < 1:
                raise ValueError(
                    f"`x` must be a token sequence of shape (L,), L >= 1, got {x.shape}."
                )
            h = self.encoder.weight[x]
        else:
            x = _check_sequence(x, self.encoder.in_features, "x")
            h = jax.vmap(self.encoder)(x)
        for blk in self.blocks:
            h = blk(h)
        h = jax.vmap(self.norm_f)(h)
        if self.pool == "mean":
            return self.head(jnp.mean(h, axis=0))
        if self.pool == "last":
            return self.head(h[-1])
        return jax.vmap(self.head)(h)

    def init_state(
        self,
    ) -> tuple[tuple[PyTree[Array], ...], Float[Array, " d_model"], Int[Array, ""]]:
        """``(block states, running sum of the normalised outputs, tokens seen)``."""
        d_model = self.head.in_features
        return (
            tuple(b.mixer.init_state() for b in self.blocks),
            jnp.zeros((d_model,), self.head.weight.dtype),
            jnp.zeros((), jnp.int32),
        )

    def step(self, state: tuple, x: Int[Array, ""] | Real[Array, " d_in"]) -> tuple[Array, tuple]:
        """One token (an id with ``embedding=True``, else ``(d_input,)``): ``(y_t, state)``, ``y_t`` the
        model's output on the prefix ending here (see the class docstring)."""
        x = self._encode(x)
        h = self.encoder.weight[x] if self.embedding else self.encoder(x)
        states, total, count = state
        new = []
        for blk, s in zip(self.blocks, states, strict=True):
            h, s = blk.step(s, h)
            new.append(s)
        h = self.norm_f(h)
        total, count = total + h, count + 1
        pooled = total / count.astype(total.dtype) if self.pool == "mean" else h
        return self.head(pooled), (tuple(new), total, count)
