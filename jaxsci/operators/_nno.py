"""Neural operators from standard architectures (Berner, Liu-Schiaffini, Kossaifi, Duruisseaux, Bonev,
Azizzadenesheli & Anandkumar, *Principled approaches for extending neural architectures to function
spaces*, 2025, arXiv 2506.10973): layers written as quadrature-weighted integral transforms."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any, final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray, Real

from .._checks import check_choice, check_positive_int, default_float_dtype
from ..spectral._inputs import as_real, check_key
from ._layers import LAYOUTS, Drawer, GroupNorm, Linear, as_field, build, conv2d, grid2d, resample2d

__all__ = [
    "InterpolatedOperator",
    "KernelIntegralAttention",
    "ResolutionAwareConv",
    "ResolutionAwareUNet",
]


INTERPOLATIONS = ("cell", "linear")


def _spacing(n: int, layout: str) -> float:
    return 1.0 / (n - 1) if layout == "nodes" else 1.0 / n


def _pair(value, name: str, minimum: int) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value), int(value))
    if not (isinstance(value, Sequence) and len(value) == 2):
        raise TypeError(f"`{name}` must be an int or a pair of ints, got {value!r}.")
    return tuple(check_positive_int(v, name, minimum=minimum) for v in value)  # type: ignore[return-value]


@functools.lru_cache(maxsize=256)
def _cell_matrix(size: int, h_base: float, h: float) -> np.ndarray:
    """``(size', size)``: the base taps as a piecewise-constant kernel on the cells
    ``[(j - 1/2) h_base, (j + 1/2) h_base]`` sampled at the offsets ``j' h``, ``|j' h| <= size h_base / 2``
    (``size' = 2 floor(size h_base / (2 h)) + 1``); an offset on a cell boundary takes half of each
    cell (half of the edge cell at the support's ends), so the rows of every base tap sum to
    ``h_base / h``: the integral of the kernel is kept exactly. Float64, host."""
    r = size // 2
    m = int(math.floor(0.5 * size * h_base / h + 1e-9))
    mat = np.zeros((2 * m + 1, size))
    for row, j in enumerate(range(-m, m + 1)):
        pos = j * h / h_base + r  # in base-tap units
        near = np.floor(pos + 0.5 + 1e-9)
        if abs(pos + 0.5 - near) < 1e-9:  # on the boundary between cells near - 1 and near
            for c in (int(near) - 1, int(near)):
                if 0 <= c < size:
                    mat[row, c] += 0.5
        else:
            c = int(np.floor(pos + 0.5))
            if 0 <= c < size:
                mat[row, c] = 1.0
    return mat


@functools.lru_cache(maxsize=256)
def _tap_matrix(size: int, h_base: float, h: float) -> np.ndarray:
    """``(size', size)`` linear interpolation of the ``size`` base taps (offsets ``j h_base``,
    ``|j| <= r = size // 2``) at the offsets ``j' h`` inside the same physical support
    ``|j' h| <= r h_base``, ``size' = 2 floor(r h_base / h) + 1``; float64 on the host."""
    r = size // 2
    m = int(math.floor(r * h_base / h + 1e-9))
    pos = r + np.arange(-m, m + 1) * (h / h_base)  # in base-tap units, within [0, size - 1]
    lo = np.clip(np.floor(pos + 1e-9).astype(int), 0, size - 1)
    t = pos - lo
    t[np.abs(t) < 1e-9] = 0.0
    hi = np.minimum(lo + 1, size - 1)
    mat = np.zeros((2 * m + 1, size))
    np.add.at(mat, (np.arange(2 * m + 1), lo), 1.0 - t)
    np.add.at(mat, (np.arange(2 * m + 1), hi), t)
    return mat


@final
class ResolutionAwareConv(eqx.Module):
    r"""A convolution whose kernel lives on a fixed physical stencil: the same integral operator
    :math:`(Kv)(x) = \int \kappa(x - y) v(y)\,dy + b` on every grid (Berner et al. 2025, "U-Net with
    kernel interpolation"; neuraloperator/NNs-to-NOs ``models/unet_kernel_interp.py``).

    ``ResolutionAwareConv(in_channels, out_channels, kernel_size, *, base_resolution,
    grid_layout="nodes", padding_mode="zeros", interpolation="cell", bias=True, dtype=None, key)``;
    ``conv(x, *, key=None)`` maps ``(in_channels, H, W)`` to ``(out_channels, H, W)`` on any grid.

    The ``kernel_size = k`` (odd) taps ``w_j`` are defined on the ``base_resolution`` grid (spacing
    ``h_0``: ``1/(n-1)`` for ``"nodes"``, ``1/n`` for ``"periodic"``/``"cells"``), i.e.
    ``w_j = kappa(j h_0) h_0^2``. On a grid of spacing ``h`` the kernel is resampled to the offsets
    ``j h`` inside its fixed physical support and multiplied by the quadrature ratio ``(h / h_0)^2``
    (the area ratio), and the padding is the new half-width (it scales with the resolution), zeros
    (``"zeros"``) or periodic (``"circular"``). ``interpolation``:

    - ``"linear"`` (the reference's bilinear kernel interpolation): ``kappa`` piecewise linear between
      the taps, support ``|z| <= (k // 2) h_0``, ``2 floor((k // 2) h_0 / h) + 1`` taps per axis
      (``s (k - 1) + 1`` for an integer refinement ``s = h_0 / h``). It converges at first order in
      ``h`` (the support's edge taps count with full weight), and its limit differs from the base-grid
      convolution by about half the edge taps' weight;
    - ``"cell"`` (default; a stated variant): ``kappa`` piecewise constant on the base cells, support
      ``|z| <= k h_0 / 2``, ``2 floor(k h_0 / (2 h)) + 1`` taps per axis, an offset on a cell boundary
      taking half of each cell: the kernel's integral is kept exactly on every grid (``2k + 1`` taps
      summing to the same total at ``s = 2``), and the base-grid convolution is the midpoint rule of
      the limit operator, so a model trained at the base grid keeps its operator on finer grids.

    At ``base_resolution`` both are exactly the ordinary convolution with the stored kernel; on finer
    grids both converge to one integral operator, so a model built from them defines one operator on
    every grid. On coarser grids the kernel is subsampled.

    Weights ``(out, in, k, k)`` and bias ``U(-1/sqrt(in k^2), 1/sqrt(in k^2))`` (PyTorch's default).
    Cost per call ``O(C_in C_out H W (r/h)^2)``: the physical stencil is fixed, so its number of taps
    grows with the resolution.
    """

    weight: Float[Array, " c_out c_in k k"]
    bias: Float[Array, " c_out"] | None
    base_resolution: tuple[int, int] = eqx.field(static=True)
    grid_layout: str = eqx.field(static=True)
    padding_mode: str = eqx.field(static=True)
    interpolation: str = eqx.field(static=True)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        base_resolution: int | Sequence[int],
        grid_layout: str = "nodes",
        padding_mode: str = "zeros",
        interpolation: str = "cell",
        bias: bool = True,
        dtype: Any = None,
        key: PRNGKeyArray,
    ):
        check_positive_int(in_channels, "in_channels")
        check_positive_int(out_channels, "out_channels")
        check_positive_int(kernel_size, "kernel_size")
        if kernel_size % 2 == 0:
            raise ValueError(f"`kernel_size` must be odd (a centred stencil), got {kernel_size}.")
        self.base_resolution = _pair(base_resolution, "base_resolution", 2)
        check_choice(grid_layout, "grid_layout", LAYOUTS)
        check_choice(padding_mode, "padding_mode", ("zeros", "circular"))
        check_choice(interpolation, "interpolation", INTERPOLATIONS)
        if not isinstance(bias, bool):
            raise TypeError(f"`bias` must be a bool, got {bias!r}.")
        check_key(key)
        dtype = default_float_dtype(dtype)
        self.weight, self.bias = build(
            lambda draw: _conv_arrays(draw, in_channels, out_channels, kernel_size, bias),
            key,
            dtype,
        )
        self.grid_layout, self.padding_mode = grid_layout, padding_mode
        self.interpolation = interpolation

    @property
    def in_channels(self) -> int:
        return self.weight.shape[1]

    def kernel(self, shape: Sequence[int]) -> Float[Array, " c_out c_in kh kw"]:
        """The discrete kernel used on a grid of ``shape = (H, W)`` points (quadrature included)."""
        k = self.weight.shape[-1]
        mats, ratio = [], 1.0
        for n, n0 in zip(shape, self.base_resolution, strict=True):
            h, h0 = _spacing(int(n), self.grid_layout), _spacing(n0, self.grid_layout)
            tap = _tap_matrix if self.interpolation == "linear" else _cell_matrix
            mats.append(tap(k, h0, h))
            ratio *= h / h0
        if all(m.shape[0] == k and np.allclose(m, np.eye(k)) for m in mats) and ratio == 1.0:
            return self.weight
        ma, mb = (jnp.asarray(m, self.weight.dtype) for m in mats)
        return ratio * jnp.einsum("ak,oikl,bl->oiab", ma, self.weight, mb)

    def __call__(
        self, x: Real[ArrayLike, " c_in h w"], *, key: PRNGKeyArray | None = None
    ) -> Float[Array, " c_out h w"]:
        del key
        x = as_field(x, "x", self.in_channels, self.weight.dtype)
        if self.grid_layout == "nodes" and min(x.shape[1:]) < 2:
            raise ValueError(f"`x` must have >= 2 points per axis on a node grid, got {x.shape}.")
        return conv2d(x, self.kernel(x.shape[1:]), self.bias, self.padding_mode)


def _conv_arrays(draw: Drawer, c_in, c_out, k, bias):
    bound = 1.0 / math.sqrt(c_in * k**2)
    return draw((c_out, c_in, k, k), bound), (draw((c_out,), bound) if bias else None)


def _make_conv(draw: Drawer, c_in, c_out, k, base, layout, mode, interp) -> ResolutionAwareConv:
    """A :class:`ResolutionAwareConv` with weights from ``draw`` (inside a model's one-draw init)."""
    conv = object.__new__(ResolutionAwareConv)
    weight, bias = _conv_arrays(draw, c_in, c_out, k, True)
    fields = dict(
        weight=weight,
        bias=bias,
        base_resolution=base,
        grid_layout=layout,
        padding_mode=mode,
        interpolation=interp,
    )
    for name, value in fields.items():
        object.__setattr__(conv, name, value)
    return conv


def _level_size(n: int, level: int, layout: str) -> int:
    if layout == "nodes":
        return max(2, int(round((n - 1) / 2**level)) + 1)
    return max(1, int(round(n / 2**level)))


class _RABlock(eqx.Module):
    conv1: ResolutionAwareConv
    norm1: GroupNorm
    conv2: ResolutionAwareConv
    norm2: GroupNorm
    activation: Callable = eqx.field(static=True)

    def __call__(self, x):
        x = self.activation(self.norm1(self.conv1(x)))
        return self.activation(self.norm2(self.conv2(x)))


@final
class ResolutionAwareUNet(eqx.Module):
    """A U-Net built from :class:`ResolutionAwareConv` (Berner et al. 2025): one operator on every
    grid, up to discretisation error, so it can be evaluated zero-shot at resolutions it was not
    trained on.

    ``ResolutionAwareUNet(in_channels, out_channels, *, base_resolution, width=16,
    channel_multipliers=(1, 2, 2, 3), kernel_size=5, projection_width=64, grid_layout="nodes",
    padding_mode="zeros", interpolation="cell", activation=jax.nn.gelu, dtype=None, key)``;
    ``model(x, *, key=None)``: ``(in_channels, H, W) -> (out_channels, H, W)``, any ``H, W >= 2``.
    The defaults follow the reference config (hidden width 19 there, multipliers ``[1, 2, 2, 3]``,
    GroupNorm(1), grid embedding; kernel 9 at base 128 there, 5 at the training grid here).

    Architecture: grid coordinates appended (physical, in ``grid_layout``); pointwise lift to ``width``;
    level ``l`` (``l = 0..L-1``, ``L = len(channel_multipliers)``) lives on the grid of
    ``round((n - 1) / 2^l) + 1`` nodes per axis (``round(n / 2^l)`` points for periodic/cells layouts),
    computed from the input grid, and its convolutions' base grid likewise from ``base_resolution``, so
    every level keeps its physical stencil at any input resolution. Encoder: per level two
    (ResolutionAwareConv ``k x k``, GroupNorm(1), activation) blocks, then linear resampling to the next
    level's grid; decoder: linear resampling back up, concatenation with the skip, the same block;
    head: pointwise ``width -> projection_width -> out_channels``. The down/up-sampling is linear
    interpolation between the level grids (a resolution-free replacement of max pooling and transposed
    convolutions, which are tied to the pixel grid). GroupNorm's statistics are spatial means.

    Cost: ``O(w^2 H W (k h_0 / h)^2)`` per level-0 convolution at spacing ``h``.
    """

    lift: Linear
    encoder: tuple[_RABlock, ...]
    decoder: tuple[_RABlock, ...]
    proj1: Linear
    proj2: Linear
    in_channels: int = eqx.field(static=True)
    out_channels: int = eqx.field(static=True)
    base_resolution: tuple[int, int] = eqx.field(static=True)
    grid_layout: str = eqx.field(static=True)
    activation: Callable = eqx.field(static=True)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        base_resolution: int | Sequence[int],
        width: int = 16,
        channel_multipliers: Sequence[int] = (1, 2, 2, 3),
        kernel_size: int = 5,
        projection_width: int = 64,
        grid_layout: str = "nodes",
        padding_mode: str = "zeros",
        interpolation: str = "cell",
        activation: Callable[[Array], Array] = jax.nn.gelu,
        dtype: Any = None,
        key: PRNGKeyArray,
    ):
        check_positive_int(in_channels, "in_channels")
        check_positive_int(out_channels, "out_channels")
        check_positive_int(width, "width")
        check_positive_int(projection_width, "projection_width")
        self.base_resolution = _pair(base_resolution, "base_resolution", 2)
        check_choice(grid_layout, "grid_layout", LAYOUTS)
        if isinstance(channel_multipliers, (int, np.integer)) or not channel_multipliers:
            raise TypeError(
                f"`channel_multipliers` must be a non-empty sequence of ints, got "
                f"{channel_multipliers!r}."
            )
        mults = [check_positive_int(m, "channel_multipliers") for m in channel_multipliers]
        if not callable(activation):
            raise TypeError(f"`activation` must be callable, got {activation!r}.")
        check_positive_int(kernel_size, "kernel_size")
        if kernel_size % 2 == 0:
            raise ValueError(f"`kernel_size` must be odd (a centred stencil), got {kernel_size}.")
        check_choice(padding_mode, "padding_mode", ("zeros", "circular"))
        check_choice(interpolation, "interpolation", INTERPOLATIONS)
        check_key(key)
        dtype = default_float_dtype(dtype)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.grid_layout, self.activation = grid_layout, activation
        chans = [width * m for m in mults]
        base_res = self.base_resolution

        def make(draw):
            def block(c_in, c_out, level):
                base = tuple(_level_size(n, level, grid_layout) for n in base_res)
                conv = functools.partial(
                    _make_conv,
                    draw,
                    k=kernel_size,
                    base=base,
                    layout=grid_layout,
                    mode=padding_mode,
                    interp=interpolation,
                )
                return _RABlock(
                    conv(c_in, c_out),
                    GroupNorm(1, c_out, dtype=dtype),
                    conv(c_out, c_out),
                    GroupNorm(1, c_out, dtype=dtype),
                    activation,
                )

            lift = Linear(in_channels + 2, width, draw=draw)
            enc, c_prev = [], width
            for level, c in enumerate(chans):
                enc.append(block(c_prev, c, level))
                c_prev = c
            dec = tuple(
                block(chans[level + 1] + chans[level], chans[level], level)
                for level in reversed(range(len(chans) - 1))
            )
            proj1 = Linear(chans[0], projection_width, draw=draw)
            proj2 = Linear(projection_width, out_channels, draw=draw)
            return lift, tuple(enc), dec, proj1, proj2

        self.lift, self.encoder, self.decoder, self.proj1, self.proj2 = build(make, key, dtype)

    def __call__(
        self, x: Real[ArrayLike, " c_in h w"], *, key: PRNGKeyArray | None = None
    ) -> Float[Array, " c_out h w"]:
        del key
        dtype = self.lift.weight.dtype
        x = as_field(x, "x", self.in_channels, dtype)
        shape = x.shape[1:]
        if min(shape) < 2:
            raise ValueError(f"`x` must have >= 2 points per axis, got shape {x.shape}.")
        layout = self.grid_layout
        v = self.lift(jnp.concatenate([x, grid2d(shape, dtype, layout)]))
        sizes = [
            tuple(_level_size(n, level, layout) for n in shape)
            for level in range(len(self.encoder))
        ]
        skips = []
        for level, blk in enumerate(self.encoder):
            if level:
                v = resample2d(v, sizes[level], layout)
            v = blk(v)
            skips.append(v)
        for i, blk in enumerate(self.decoder):
            level = len(self.encoder) - 2 - i
            v = resample2d(v, sizes[level], layout)
            v = blk(jnp.concatenate([v, skips[level]]))
        v = self.activation(self.proj1(v))
        return self.proj2(v)


def _trapezoid(shape: tuple[int, ...], dtype) -> np.ndarray:
    w = np.ones(())
    for n in shape:
        wa = np.ones(n)
        if n > 1:
            wa[0] = wa[-1] = 0.5
        w = np.multiply.outer(w, wa)
    return w / w.sum()


@final
class KernelIntegralAttention(eqx.Module):
    r"""Softmax attention as a quadrature-weighted kernel integral (Berner et al. 2025, the
    transformer-to-operator recipe): on a field ``v`` sampled at points ``y_i`` with quadrature weights
    ``mu_i``,

    .. math:: (\mathcal{A} v)(x) = W_o \frac{\int k(x, y)\, W_v v(y)\, d\mu(y)}{\int k(x, y)\, d\mu(y)},
              \qquad k(x, y) = \exp\big(\langle W_q v(x), W_k v(y) \rangle / \sqrt{d}\big)

    per head (``d = channels / num_heads``), discretised as ``softmax_i(q(x)^T k_i / sqrt(d) + log mu_i)``
    weighted sums. With uniform weights (``weights=None``, ``mu_i = 1/N``) it *is* multi-head softmax
    attention over the ``N`` points; with consistent quadrature weights (``"trapezoid"`` on a node grid,
    or any positive array) it converges as the grid refines, so the layer acts on functions.

    ``KernelIntegralAttention(channels, *, num_heads=4, dtype=None, key)``;
    ``layer(x, *, weights=None, key=None)`` maps ``(channels, *spatial)`` (any number of spatial axes)
    to the same shape. ``weights``: ``None`` (uniform), ``"trapezoid"`` (product trapezoid rule on the
    node grid ``x_i = i/(n-1)``) or an array of shape ``spatial`` of positive weights (they are
    normalised; only ratios matter). Projections ``W_q, W_k, W_v, W_o``: pointwise linear maps with
    biases, PyTorch's default init. Cost ``O(N^2 C)`` time, ``O(N^2 num_heads)`` memory.
    """

    query: Linear
    key_proj: Linear
    value: Linear
    out: Linear
    num_heads: int = eqx.field(static=True)

    def __init__(self, channels: int, *, num_heads: int = 4, dtype: Any = None, key: PRNGKeyArray):
        check_positive_int(channels, "channels")
        check_positive_int(num_heads, "num_heads")
        if channels % num_heads:
            raise ValueError(
                f"`channels` ({channels}) must be divisible by `num_heads` ({num_heads})."
            )
        check_key(key)
        dtype = default_float_dtype(dtype)
        self.query, self.key_proj, self.value, self.out = build(
            lambda draw: tuple(Linear(channels, channels, draw=draw) for _ in range(4)), key, dtype
        )
        self.num_heads = int(num_heads)

    def __call__(
        self,
        x: Real[ArrayLike, " c *spatial"],
        *,
        weights: str | Real[ArrayLike, " *wspatial"] | None = None,
        key: PRNGKeyArray | None = None,
    ) -> Float[Array, " c *spatial"]:
        del key
        c = self.query.weight.shape[0]
        dtype = self.query.weight.dtype
        x = as_real(x, "x", integers=True)
        if x.ndim < 2 or x.shape[0] != c:
            raise ValueError(
                f"`x` must be one channels-first field of shape ({c}, *spatial), got {x.shape}."
            )
        if x.size == 0:
            raise ValueError(f"`x` must not be empty, got shape {x.shape}.")
        x = x.astype(dtype)
        spatial = x.shape[1:]
        if weights is None:
            log_mu = None
        elif isinstance(weights, str):
            check_choice(weights, "weights", ("trapezoid",))
            log_mu = jnp.asarray(np.log(_trapezoid(spatial, np.float64)).ravel(), dtype)
        else:
            mu = as_real(weights, "weights", integers=True)
            if mu.shape != spatial:
                raise ValueError(
                    f"`weights` must have the spatial shape of `x` {spatial}, got {mu.shape}."
                )
            log_mu = jnp.log(mu.astype(dtype)).ravel()
        flat = x.reshape(c, -1)
        h = self.num_heads
        d = c // h
        q = self.query(flat).reshape(h, d, -1)
        k = self.key_proj(flat).reshape(h, d, -1)
        v = self.value(flat).reshape(h, d, -1)
        logits = jnp.einsum("hdi,hdj->hij", q, k) / math.sqrt(d)
        if log_mu is not None:
            logits = logits + log_mu
        attn = jax.nn.softmax(logits, axis=-1)
        y = jnp.einsum("hij,hdj->hdi", attn, v).reshape(c, -1)
        return self.out(y).reshape(x.shape)


@final
class InterpolatedOperator(eqx.Module):
    """The input-output interpolation baseline (Berner et al. 2025): run a fixed-resolution network at
    its training resolution from any grid.

    ``InterpolatedOperator(model, resolution, *, periodic=False)``; ``op(x, *, key=None)`` resamples
    ``x (C, *spatial)`` linearly to the grid ``resolution`` (:func:`jaxsci.training.resample`: node grids
    ``x_i = i/(n-1)``, or periodic grids with ``periodic=True``), applies ``model``, and resamples the
    output back to ``spatial``. At ``resolution`` itself it is ``model`` exactly. Cost: the model's at
    ``resolution`` plus ``O(C N n)`` for the two resamplings.
    """

    model: Callable
    resolution: tuple[int, ...] = eqx.field(static=True)
    periodic: bool = eqx.field(static=True)

    def __init__(self, model: Callable, resolution: int | Sequence[int], *, periodic: bool = False):
        if not callable(model):
            raise TypeError(f"`model` must be callable, got {model!r}.")
        if isinstance(resolution, (int, np.integer)) and not isinstance(resolution, bool):
            resolution = (int(resolution),)
        if not isinstance(resolution, Sequence) or not resolution:
            raise TypeError(
                f"`resolution` must be an int or a sequence of ints, got {resolution!r}."
            )
        self.resolution = tuple(check_positive_int(n, "resolution", minimum=2) for n in resolution)
        if not isinstance(periodic, bool):
            raise TypeError(f"`periodic` must be a bool, got {periodic!r}.")
        self.model, self.periodic = model, periodic

    def __call__(
        self, x: Real[ArrayLike, " c *spatial"], *, key: PRNGKeyArray | None = None
    ) -> Float[Array, " c_out *spatial"]:
        from ..training import resample

        x = as_real(x, "x", integers=True)
        d = len(self.resolution)
        if len(self.resolution) == 1 and x.ndim > 2:
            d = x.ndim - 1
        if x.ndim != d + 1:
            raise ValueError(
                f"`x` must be one channels-first field with {d} spatial axes (the length of "
                f"`resolution` = {self.resolution}), got shape {x.shape}."
            )
        target = self.resolution * d if len(self.resolution) == 1 else self.resolution
        spatial = x.shape[1:]
        y = self.model(resample(x, target, periodic=self.periodic), key=key)
        return resample(y, spatial, periodic=self.periodic)
