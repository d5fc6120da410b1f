r"""SpaceTime layers (Equinox): companion, shift, fixed pre-processing and closed-loop SSMs, the forecaster.

Sequences are time-first ``(L, H)``; kernels channels-first ``(H, L)``. Every layer's ``step`` reproduces
its convolutional ``__call__`` (the recurrence ``x_t = A x_{t-1} + b u_t``, ``y_t = c x_t + D u_t``).

Decisions against the reference code (``HazyResearch/spacetime``; see ``references/ssm-companion.md``):

- L1 normalisation divides by ``max(||a||_1, 1)`` (a projection onto the L1 ball) instead of by
  ``||a||_1``: every eigenvalue stays in the closed unit disc (Cauchy's bound) and AR coefficients with
  ``||phi||_1 < 1`` remain representable; ``norm=False`` disables it.
- The closed-loop layer uses the same (normalised) ``a``, ``b``, ``k`` for the lag state, the
  rollout and the next-input read-out (the reference mixes raw and normalised vectors).
- The moving-average residual kernel is the moving-average residual (the reference's stand-alone class
  returns the identity kernel).
- Kernels use the O((d + L) log(d + L)) algorithm of :func:`companion_kernel`, never a Krylov matrix.

Reference: Zhang, Saab, Poli, Dao, Goel, Ré, SpaceTime, ICLR 2023 (arXiv 2303.09489).
"""

from __future__ import annotations

from math import comb
from typing import final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import DTypeLike
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray, PyTree, Real

from .._checks import check_positive_int, check_range, default_float_dtype
from ._companion import (
    _closed_loop,
    _kernel_c_tilde,
    _kernel_shifted,
    _state,
    companion_c_from_tilde,
)
from ._kernel import _conv
from ._layers import _as_float, _check_sequence, _params_finite
from ._util import check_key, check_real_scalar

__all__ = [
    "ClosedLoopCompanionSSM",
    "CompanionSSM",
    "PreprocessSSM",
    "ShiftSSM",
    "SpaceTime",
    "spacetime_loss",
]


def _l1_project(a):
    """``a / max(||a||_1, 1)`` per row: ``||a||_1 <= 1``, so ``|lambda| <= 1`` for every eigenvalue."""
    return a / jnp.maximum(jnp.sum(jnp.abs(a), axis=-1, keepdims=True), 1.0)


def _kernels(a, b, c, L, c_tilde):
    """Companion kernels of rows ``(n, d)``: ``(n, L)``."""
    if c_tilde:
        return jax.vmap(lambda a, b, c: _kernel_c_tilde(a, b, c, L))(a, b, c)
    return jax.vmap(lambda a, b, c: _kernel_shifted(a, b, c, L))(a, b, c)


def _companion_apply(a, x):
    """``A x`` for ``A = S + a e_d^T`` (rows of ``a`` and ``x`` ``(..., d)``): ``O(d)``."""
    shifted = jnp.concatenate([jnp.zeros_like(x[..., :1]), x[..., :-1]], axis=-1)
    return shifted + a * x[..., -1:]


def _check_common(H, d, key, dtype):
    H = check_positive_int(H, "H")
    d = check_positive_int(d, "d")
    check_key(key)
    return H, d, default_float_dtype(dtype)


