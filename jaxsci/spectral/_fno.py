"""Equinox wrappers: a spectral convolution layer and the Fourier Neural Operator."""

from __future__ import annotations

import functools as ft
import math
from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PyTree

from .._checks import check_choice, check_ndim, check_positive_int, check_range
from ._conv import _as_modes, check_modes_fit, num_blocks, spectral_conv

__all__ = ["FNO", "SpectralConv", "num_real_parameters"]


def num_real_parameters(model: PyTree) -> int:
    """Number of trainable real scalars in ``model`` (the sum of the sizes of its inexact array leaves).

    jaxsci stores every complex weight as two real arrays (``w_re``, ``w_im``), so this count already
    counts a complex weight twice, as the FNO papers' ``count_params`` does; a complex leaf, if a user
    model has one, is counted twice here too. Works on ``jax.eval_shape`` outputs (no allocation).
    Static fields and non-float leaves are not counted. (A plain ``numel`` sum over complex tensors, as in
    PyTorch, counts it once: the Darcy FNO2d has 2,368,001 real scalars but 1,188,353 "numel".)
    """
    total = 0
    for leaf in jax.tree.leaves(model):
        # arrays, and ShapeDtypeStructs so that `jax.eval_shape(make_model, key)` can be counted
        dtype = getattr(leaf, "dtype", None)
        if dtype is None or not hasattr(leaf, "shape") or not jnp.issubdtype(dtype, jnp.inexact):
            continue
        total += int(np.prod(leaf.shape)) * (2 if jnp.issubdtype(dtype, jnp.complexfloating) else 1)
    return total


@ft.partial(jax.jit, static_argnames=("specs", "dtype"))
def _draw(key, specs, dtype):
    """Draw all initial arrays in one compiled program from two flat (1-D) draws.

    Eager per-array draws compile one kernel per shape, and XLA's compile time of a random draw grows
    with its rank (seconds for a 5-D weight on CPU); flat draws reshaped afterwards avoid both.
    ``specs``: tuple of (kind, shape, scale), kind "normal" (std = scale) or "uniform" (U(-scale, scale)).
    """
    sizes = [int(np.prod(shape)) for _, shape, _ in specs]
    k_normal, k_uniform = jax.random.split(key)
    n_normal = sum(n for n, (kind, _, _) in zip(sizes, specs, strict=False) if kind == "normal")
    n_uniform = sum(sizes) - n_normal
    normal = jax.random.normal(k_normal, (n_normal,), dtype)
    uniform = jax.random.uniform(k_uniform, (n_uniform,), dtype, minval=-1.0, maxval=1.0)
    out, i_n, i_u = [], 0, 0
    for n, (kind, shape, scale) in zip(sizes, specs, strict=False):
        if kind == "normal":
            out.append(scale * normal[i_n : i_n + n].reshape(shape))
            i_n += n
        else:
            out.append(scale * uniform[i_u : i_u + n].reshape(shape))
            i_u += n
    return out


def _pointwise(w: Array, b: Array | None, x: Array) -> Array:
    """1x1 convolution: ``(C_out, C_in) @ (C_in, *spatial) + b``."""
    y = jnp.tensordot(w, x, axes=([1], [0]))
    if b is not None:
        y = y + b.reshape((-1,) + (1,) * (x.ndim - 1))
    return y


class SpectralConv(eqx.Module):
    """Learned spectral convolution layer: :func:`jaxsci.spectral.spectral_conv` with its weights.

    ``SpectralConv(in_channels, out_channels, modes, *, key, dtype=float32, method="fft")``;
    ``layer(x, out_shape=None)`` with ``x`` of shape ``(in_channels, *spatial)``.

    Weights ``w_re``, ``w_im``: shape ``(2^(d-1), in_channels, out_channels, *modes)``, each entry
    ``N(0, s^2 / 2)`` with ``s = sqrt(2 / (in_channels + out_channels))`` (the complex weight has
    variance ``s^2``, as neuraloperator's ``init_std``).
    """

    w_re: Float[Array, " blocks c_in c_out *modes"]
    w_im: Float[Array, " blocks c_in c_out *modes"]
    modes: tuple[int, ...] = eqx.field(static=True)
    method: str = eqx.field(static=True)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        modes: int | Sequence[int],
        *,
        ndim: int | None = None,
        method: str = "fft",
        dtype=jnp.float32,
        key: Array,
    ):
        check_positive_int(in_channels, "in_channels")
        check_positive_int(out_channels, "out_channels")
        check_choice(method, "method", ("fft", "dft"))
        if ndim is None:
            if isinstance(modes, (int, np.integer)):
                raise ValueError("`ndim` is required when `modes` is an int.")
            ndim = len(tuple(modes))
        check_choice(ndim, "ndim", (1, 2, 3))
        self.modes = _as_modes(modes, ndim)
        self.method = method
        shape = (num_blocks(ndim), in_channels, out_channels, *self.modes)
        std = math.sqrt(2.0 / (in_channels + out_channels)) / math.sqrt(2.0)
        self.w_re, self.w_im = _draw(
            key, (("normal", shape, std), ("normal", shape, std)), jnp.dtype(dtype)
        )

    def __call__(
        self, x: Float[Array, " c_in *spatial"], *, out_shape: Sequence[int] | None = None
    ) -> Float[Array, " c_out *out_spatial"]:
        return spectral_conv(
            x, self.w_re, self.w_im, self.modes, out_shape=out_shape, method=self.method
        )


