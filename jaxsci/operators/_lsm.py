"""Latent Spectral Models (Wu et al., ICML 2023) and the U-Net of their comparison table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, final

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray, Real

from .._checks import check_choice, check_positive_int, default_float_dtype
from ..spectral._inputs import check_key
from ._layers import (
    LAYOUTS,
    Conv,
    Drawer,
    GroupNorm,
    Linear,
    as_field,
    build,
    grid2d,
    maxpool2,
    norm_groups,
    resample2d,
)

__all__ = ["LSM", "UNet"]

_NUM_SCALES = 5  # inc + 4 down-sampling steps


class _DoubleConv(eqx.Module):
    """(3x3 conv, no bias -> GroupNorm -> ReLU) twice (LSM's ``DoubleConv`` with GroupNorm)."""

    conv1: Conv
    norm1: GroupNorm
    conv2: Conv
    norm2: GroupNorm

    def __init__(self, c_in, c_out, c_mid, groups, dtype, draw: Drawer):
        self.conv1 = Conv(c_in, c_mid, 3, bias=False, draw=draw)
        self.norm1 = GroupNorm(norm_groups(groups, c_mid), c_mid, dtype=dtype)
        self.conv2 = Conv(c_mid, c_out, 3, bias=False, draw=draw)
        self.norm2 = GroupNorm(norm_groups(groups, c_out), c_out, dtype=dtype)

    def __call__(self, x):
        x = jax.nn.relu(self.norm1(self.conv1(x)))
        return jax.nn.relu(self.norm2(self.conv2(x)))


class _SpectralBlock(eqx.Module):
    """LSM's neural spectral block on one ``(C, H, W)`` field (``H``, ``W`` divisible by the patch).

    Per ``p x p`` patch: ``T`` latent tokens (``heads`` heads, shared by all patches) cross-attend to the
    ``p^2`` pixels (keys, values: a 1x1 conv ``C -> 2C``; ``softmax(Q K^T) V`` without the ``1/sqrt(d)``
    scale, as the reference), residual; the spectral transition
    ``z <- z + sum_{m < nb} (ws_{c,m} sin(pi m z / nb) + wc_{c,m} cos(pi m z / nb))`` on every token
    value; pixel queries (1x1 conv ``C -> C``) attend to the tokens, residual. Cost ``O(C H W T)``.
    """

    latent: Float[Array, " heads tokens d"]
    basis_weights: Float[Array, " c two_nb"]
    enc_w: Float[Array, " two_c c"]
    enc_b: Float[Array, " two_c"]
    dec_w: Float[Array, " c c"]
    dec_b: Float[Array, " c"]
    patch: int = eqx.field(static=True)
    num_basis: int = eqx.field(static=True)

    def __init__(self, c, num_basis, patch, num_tokens, heads, draw: Drawer):
        d = c // heads
        half = 0.5 / c  # U(0, 1) / C = U(-1/2C, 1/2C) + 1/2C
        self.latent = draw((heads, num_tokens, d), half) + half
        self.basis_weights = draw((c, 2 * num_basis), half) + half
        bound = 1.0 / math.sqrt(c)
        self.enc_w = draw((2 * c, c), bound)
        self.enc_b = draw((2 * c,), bound)
        self.dec_w = draw((c, c), bound)
        self.dec_b = draw((c,), bound)
        self.patch = int(patch)
        self.num_basis = int(num_basis)

    def __call__(self, x):
        c, h, w = x.shape
        p = self.patch
        heads, _, d = self.latent.shape
        # patchify: (C, H, W) -> (P, C, p*p), P = (H/p)(W/p), patches in row-major order
        xp = x.reshape(c, h // p, p, w // p, p).transpose(1, 3, 0, 2, 4).reshape(-1, c, p * p)
        # (1) latent encoder: the channel order of the reference's (2C) projection is (head, d, k|v)
        kv = jnp.einsum("oc,ncl->nol", self.enc_w, xp) + self.enc_b[:, None]
        kv = kv.reshape(xp.shape[0], heads, d, 2, p * p)
        keys, values = kv[:, :, :, 0], kv[:, :, :, 1]
        attn = jax.nn.softmax(jnp.einsum("htd,nhdl->nhtl", self.latent, keys), axis=-1)
        tokens = jnp.einsum("nhtl,nhdl->nhtd", attn, values) + self.latent[None]
        z = tokens.transpose(0, 1, 3, 2).reshape(xp.shape[0], c, -1)  # (P, C, T)
        # (2) spectral transition on the token values
        freq = jnp.arange(self.num_basis, dtype=x.dtype) / self.num_basis
        arg = jnp.pi * freq * z[..., None]
        nb = self.num_basis
        z = (
            z
            + jnp.einsum("pctm,cm->pct", jnp.sin(arg), self.basis_weights[:, :nb])
            + jnp.einsum("pctm,cm->pct", jnp.cos(arg), self.basis_weights[:, nb:])
        )
        # (3) latent decoder: pixel queries attend to the tokens
        q = (jnp.einsum("oc,ncl->nol", self.dec_w, xp) + self.dec_b[:, None]).reshape(
            xp.shape[0], heads, d, p * p
        )
        zt = z.reshape(xp.shape[0], heads, d, -1)
        attn = jax.nn.softmax(jnp.einsum("nhdl,nhdt->nhlt", q, zt), axis=-1)
        out = jnp.einsum("nhlt,nhdt->nhdl", attn, zt).reshape(xp.shape) + xp
        # de-patchify
        return out.reshape(h // p, w // p, c, p, p).transpose(2, 0, 3, 1, 4).reshape(c, h, w)


def _scale_sizes(n: int) -> list[int]:
    sizes = [n]
    for _ in range(_NUM_SCALES - 1):
        sizes.append(sizes[-1] // 2)
    return sizes


def _fits(n: int, patch: int) -> bool:
    sizes = _scale_sizes(n)
    return sizes[-1] >= 1 and all(s % patch == 0 for s in sizes)


def _auto_padding(n: int, patch: int) -> int:
    pad = 0
    while not _fits(n + pad, patch):
        pad += 1
    return pad


def _check_padding(padding) -> tuple[int, int] | None:
    if padding is None:
        return None
    if isinstance(padding, (int,)) and not isinstance(padding, bool):
        padding = (padding, padding)
    if not (isinstance(padding, Sequence) and len(padding) == 2):
        raise TypeError(f"`padding` must be None, an int or a pair of ints, got {padding!r}.")
    out = []
    for p in padding:
        if isinstance(p, bool) or not isinstance(p, int) or p < 0:
            raise ValueError(f"`padding` entries must be ints >= 0, got {padding!r}.")
        out.append(int(p))
    return (out[0], out[1])


class _UNetCore(eqx.Module):
    """The 5-scale U-Net of LSM (``models/LSM_2D.py``), optionally with a neural spectral block on every
    skip tensor."""

    lift: Linear
    inc: _DoubleConv
    down: tuple[_DoubleConv, ...]
    up: tuple[_DoubleConv, ...]
    outc: Linear
    blocks: tuple[_SpectralBlock, ...] | None
    proj1: Linear
    proj2: Linear
    in_channels: int = eqx.field(static=True)
    out_channels: int = eqx.field(static=True)
    width: int = eqx.field(static=True)
    patch_size: int = eqx.field(static=True)
    padding: tuple[int, int] | None = eqx.field(static=True)
    grid_features: bool = eqx.field(static=True)
    grid_layout: str = eqx.field(static=True)

    def __init__(
        self,
        in_channels,
        out_channels,
        *,
        width,
        spectral,
        num_basis,
        num_tokens,
        num_heads,
        patch_size,
        padding,
        norm_groups,
        projection_width,
        grid_features,
        grid_layout,
        dtype,
        draw,
    ):
        check_positive_int(in_channels, "in_channels")
        check_positive_int(out_channels, "out_channels")
        check_positive_int(width, "width")
        check_positive_int(patch_size, "patch_size")
        check_positive_int(norm_groups, "norm_groups")
        check_positive_int(projection_width, "projection_width")
        check_choice(grid_layout, "grid_layout", LAYOUTS)
        if not isinstance(grid_features, bool):
            raise TypeError(f"`grid_features` must be a bool, got {grid_features!r}.")
        if spectral:
            check_positive_int(num_basis, "num_basis")
            check_positive_int(num_tokens, "num_tokens")
            check_positive_int(num_heads, "num_heads")
            if width % num_heads:
                raise ValueError(
                    f"`width` ({width}) must be divisible by `num_heads` ({num_heads}): every "
                    "spectral block splits its channels into that many attention heads."
                )
        dtype = default_float_dtype(dtype)
        self.padding = _check_padding(padding)
        w = int(width)
        self.in_channels, self.out_channels, self.width = int(in_channels), int(out_channels), w
        self.patch_size = int(patch_size)
        self.grid_features, self.grid_layout = grid_features, grid_layout
        c_lift = in_channels + (2 if grid_features else 0)
        self.lift = Linear(c_lift, w, draw=draw)
        g = norm_groups
        self.inc = _DoubleConv(w, w, w, g, dtype, draw)
        chans = [w, 2 * w, 4 * w, 8 * w, 8 * w]
        self.down = tuple(
            _DoubleConv(chans[i], chans[i + 1], chans[i + 1], g, dtype, draw) for i in range(4)
        )
        # up: in = skip + upsampled, out as the reference (bilinear factor 2), mid = in / 2
        ups = [(16 * w, 4 * w), (8 * w, 2 * w), (4 * w, w), (2 * w, w)]
        self.up = tuple(_DoubleConv(ci, co, ci // 2, g, dtype, draw) for ci, co in ups)
        self.outc = Linear(w, w, draw=draw)
        if spectral:
            self.blocks = tuple(
                _SpectralBlock(c, num_basis, patch_size, num_tokens, num_heads, draw) for c in chans
            )
        else:
            self.blocks = None
        self.proj1 = Linear(w, projection_width, draw=draw)
        self.proj2 = Linear(projection_width, out_channels, draw=draw)

    def _pads(self, h, w):
        p = self.patch_size
        if self.padding is None:
            return _auto_padding(h, p), _auto_padding(w, p)
        ph, pw = self.padding
        for n, pad, axis in ((h, ph, "H"), (w, pw, "W")):
            if not _fits(n + pad, p):
                raise ValueError(
                    f"`x` has {axis} = {n} points, padded by `padding` = {pad} to {n + pad}: the "
                    f"scales {_scale_sizes(n + pad)} of the 5-level U-Net must all be >= 1 and "
                    f"divisible by `patch_size` = {p}; use padding=None (the smallest padding that "
                    f"fits: {_auto_padding(n, p)}) or another resolution."
                )
        return ph, pw

    def __call__(self, x, key=None):
        del key
        dtype = self.lift.weight.dtype
        x = as_field(x, "x", self.in_channels, dtype)
        h, w = x.shape[1:]
        ph, pw = self._pads(h, w)
        if self.grid_features:
            x = jnp.concatenate([x, grid2d((h, w), dtype, self.grid_layout)])
        v = self.lift(x)
        if ph or pw:  # zero padding at the right and bottom, as the reference
            v = jnp.pad(v, ((0, 0), (0, ph), (0, pw)))
        skips = [self.inc(v)]
        for down in self.down:
            skips.append(down(maxpool2(skips[-1])))
        if self.blocks is not None:
            skips = [blk(s) for blk, s in zip(self.blocks, skips, strict=True)]
        v = skips[-1]
        for up, skip in zip(self.up, reversed(skips[:-1]), strict=True):
            # bilinear x2 with align_corners=True, padded to the skip's size, [skip, up] channels
            v = resample2d(v, (2 * v.shape[1], 2 * v.shape[2]), "nodes")
            dh, dw = skip.shape[1] - v.shape[1], skip.shape[2] - v.shape[2]
            v = jnp.pad(v, ((0, 0), (dh // 2, dh - dh // 2), (dw // 2, dw - dw // 2)))
            v = up(jnp.concatenate([skip, v]))
        v = self.outc(v)[:, :h, :w]
        v = jax.nn.gelu(self.proj1(v), approximate=False)
        return self.proj2(v)


_COMMON_DOC = """
    Layout: one sample, channels first, ``x`` of shape ``(in_channels, H, W)`` -> ``(out_channels, H,
    W)``; batch with ``jax.vmap``; ``key`` is unused (deterministic). Integer inputs are converted to the
    parameters' dtype (``dtype=None``: JAX's default float dtype). Initialises under ``jax.jit`` and
    ``eqx.filter_vmap`` over keys. Count parameters with :func:`jaxsci.training.num_real_parameters`.

    Architecture (``models/LSM_2D.py`` of thuml/Latent-Spectral-Models): grid features (the
    coordinates of the ``grid_layout`` grid, default ``"nodes"`` = ``linspace(0, 1, n)``, as the
    reference) appended as channels; pointwise lift to ``width``; zero padding at the right and bottom
    (``padding``; ``None``: the smallest padding for which every scale is divisible by the patch, e.g.
    ``85 -> 96`` for patch 6, as the reference's ``padding = 11``); a 5-scale U-Net: ``inc`` =
    DoubleConv(w, w), four (2x2 max pool, DoubleConv) to ``2w, 4w, 8w, 8w``, four (bilinear x2 upsampling
    with ``align_corners=True``, pad to the skip, concatenate ``[skip, up]``, DoubleConv with
    ``mid = in / 2``) to ``4w, 2w, w, w``, a pointwise ``w -> w``; crop the padding; head
    ``Linear(w -> projection_width)``, GELU, ``Linear(projection_width -> out_channels)``.
    DoubleConv = (3x3 conv without bias, norm, ReLU) twice.

    **Stated deviation:** the reference normalises with BatchNorm (batch statistics, a train/eval mode);
    here GroupNorm with ``norm_groups`` groups (default 1: statistics over all channels and points of
    one sample), so that the model is a pure function of one sample, vmapped by
    :func:`jaxsci.training.make_train_step` like every other jaxsci model, and its statistics are
    spatial averages (the same at any resolution).

    Cost: ``O(w^2 H W)`` per scale-0 convolution (``9 * 2 * w^2 * H * W`` multiply-adds), about
    ``1.5x`` that summed over the scales; memory ``O(w H W)`` activations per sample.
"""


@final
class UNet(eqx.Module):
    __doc__ = (
        """The U-Net of LSM's comparison table (the fixed-resolution baseline): the LSM backbone without
    the neural spectral blocks.

    ``UNet(in_channels, out_channels, *, width=64, padding=None, norm_groups=1,
    projection_width=128, grid_features=True, grid_layout="nodes", dtype=None, key)``. Any ``H, W >= 16``
    (smaller grids are padded to 16); odd sizes are handled as PyTorch's max pooling (floor) and the
    up path's padding to the skip's size. Its 3x3 stencils are tied to the grid: evaluated on a finer
    grid it is a different operator (see :class:`ResolutionAwareUNet`).
"""
        + _COMMON_DOC
    )

    core: _UNetCore

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        width: int = 64,
        padding: int | tuple[int, int] | None = None,
        norm_groups: int = 1,
        projection_width: int = 128,
        grid_features: bool = True,
        grid_layout: str = "nodes",
        dtype: Any = None,
        key: PRNGKeyArray,
    ):
        check_key(key)
        dtype = default_float_dtype(dtype)
        self.core = build(
            lambda draw: _UNetCore(
                in_channels,
                out_channels,
                width=width,
                spectral=False,
                num_basis=None,
                num_tokens=None,
                num_heads=None,
                patch_size=1,
                padding=padding,
                norm_groups=norm_groups,
                projection_width=projection_width,
                grid_features=grid_features,
                grid_layout=grid_layout,
                dtype=dtype,
                draw=draw,
            ),
            key,
            dtype,
        )

    def __call__(
        self, x: Real[ArrayLike, " c_in h w"], *, key: PRNGKeyArray | None = None
    ) -> Float[Array, " c_out h w"]:
        return self.core(x, key)


@final
class LSM(eqx.Module):
    __doc__ = (
        r"""Latent Spectral Model (Wu, Hu, Luo, Wang & Long, *Solving High-Dimensional PDEs with Latent
    Spectral Models*, ICML 2023, arXiv 2301.12664), the 2D model.

    ``LSM(in_channels, out_channels, *, width=64, num_basis=12, num_tokens=4, num_heads=8,
    patch_size=6, padding=None, norm_groups=1, projection_width=128, grid_features=True,
    grid_layout="nodes", dtype=None, key)``; the defaults are the paper's Darcy model (width 64, 12
    basis functions, 4 latent tokens, 8 heads, 6 x 6 patches; 85 x 85 inputs padded to 96); its
    Navier-Stokes model uses ``patch_size=4`` on 64 x 64 (no padding).

    Every skip tensor of the U-Net (widths ``w, 2w, 4w, 8w, 8w``) passes through its own neural spectral
    block before the up path uses it: per ``p x p`` patch, ``num_tokens`` learned latent tokens
    cross-attend to the patch's pixels (keys and values by a 1x1 conv ``C -> 2C``, ``num_heads`` heads,
    ``softmax(Q K^T) V`` without the ``1/sqrt(d)`` scale, residual), each token value passes the
    spectral transition :math:`z \leftarrow z + \sum_{m<n_b} w^s_{c,m} \sin(\pi m z / n_b) + w^c_{c,m}
    \cos(\pi m z / n_b)` (weights and tokens initialised ``U(0, 1) / C``), and the pixels attend back to
    the tokens (queries by a 1x1 conv, residual). So every scale's size (after padding and floor
    halving) must be divisible by ``patch_size``: ``padding=None`` picks the smallest padding that
    makes it so; an explicit ``padding`` that does not fit raises a ``ValueError`` naming ``x``,
    ``padding`` and ``patch_size``. ``width`` must be divisible by ``num_heads``.
"""
        + _COMMON_DOC
        + """
    The blocks add ``O(C H W T)`` per scale (``T = num_tokens``). Resolution: the patches have a fixed
    number of pixels, so a finer grid changes the operator (LSM's author: "no one can perform real
    zero-shot, even FNO"); evaluate at other resolutions through :class:`InterpolatedOperator`.
    """
    )

    core: _UNetCore

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        width: int = 64,
        num_basis: int = 12,
        num_tokens: int = 4,
        num_heads: int = 8,
        patch_size: int = 6,
        padding: int | tuple[int, int] | None = None,
        norm_groups: int = 1,
        projection_width: int = 128,
        grid_features: bool = True,
        grid_layout: str = "nodes",
        dtype: Any = None,
        key: PRNGKeyArray,
    ):
        check_key(key)
        dtype = default_float_dtype(dtype)
        self.core = build(
            lambda draw: _UNetCore(
                in_channels,
                out_channels,
                width=width,
                spectral=True,
                num_basis=num_basis,
                num_tokens=num_tokens,
                num_heads=num_heads,
                patch_size=patch_size,
                padding=padding,
                norm_groups=norm_groups,
                projection_width=projection_width,
                grid_features=grid_features,
                grid_layout=grid_layout,
                dtype=dtype,
                draw=draw,
            ),
            key,
            dtype,
        )

    def __call__(
        self, x: Real[ArrayLike, " c_in h w"], *, key: PRNGKeyArray | None = None
    ) -> Float[Array, " c_out h w"]:
        return self.core(x, key)