@final
class CompanionSSM(eqx.Module):
    r"""Companion SSMs, one kernel per ``kernel_repeat`` channels: ``y = K * u + D u`` with
    ``K_k = c A^k b``, ``A = S + a e_d^T`` (:func:`companion_kernel`).

    **Arguments:** ``H`` channels; ``d`` the state size (default 64); ``kernel_repeat`` channels share a
    kernel (``H`` divisible by it; ``H / kernel_repeat`` kernels, e.g. 16 kernels x 8 heads); ``skip`` a
    trained ``D`` ``(H,)``; ``norm`` the L1 projection of ``a`` (eigenvalues in the closed unit disc);
    ``c_tilde_length``: ``None`` trains ``c`` itself (any length; the default kernel of :func:`companion_kernel`), or an
    ``L`` at which ``c`` holds ``c~ = c (I - A^L)`` (the S4/SpaceTime training parameterisation: the kernel at
    that length skips ``c A^L``; other lengths and ``step`` convert back with
    :func:`companion_c_from_tilde`). ``a``, ``b``, ``c`` are standard normal (``c`` scaled by
    ``1/sqrt(d)``), ``D`` standard normal.

    ``__call__(u, *, key=None)``: ``(L, H)`` → ``(L, H)``. Cost ``O(n (d + L) log(d + L) + H L log L)``,
    memory ``O(n (d + L) + H L)``. Streaming: :meth:`init_state` ``(H, d)`` and :meth:`step`, equal to
    ``__call__`` (cost ``O(H d)`` per token).
    """

    a: Float[Array, " n d"]
    b: Float[Array, " n d"]
    c: Float[Array, " n d"]
    D: Float[Array, " h"] | None
    kernel_repeat: int = eqx.field(static=True)
    norm: bool = eqx.field(static=True)
    c_tilde_length: int | None = eqx.field(static=True)

    def __init__(
        self,
        H: int,
        d: int = 64,
        *,
        kernel_repeat: int = 1,
        skip: bool = True,
        norm: bool = True,
        c_tilde_length: int | None = None,
        dtype: DTypeLike | None = None,
        key: PRNGKeyArray,
    ):
        H, d, dtype = _check_common(H, d, key, dtype)
        kernel_repeat = check_positive_int(kernel_repeat, "kernel_repeat")
        if H % kernel_repeat:
            raise ValueError(f"`kernel_repeat` must divide `H` = {H}, got {kernel_repeat}.")
        if c_tilde_length is not None:
            c_tilde_length = check_positive_int(c_tilde_length, "c_tilde_length")
        n = H // kernel_repeat
        ka, kb, kc, kD = jax.random.split(key, 4)
        self.a = jax.random.normal(ka, (n, d), dtype)
        self.b = jax.random.normal(kb, (n, d), dtype)
        self.c = jax.random.normal(kc, (n, d), dtype) * (1.0 / d**0.5)
        self.D = jax.random.normal(kD, (H,), dtype) if skip else None
        self.kernel_repeat = kernel_repeat
        self.norm = bool(norm)
        self.c_tilde_length = c_tilde_length

    def __check_init__(self):
        if self.a.ndim != 2 or self.b.shape != self.a.shape or self.c.shape != self.a.shape:
            raise ValueError(
                f"`a`, `b`, `c` must have one shape (n, d), got {self.a.shape}, {self.b.shape}, "
                f"{self.c.shape}."
            )

    @property
    def H(self) -> int:
        return self.a.shape[0] * self.kernel_repeat

    def ssm(self) -> tuple[Float[Array, " n d"], Float[Array, " n d"], Float[Array, " n d"]]:
        """``(a, b, c)`` with ``a`` normalised and ``c`` the output vector (converted from ``c~``)."""
        a = _l1_project(self.a) if self.norm else self.a
        c = self.c
        if self.c_tilde_length is not None:
            c = jax.vmap(lambda a, c: companion_c_from_tilde(a, c, self.c_tilde_length))(a, c)
        return a, self.b, c

    def kernel(self, L: int) -> Float[Array, " h l"]:
        """The kernels ``(H, L)`` (each of the ``H / kernel_repeat`` kernels repeated)."""
        L = check_positive_int(L, "L")
        a = _l1_project(self.a) if self.norm else self.a
        if self.c_tilde_length == L:
            K = _kernels(a, self.b, self.c, L, True)
        else:
            a, b, c = self.ssm()
            K = _kernels(a, b, c, L, False)
        K = jnp.repeat(K, self.kernel_repeat, axis=0)
        return _params_finite(K, "CompanionSSM")

    def __call__(
        self, u: Real[ArrayLike, " l h"], *, key: PRNGKeyArray | None = None
    ) -> Float[Array, " l h"]:
        del key
        u = _check_sequence(_as_float(u, self.a.dtype), self.H)
        K = self.kernel(u.shape[0])
        return _conv(u.astype(K.dtype), K, self.D, False)

    def init_state(self) -> Float[Array, " h d"]:
        return jnp.zeros((self.H, self.a.shape[1]), self.a.dtype)

    def step(
        self, x: Float[Array, " h d"], u: Real[ArrayLike, " h"]
    ) -> tuple[Float[Array, " h"], Float[Array, " h d"]]:
        """``x_t = A x_{t-1} + b u_t``, ``y_t = c x_t + D u_t`` for one token ``u`` ``(H,)``."""
        u = _as_float(u, self.a.dtype)
        if u.shape != (self.H,):
            raise ValueError(f"`u` must have shape ({self.H},) (one token), got {u.shape}.")
        a, b, c = (jnp.repeat(v, self.kernel_repeat, axis=0) for v in self.ssm())
        x = _companion_apply(a, x) + b * u[:, None]
        y = jnp.sum(c * x, axis=-1)
        return (y if self.D is None else y + self.D * u), x