def grid_coordinates(spatial: Sequence[int], dtype, endpoint: bool = False) -> Array:
    """Coordinates of a grid on ``[0, 1)^d`` (``x_j = j / n``), or ``[0, 1]^d`` with ``endpoint``
    (``x_j = j / (n - 1)``, the FNO paper's Darcy convention); shape ``(d, *spatial)``."""
    axes = [np.linspace(0.0, 1.0, n, endpoint=endpoint) if n > 1 else np.zeros(1) for n in spatial]
    mesh = np.meshgrid(*axes, indexing="ij")
    return jnp.asarray(np.stack(mesh), dtype=dtype)


class FNO(eqx.Module):
    r"""Fourier Neural Operator (Li et al., ICLR 2021, arXiv 2010.08895) for 1D, 2D and 3D fields.

    ``FNO(in_channels, out_channels, *, modes=(12, 12), width=32, depth=4, projection_width=128,
    grid_features=True, grid_endpoint=False, padding=0.0, activation=jax.nn.gelu, method="fft",
    dtype=jnp.float32, key)``; ``model(x)`` maps ``x`` of shape ``(in_channels, *spatial)`` to
    ``(out_channels, *spatial)`` (one sample; batch with ``jax.vmap``). ``len(modes)`` sets the
    dimension ``d`` (1, 2 or 3); ``spatial`` may be any grid the modes fit (``m_a <= n_a // 2``, last
    axis ``m_d <= n_d // 2 + 1``), so a model trained at one resolution is evaluated at another.

    Architecture:

    1. grid features (optional): the ``d`` coordinates of the input grid (``x_j = j/n`` in ``[0, 1)``,
       or ``j/(n-1)`` with ``grid_endpoint=True``), computed from the input's resolution, appended as
       channels;
    2. lifting: pointwise linear ``in_channels (+ d) -> width``;
    3. domain padding (optional, for non-periodic problems): zero-pad each axis at its end by
       ``round(padding * n)`` points (a fraction, so it scales with resolution), removed before 5;
    4. ``depth`` Fourier layers ``v <- act(W v + b + K v)``, ``K`` = :class:`SpectralConv` and ``W`` a
       pointwise skip; no activation after the last layer (as in the original FNO);
    5. projection: pointwise MLP ``width -> projection_width -> out_channels`` with ``act`` between.

    Initialisation: pointwise weights and biases ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (PyTorch's
    Conv default); spectral weights as :class:`SpectralConv`.

    Parameter count in real scalars (:func:`num_real_parameters`), with ``c = in_channels + d`` if
    ``grid_features`` else ``in_channels``, ``w = width``, ``p = projection_width``, ``M = prod(modes)``:
    ``(c + 1) w + depth (2 * 2^(d-1) w^2 M + w^2 + w) + (w + 1) p + (p + 1) out_channels``.
    """

    lift_w: Float[Array, " width c"]
    lift_b: Float[Array, " width"]
    spectral: tuple[SpectralConv, ...]
    skip_w: tuple[Float[Array, " width width"], ...]
    skip_b: tuple[Float[Array, " width"], ...]
    proj1_w: Float[Array, " p width"]
    proj1_b: Float[Array, " p"]
    proj2_w: Float[Array, " out p"]
    proj2_b: Float[Array, " out"]
    in_channels: int = eqx.field(static=True)
    out_channels: int = eqx.field(static=True)
    modes: tuple[int, ...] = eqx.field(static=True)
    width: int = eqx.field(static=True)
    depth: int = eqx.field(static=True)
    grid_features: bool = eqx.field(static=True)
    grid_endpoint: bool = eqx.field(static=True)
    padding: float = eqx.field(static=True)
    activation: Callable[[Array], Array] = eqx.field(static=True)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        modes: Sequence[int] = (12, 12),
        width: int = 32,
        depth: int = 4,
        projection_width: int = 128,
        grid_features: bool = True,
        grid_endpoint: bool = False,
        padding: float = 0.0,
        activation: Callable[[Array], Array] = jax.nn.gelu,
        method: str = "fft",
        dtype=jnp.float32,
        key: Array,
    ):
        check_positive_int(in_channels, "in_channels")
        check_positive_int(out_channels, "out_channels")
        check_positive_int(width, "width")
        check_positive_int(depth, "depth")
        check_positive_int(projection_width, "projection_width")
        check_range(padding, "padding", 0.0, 1.0, closed="left")
        if isinstance(modes, (int, np.integer)):
            raise TypeError(
                f"`modes` must be a tuple with one entry per spatial axis, got {modes!r}."
            )
        d = len(tuple(modes))
        check_choice(d, "len(modes)", (1, 2, 3))
        modes = _as_modes(modes, d)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.modes, self.width, self.depth = modes, int(width), int(depth)
        self.grid_features, self.grid_endpoint = bool(grid_features), bool(grid_endpoint)
        self.padding = float(padding)
        self.activation = activation
        c = in_channels + (d if grid_features else 0)
        key_spectral, key_pointwise = jax.random.split(key)
        self.spectral = tuple(
            SpectralConv(width, width, modes, method=method, dtype=dtype, key=k)
            for k in jax.random.split(key_spectral, depth)
        )
        bc, bw, bp = 1 / math.sqrt(c), 1 / math.sqrt(width), 1 / math.sqrt(projection_width)
        specs = [("uniform", (width, c), bc), ("uniform", (width,), bc)]
        specs += [("uniform", (width, width), bw), ("uniform", (width,), bw)] * depth
        specs += [
            ("uniform", (projection_width, width), bw),
            ("uniform", (projection_width,), bw),
            ("uniform", (out_channels, projection_width), bp),
            ("uniform", (out_channels,), bp),
        ]
        arrays = _draw(key_pointwise, tuple(specs), jnp.dtype(dtype))
        self.lift_w, self.lift_b = arrays[0], arrays[1]
        self.skip_w = tuple(arrays[2 : 2 + 2 * depth : 2])
        self.skip_b = tuple(arrays[3 : 3 + 2 * depth : 2])
        self.proj1_w, self.proj1_b, self.proj2_w, self.proj2_b = arrays[2 + 2 * depth :]

    @property
    def ndim(self) -> int:
        """Number of spatial dimensions."""
        return len(self.modes)

    def __call__(self, x: Float[Array, " c_in *spatial"]) -> Float[Array, " c_out *spatial"]:
        d = self.ndim
        check_ndim(x, "x", d + 1)
        if x.shape[0] != self.in_channels:
            raise ValueError(
                f"`x` must have {self.in_channels} channels (shape (in_channels, *spatial)), "
                f"got shape {x.shape}."
            )
        spatial = x.shape[1:]
        pads = [int(round(self.padding * n)) for n in spatial]
        padded = tuple(n + p for n, p in zip(spatial, pads, strict=False))
        check_modes_fit(self.modes, padded, "x", modes_name="modes")
        dtype = self.lift_w.dtype
        x = jnp.asarray(x, dtype)
        if self.grid_features:
            x = jnp.concatenate([x, grid_coordinates(spatial, dtype, self.grid_endpoint)], axis=0)
        v = _pointwise(self.lift_w, self.lift_b, x)
        if any(pads):
            v = jnp.pad(v, [(0, 0)] + [(0, p) for p in pads])
        for i, (sc, w, b) in enumerate(zip(self.spectral, self.skip_w, self.skip_b, strict=False)):
            v = _pointwise(w, b, v) + sc(v)
            if i < self.depth - 1:
                v = self.activation(v)
        if any(pads):
            v = v[(slice(None),) + tuple(slice(0, n) for n in spatial)]
        v = self.activation(_pointwise(self.proj1_w, self.proj1_b, v))
        return _pointwise(self.proj2_w, self.proj2_b, v)
