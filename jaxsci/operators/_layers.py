"""Building blocks shared by the operator models: convolutions, group norm, resampling, checks."""

from __future__ import annotations

import functools
import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .._checks import check_choice
from ..spectral._inputs import as_real

__all__: list[str] = []

LAYOUTS = ("nodes", "periodic", "cells")


class Drawer:
    """Two-pass initialisation with one compiled random draw per model.

    Pass 1 (``Drawer()``): every ``draw(shape, bound)`` records a ``U(-bound, bound)`` spec and returns
    a NumPy placeholder; :func:`build` then draws all arrays in one compiled program
    (:func:`jaxsci.spectral._fno._draw`: two flat draws, reshaped; eager per-array draws compile one
    program per shape, seconds each for 4-D weights on a loaded CPU), and pass 2
    (``Drawer(arrays)``) hands them out in the same order. Works under ``jax.jit`` and
    ``eqx.filter_vmap`` over keys (the key is only used by the one draw)."""

    def __init__(self, arrays=None):
        self.specs: list[tuple] = []
        self._arrays = arrays
        self._i = 0

    def __call__(self, shape, bound: float):
        shape = tuple(int(n) for n in shape)
        if self._arrays is None:
            self.specs.append(("uniform", shape, float(bound)))
            return np.zeros(shape)
        out = self._arrays[self._i]
        self._i += 1
        return out


def build(make, key: PRNGKeyArray, dtype: Any):
    """``make(draw)`` with the arrays of :class:`Drawer` drawn from ``key`` in ``dtype``."""
    from ..spectral._fno import _draw

    recorder = Drawer()
    make(recorder)
    arrays = _draw(key, tuple(recorder.specs), dtype) if recorder.specs else []
    return make(Drawer(list(arrays)))


def as_field(x: Any, name: str, channels: int, dtype: Any) -> Array:
    """A channels-first 2D field ``(channels, H, W)`` in ``dtype`` (integers converted), or a clear
    error naming ``name``."""
    x = as_real(x, name, integers=True)
    if x.ndim != 3:
        raise ValueError(
            f"`{name}` must be one channels-first field of shape (C, H, W) (batch with jax.vmap), "
            f"got shape {x.shape}."
        )
    if x.shape[0] != channels:
        raise ValueError(
            f"`{name}` must have {channels} channels (shape ({channels}, H, W)), got shape {x.shape}."
        )
    if min(x.shape[1:]) < 1:
        raise ValueError(f"`{name}` must not be empty, got shape {x.shape}.")
    return x.astype(dtype)


class Linear(eqx.Module):
    """Pointwise linear map (a 1x1 convolution) ``(C_in, *spatial) -> (C_out, *spatial)``."""

    weight: Float[Array, " c_out c_in"]
    bias: Float[Array, " c_out"]

    def __init__(self, c_in: int, c_out: int, *, draw: Drawer):
        bound = 1.0 / math.sqrt(c_in)
        self.weight = draw((c_out, c_in), bound)
        self.bias = draw((c_out,), bound)

    def __call__(self, x: Array) -> Array:
        y = jnp.tensordot(self.weight, x, axes=([1], [0]))
        return y + self.bias.reshape((-1,) + (1,) * (x.ndim - 1))


class Conv(eqx.Module):
    """``k x k`` convolution (cross-correlation) of one ``(C, H, W)`` field, zero "same" padding."""

    weight: Float[Array, " c_out c_in k k"]
    bias: Float[Array, " c_out"] | None

    def __init__(self, c_in: int, c_out: int, size: int, *, bias: bool, draw: Drawer):
        bound = 1.0 / math.sqrt(c_in * size * size)
        self.weight = draw((c_out, c_in, size, size), bound)
        self.bias = draw((c_out,), bound) if bias else None

    def __call__(self, x: Array) -> Array:
        return conv2d(x, self.weight, self.bias)


def conv2d(x: Array, w: Array, b: Array | None, mode: str = "zeros") -> Array:
    """Cross-correlation of ``x (C_in, H, W)`` with ``w (C_out, C_in, kh, kw)`` (odd sizes), padded by
    ``(k - 1)/2`` per side with zeros (``mode="zeros"``) or periodically (``"circular"``)."""
    ph, pw = (w.shape[2] - 1) // 2, (w.shape[3] - 1) // 2
    if mode == "circular":
        x = jnp.pad(x, ((0, 0), (ph, ph), (pw, pw)), mode="wrap")
        pad = ((0, 0), (0, 0))
    else:
        pad = ((ph, ph), (pw, pw))
    y = jax.lax.conv_general_dilated(x[None], w, (1, 1), pad)[0]
    if b is not None:
        y = y + b[:, None, None]
    return y