class _FIR(eqx.Module):
    """Shared streaming of FIR (shift) SSMs: the state holds the last ``d`` inputs (``A = S``, ``b = e_1``)."""

    def _taps(self):
        raise NotImplementedError

    def kernel(self, L: int) -> Float[Array, " h l"]:
        """The FIR kernels ``(H, L)`` (taps truncated or zero-padded to ``L``)."""
        L = check_positive_int(L, "L")
        taps = self._taps()
        w = taps.shape[1]
        if w >= L:
            return taps[:, :L]
        return jnp.concatenate([taps, jnp.zeros((taps.shape[0], L - w), taps.dtype)], axis=1)

    def init_state(self) -> Float[Array, " h d"]:
        taps = self._taps()
        return jnp.zeros(taps.shape, taps.dtype)

    def step(
        self, x: Float[Array, " h d"], u: Real[ArrayLike, " h"]
    ) -> tuple[Float[Array, " h"], Float[Array, " h d"]]:
        """Push ``u`` ``(H,)`` into the delay line ``x``; ``y_t = sum_j taps_j u_{t-j}``."""
        taps = self._taps()
        u = _as_float(u, taps.dtype)
        if u.shape != (taps.shape[0],):
            raise ValueError(f"`u` must have shape ({taps.shape[0]},) (one token), got {u.shape}.")
        x = jnp.concatenate([u[:, None], x[:, :-1]], axis=1)
        return jnp.sum(taps * x, axis=1), x

    def __call__(
        self, u: Real[ArrayLike, " l h"], *, key: PRNGKeyArray | None = None
    ) -> Float[Array, " l h"]:
        del key
        taps = self._taps()
        u = _check_sequence(_as_float(u, taps.dtype), taps.shape[0])
        return _conv(u.astype(taps.dtype), self.kernel(u.shape[0]), None, False)


@final
class ShiftSSM(_FIR):
    r"""The shift SSM: ``a = 0`` and ``b = e_1`` frozen, ``c`` trained, so ``K_k = c_k`` for ``k < d`` and 0
    after (an FIR filter of length ``d`` per channel). ``__call__``: ``(L, H)`` → ``(L, H)``; ``step`` as
    :class:`CompanionSSM`. ``c`` is standard normal scaled by ``1/sqrt(d)``."""

    c: Float[Array, " h d"]

    def __init__(self, H: int, d: int = 64, *, dtype: DTypeLike | None = None, key: PRNGKeyArray):
        H, d, dtype = _check_common(H, d, key, dtype)
        self.c = jax.random.normal(key, (H, d), dtype) * (1.0 / d**0.5)

    def _taps(self):
        return self.c


def _differencing_taps(order: int) -> list[float]:
    """Row ``order`` of Pascal's triangle with alternating signs: ``(1 - z)^order``."""
    return [(-1.0) ** j * comb(order, j) for j in range(order + 1)]


def _ma_residual_taps(window: int) -> list[float]:
    """``y_t = u_t - mean(u_{t-w+1..t})``."""
    taps = [-1.0 / window] * window
    taps[0] += 1.0
    return taps


@final
class PreprocessSSM(_FIR):
    r"""Fixed pre-processing SSMs: differencing of orders 0–3 (``(1 - z)^p``: ``[1]``, ``[1, -1]``,
    ``[1, -2, 1]``, ``[1, -3, 3, -1]``) and moving-average residuals ``y_t = u_t - mean(u_{t-w+1..t})``.

    **Arguments:** ``H`` channels; ``diff_orders`` (each in 0..3) and ``ma_windows`` (each ``>= 1``) list
    the fixed kernels, repeated cyclically over the channels (channel ``h`` uses kernel ``h mod n``);
    the SpaceTime default is 4 differencing and 4 moving-average kernels (windows drawn in [4, 64] in the
    reference; fixed here so that the module has no key). Nothing is trained: the taps are static.
    ``__call__``: ``(L, H)`` → ``(L, H)`` (a causal FIR convolution); ``step`` from :meth:`init_state`
    (a delay line of the longest kernel).
    """

    taps: tuple[tuple[float, ...], ...] = eqx.field(static=True)
    dtype: str = eqx.field(static=True)

    def __init__(
        self,
        H: int,
        *,
        diff_orders: tuple[int, ...] = (0, 1, 2, 3),
        ma_windows: tuple[int, ...] = (4, 12, 24, 48),
        dtype: DTypeLike | None = None,
    ):
        H = check_positive_int(H, "H")
        dtype = default_float_dtype(dtype)
        kernels = []
        for p in diff_orders:
            p = check_positive_int(p, "diff_orders", minimum=0)
            if p > 3:
                raise ValueError(f"`diff_orders` must lie in 0..3, got {p}.")
            kernels.append(_differencing_taps(p))
        for w in ma_windows:
            kernels.append(_ma_residual_taps(check_positive_int(w, "ma_windows")))
        if not kernels:
            raise ValueError("`diff_orders` and `ma_windows` must not both be empty.")
        width = max(len(k) for k in kernels)
        rows = [kernels[h % len(kernels)] for h in range(H)]
        self.taps = tuple(tuple(r + [0.0] * (width - len(r))) for r in rows)
        self.dtype = jnp.dtype(dtype).name

    def _taps(self):
        return jnp.asarray(np.array(self.taps), self.dtype)