class GroupNorm(eqx.Module):
    """Group normalisation of one ``(C, H, W)`` field (Wu & He 2018): mean and variance over each group
    of channels and all points (a spatial average, so resolution-independent), affine per channel."""

    weight: Float[Array, " c"]
    bias: Float[Array, " c"]
    groups: int = eqx.field(static=True)
    eps: float = eqx.field(static=True)

    def __init__(self, groups: int, channels: int, *, dtype: Any, eps: float = 1e-5):
        self.weight = jnp.asarray(np.ones(channels), dtype)
        self.bias = jnp.asarray(np.zeros(channels), dtype)
        self.groups = int(groups)
        self.eps = float(eps)

    def __call__(self, x: Array) -> Array:
        c = x.shape[0]
        g = x.reshape((self.groups, c // self.groups, -1))
        mean = g.mean(axis=(1, 2), keepdims=True)
        var = ((g - mean) ** 2).mean(axis=(1, 2), keepdims=True)
        g = (g - mean) * jax.lax.rsqrt(var + self.eps)
        x = g.reshape(x.shape)
        return x * self.weight[:, None, None] + self.bias[:, None, None]


def norm_groups(norm_groups: int, channels: int) -> int:
    """The number of groups actually used for ``channels`` (the largest divisor ``<= norm_groups``)."""
    g = max(1, min(int(norm_groups), channels))
    while channels % g:
        g -= 1
    return g


@functools.lru_cache(maxsize=256)
def linear_matrix(n_out: int, n_in: int, layout: str = "nodes") -> np.ndarray:
    """``(n_out, n_in)`` linear interpolation between two grids of one interval, float64 on the host.

    ``"nodes"``: ``x_i = i/(n-1)`` (endpoints included; PyTorch's bilinear ``align_corners=True``);
    ``"periodic"``: ``x_j = j/n`` (wrapping); ``"cells"``: ``x_j = (j + 1/2)/n`` (``align_corners=False``,
    clamped at the ends)."""
    check_choice(layout, "layout", LAYOUTS)
    rows = np.arange(n_out, dtype=np.float64)
    if layout == "nodes":
        pos = rows * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros(1)
    elif layout == "periodic":
        pos = rows * (n_in / n_out)
    else:
        pos = np.clip((rows + 0.5) * (n_in / n_out) - 0.5, 0.0, n_in - 1)
    lo = np.floor(pos + 1e-9).astype(int)
    t = pos - lo
    t[np.abs(t) < 1e-9] = 0.0
    if layout == "periodic":
        lo, hi = np.mod(lo, n_in), np.mod(lo + 1, n_in)
    else:
        lo = np.minimum(lo, n_in - 1)
        hi = np.minimum(lo + 1, n_in - 1)
    mat = np.zeros((n_out, n_in))
    np.add.at(mat, (np.arange(n_out), lo), 1.0 - t)
    np.add.at(mat, (np.arange(n_out), hi), t)
    return mat


def resample2d(x: Array, shape: tuple[int, int], layout: str = "nodes") -> Array:
    """Separable linear resampling of ``x (C, H, W)`` to ``(C, *shape)``; cost ``O(C H W (h + w))``."""
    h, w = x.shape[1:]
    if (h, w) == tuple(shape):
        return x
    mh = jnp.asarray(linear_matrix(int(shape[0]), h, layout), x.dtype)
    mw = jnp.asarray(linear_matrix(int(shape[1]), w, layout), x.dtype)
    return jnp.einsum("ih,chw,jw->cij", mh, x, mw)


def grid2d(shape: tuple[int, int], dtype: Any, layout: str = "nodes") -> Array:
    """The coordinates ``(2, H, W)`` of the grid in ``layout`` on ``[0, 1]^2``."""
    from ..spectral import grid_coordinates

    return grid_coordinates(shape, dtype, layout=layout)


def maxpool2(x: Array) -> Array:
    """2x2 max pooling, floor sizes (PyTorch ``MaxPool2d(2)``)."""
    c, h, w = x.shape
    h2, w2 = h // 2, w // 2
    return x[:, : 2 * h2, : 2 * w2].reshape(c, h2, 2, w2, 2).max(axis=(2, 4))