@final
class ClosedLoopCompanionSSM(eqx.Module):
    r"""The closed-loop companion SSM: encodes a lag window and forecasts ``horizon`` steps by predicting
    its own next inputs.

    Per channel (``H`` kernels, state size ``d``): the lag state ``x_0 = sum_{t<l} A^{l-1-t} b u_t``
    (:func:`companion_state`), then ``x_{j+1} = (A + b k^T) x_j`` (the input fed back is
    ``uhat_j = k x_j``) and ``y_j = c x_j`` for ``j = 1..horizon`` (:func:`companion_closed_loop`, by
    Woodbury and a power series: no ``d x horizon`` Krylov matrix). ``a``, ``b``, ``c``, ``k`` are L1
    projected when ``norm`` (``a`` for ``|lambda(A)| <= 1``; ``b``, ``c``, ``k`` to keep ``b k^T`` small, as
    the reference normalises all four). No skip.

    ``__call__(u, *, key=None)``: ``u`` ``(l, H)`` → forecast ``(horizon, H)``; :meth:`outputs` also returns
    the next-input predictions ``(horizon, H)`` and the open-loop outputs over the lag
    ``y_t = c x_t`` and ``uhat_t = k x_t`` ``(l, H)`` (the training signals). :meth:`init_state` /
    :meth:`step` roll the forecast one step at a time, equal to ``__call__``.
    Cost ``O(H (d + l + horizon) log(d + l + horizon))``.
    """

    a: Float[Array, " h d"]
    b: Float[Array, " h d"]
    c: Float[Array, " h d"]
    k: Float[Array, " h d"]
    horizon: int = eqx.field(static=True)
    norm: bool = eqx.field(static=True)

    def __init__(
        self,
        H: int,
        d: int = 64,
        *,
        horizon: int,
        norm: bool = True,
        dtype: DTypeLike | None = None,
        key: PRNGKeyArray,
    ):
        H, d, dtype = _check_common(H, d, key, dtype)
        self.horizon = check_positive_int(horizon, "horizon")
        keys = jax.random.split(key, 4)
        self.a, self.b, self.c, self.k = (jax.random.normal(k, (H, d), dtype) for k in keys)
        self.norm = bool(norm)

    def ssm(self):
        """``(a, b, c, k)`` as used (L1 projected when ``norm``)."""
        vs = (self.a, self.b, self.c, self.k)
        return tuple(_l1_project(v) for v in vs) if self.norm else vs

    def outputs(
        self, u: Real[ArrayLike, " l h"], *, key: PRNGKeyArray | None = None
    ) -> dict[str, Float[Array, "..."]]:
        """``{"y": (horizon, H), "uhat": (horizon, H), "y_lag": (l, H), "uhat_lag": (l, H)}``."""
        del key
        H = self.a.shape[0]
        u = _check_sequence(_as_float(u, self.a.dtype), H)
        a, b, c, k = self.ssm()
        x0 = jax.vmap(_state)(a, b, u.T.astype(a.dtype))  # (H, d)
        rows = jnp.stack([c, k], axis=1)  # (H, 2, d)
        fc = jax.vmap(lambda a, b, W, k, x0: _closed_loop(a, b, W, k, x0, self.horizon))(
            a, b, rows, k, x0
        )  # (H, 2, horizon)
        L = u.shape[0]
        # the c and k kernels share (a, b): one batched kernel call (half the compiled program)
        two = lambda v: jnp.concatenate([v, v])  # noqa: E731
        K = _kernels(two(a), two(b), jnp.concatenate([c, k]), L, False).reshape(2, H, L)
        lag = jax.vmap(lambda K: _conv(u.astype(K.dtype), K, None, False))(K)  # (2, L, H)
        out = {"y": fc[:, 0].T, "uhat": fc[:, 1].T, "y_lag": lag[0], "uhat_lag": lag[1]}
        return jax.tree.map(lambda x: _params_finite(x, "ClosedLoopCompanionSSM"), out)

    def __call__(
        self, u: Real[ArrayLike, " l h"], *, key: PRNGKeyArray | None = None
    ) -> Float[Array, " horizon h"]:
        return self.outputs(u, key=key)["y"]

    def init_state(self, u: Real[ArrayLike, " l h"]) -> Float[Array, " h d"]:
        """The lag state ``x_0`` ``(H, d)`` after the window ``u`` ``(l, H)``."""
        u = _check_sequence(_as_float(u, self.a.dtype), self.a.shape[0])
        a, b, _, _ = self.ssm()
        return jax.vmap(_state)(a, b, u.T.astype(a.dtype))

    def step(
        self, x: Float[Array, " h d"]
    ) -> tuple[Float[Array, " h"], Float[Array, " h"], Float[Array, " h d"]]:
        """One closed-loop step: ``x' = A x + b (k x)``; returns ``(c x', k x', x')``."""
        a, b, c, k = self.ssm()
        x = _companion_apply(a, x) + b * jnp.sum(k * x, axis=-1, keepdims=True)
        return jnp.sum(c * x, -1), jnp.sum(k * x, -1), x


class _MLP(eqx.Module):
    linear: eqx.nn.Linear
    dropout: eqx.nn.Dropout

    def __call__(self, z, key):
        h = jax.nn.gelu(jax.vmap(self.linear)(z))
        return z + self.dropout(h, key=key, inference=key is None)


class _Block(eqx.Module):
    pre: PreprocessSSM | None
    ssm: CompanionSSM
    mlp: _MLP

    def __call__(self, z, key):
        if self.pre is not None:
            z = self.pre(z)
        return self.mlp(self.ssm(z), key)


@final
class SpaceTime(eqx.Module):
    r"""The SpaceTime forecaster (univariate): lag window ``(l,)`` → forecast ``(horizon,)``.

    Architecture (the reference defaults in brackets): the per-window mean is removed (the "mean" data
    transform) and added back; the scalar series is repeated to ``H`` channels [128]; encoder block 0 =
    :class:`PreprocessSSM` → :class:`CompanionSSM` (``H / kernel_repeat`` kernels [16 x 8 heads], state
    ``d`` [64], skip) → MLP (``z + Dropout(GELU(W z))``, ``H → H``); ``n_blocks - 1`` further encoder
    blocks without pre-processing; decoder :class:`ClosedLoopCompanionSSM` (``d``, no skip); output
    linear ``H → 1`` per time step. ``dropout`` [0.25] is active only when a ``key`` is given.

    ``__call__(x, *, key=None)``: ``(l,)`` → ``(horizon,)``. :meth:`outputs` returns the three training
    signals for :func:`spacetime_loss`, and :meth:`training_view` a module whose call returns them (for
    :func:`jaxsci.training.make_train_step`).
    """

    blocks: tuple[_Block, ...]
    decoder: ClosedLoopCompanionSSM
    output: eqx.nn.Linear
    H: int = eqx.field(static=True)

    def __init__(
        self,
        horizon: int,
        *,
        H: int = 128,
        d: int = 64,
        n_blocks: int = 1,
        kernel_repeat: int = 8,
        dropout: float = 0.25,
        diff_orders: tuple[int, ...] = (0, 1, 2, 3),
        ma_windows: tuple[int, ...] = (4, 12, 24, 48),
        dtype: DTypeLike | None = None,
        key: PRNGKeyArray,
    ):
        H, d, dtype = _check_common(H, d, key, dtype)
        horizon = check_positive_int(horizon, "horizon")
        n_blocks = check_positive_int(n_blocks, "n_blocks")
        check_real_scalar(dropout, "dropout", positive=False)
        check_range(dropout, "dropout", 0.0, 1.0, closed="left")
        keys = jax.random.split(key, 2 * n_blocks + 2)
        blocks = []
        for i in range(n_blocks):
            pre = (
                PreprocessSSM(H, diff_orders=diff_orders, ma_windows=ma_windows, dtype=dtype)
                if i == 0
                else None
            )
            ssm = CompanionSSM(
                H, d, kernel_repeat=kernel_repeat if i == 0 else 1, dtype=dtype, key=keys[2 * i]
            )
            lin = eqx.nn.Linear(H, H, key=keys[2 * i + 1], dtype=dtype)
            blocks.append(_Block(pre, ssm, _MLP(lin, eqx.nn.Dropout(dropout))))
        self.blocks = tuple(blocks)
        self.decoder = ClosedLoopCompanionSSM(H, d, horizon=horizon, dtype=dtype, key=keys[-2])
        self.output = eqx.nn.Linear(H, 1, key=keys[-1], dtype=dtype)
        self.H = H

    def outputs(
        self, x: Real[ArrayLike, " l"], *, key: PRNGKeyArray | None = None
    ) -> dict[str, Float[Array, "..."]]:
        """Forecast and training signals on the mean-removed scale, plus the window mean:
        ``forecast`` ``(horizon,)`` (mean added back), ``lag_fit``/``lag_target`` ``(l,)`` (the open-loop
        output over the lag and the centred window), ``next_pred``/``next_true`` ``(l - 1, H)`` (the
        decoder's next-input predictions and its actual next inputs), ``mean`` ``()``."""
        dtype = self.output.weight.dtype
        x = _as_float(x, dtype, "x")
        if x.ndim != 1 or x.shape[0] < 2:
            raise ValueError(f"`x` must be a window of shape (l,) with l >= 2, got {x.shape}.")
        mean = jnp.mean(x)
        xc = x - mean
        z = jnp.repeat(xc[:, None], self.H, axis=1)
        keys = (
            (None,) * len(self.blocks) if key is None else jax.random.split(key, len(self.blocks))
        )
        for blk, k in zip(self.blocks, keys, strict=True):
            z = blk(z, k)
        dec = self.decoder.outputs(z)
        out = jax.vmap(self.output)
        return {
            "forecast": out(dec["y"])[:, 0] + mean,
            "forecast_centred": out(dec["y"])[:, 0],
            "lag_fit": out(dec["y_lag"])[:, 0],
            "lag_target": xc,
            "next_pred": dec["uhat_lag"][:-1],
            "next_true": jax.lax.stop_gradient(z[1:]),  # a target, not a way to shrink z
            "mean": mean,
        }

    def __call__(
        self, x: Real[ArrayLike, " l"], *, key: PRNGKeyArray | None = None
    ) -> Float[Array, " horizon"]:
        return self.outputs(x, key=key)["forecast"]

    def training_view(self) -> _SpaceTimeTraining:
        """A module whose call returns :meth:`outputs` (train it with ``make_train_step(spacetime_loss,
        optimizer)``; the trained forecaster is ``view.model``)."""
        return _SpaceTimeTraining(self)


class _SpaceTimeTraining(eqx.Module):
    model: SpaceTime

    def __call__(self, x, *, key=None):
        out = self.model.outputs(x, key=key)
        aux = _rmse(out["lag_fit"], out["lag_target"]) + _rmse(out["next_pred"], out["next_true"])
        return jnp.concatenate([out["forecast"], aux[None]])


def _rmse(x, y):
    return jnp.sqrt(jnp.mean((x - y) ** 2) + 1e-12)


def spacetime_loss(
    prediction: Float[Array, " horizon_plus_1"] | PyTree[Float[Array, "..."]],
    y: Real[ArrayLike, " horizon"],
) -> Float[Array, ""]:
    r"""The SpaceTime training loss of one window (the reference ``informer_rmse``, weights 1 1 1):
    ``RMSE(forecast, y) + RMSE(lag_fit, lag_target) + RMSE(next_pred, next_true)``: the closed-loop
    horizon forecast, the open-loop fit over the lag and the decoder's next-input prediction.

    ``prediction`` is what :meth:`SpaceTime.training_view` returns, ``(horizon + 1,)``: the forecast
    followed by the sum of the two lag terms (so that it is one array, as
    :func:`jaxsci.training.make_train_step` wants), or the dict of :meth:`SpaceTime.outputs`; ``y`` is the
    target horizon ``(horizon,)``.
    """
    if isinstance(prediction, dict):
        if "forecast" not in prediction:
            raise TypeError("`prediction` must be SpaceTime.outputs(...) or training_view()(...).")
        p = prediction
        aux = _rmse(p["lag_fit"], p["lag_target"]) + _rmse(p["next_pred"], p["next_true"])
        prediction = jnp.concatenate([p["forecast"], aux[None]])
    prediction = jnp.asarray(prediction)
    y = jnp.asarray(y)
    if prediction.ndim != 1 or y.shape != (prediction.shape[0] - 1,):
        raise ValueError(
            f"`y` must have shape (horizon,) = ({prediction.shape[0] - 1},) for a prediction of shape "
            f"{prediction.shape}, got {y.shape}."
        )
    return _rmse(prediction[:-1], y) + prediction[-1]
