"""Equinox wrappers: a spectral convolution layer and the Fourier Neural Operator; grid layouts."""

from __future__ import annotations

import functools as ft
import math
from collections.abc import Callable, Sequence
from typing import Any, final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray, Real

from .._checks import (
    check_choice,
    check_ndim,
    check_positive_int,
    check_range,
    default_float_dtype,
    error_if_not,
)
from ._conv import _as_modes, check_modes_fit, num_blocks, spectral_conv
from ._inputs import as_real, check_key, check_nonempty

__all__ = ["FNO", "GRID_LAYOUTS", "SpectralConv", "grid_coordinates"]

#: The point layouts of fields on ``[0, 1]^d`` used across jaxsci (per axis, ``n`` points):
#:
#: - ``"nodes"``: ``x_i = i / (n - 1)``, boundary included (``jaxsci.data.darcy``, the FNO scripts'
#:   ``linspace(0, 1, n)``; :func:`jaxsci.training.resample` and ``relative_h1(method="fd")``);
#: - ``"interior"``: ``x_i = (i + 1) / (n + 1)``, the interior nodes of a Dirichlet problem
#:   (:mod:`jaxsci.multigrid` Dirichlet grids, :func:`jaxsci.spectral.solve_dirichlet`); the interior
#:   of a ``"nodes"`` grid of ``n + 2`` points: ``u_nodes[..., 1:-1, 1:-1]`` <-> ``jnp.pad(u, 1)``;
#: - ``"periodic"``: ``x_j = j / n`` (``jaxsci.data.burgers``, ``grf(bc="periodic")``,
#:   :func:`jaxsci.spectral.solve_periodic`);
#: - ``"cells"``: ``x_j = (j + 1/2) / n``, cell centres (``grf(bc="neumann")``).
GRID_LAYOUTS = ("nodes", "interior", "periodic", "cells")


def _as_float(x, dtype):
    """Inputs are converted to the parameters' floating dtype (integers and booleans included);
    complex inputs raise (their imaginary part would be dropped)."""
    return as_real(x, "x", integers=True).astype(dtype)


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


@final
class SpectralConv(eqx.Module):
    """Learned spectral convolution layer: :func:`jaxsci.spectral.spectral_conv` with its weights.

    ``SpectralConv(in_channels, out_channels, modes, *, ndim=None, method="fft", dtype=None, key)``;
    ``layer(x, *, out_shape=None, key=None)`` with ``x`` of shape ``(in_channels, *spatial)`` (integer
    inputs are converted to the weights' dtype; ``key`` is unused: the layer is deterministic).
    ``dtype=None`` is JAX's default float dtype.

    Weights ``w_re``, ``w_im``: shape ``(2^(d-1), in_channels, out_channels, *modes)``, each entry
    ``N(0, s^2 / 2)`` with ``s = sqrt(2 / (in_channels + out_channels))`` (the complex weight has
    variance ``s^2``, as neuraloperator's ``init_std``). Initialises under ``jax.jit`` and
    ``eqx.filter_vmap`` over keys (ensembles).
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
        dtype: Any = None,
        key: PRNGKeyArray,
    ):
        check_positive_int(in_channels, "in_channels")
        check_positive_int(out_channels, "out_channels")
        check_choice(method, "method", ("fft", "dft"))
        check_key(key)
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
            key, (("normal", shape, std), ("normal", shape, std)), default_float_dtype(dtype)
        )

    def __check_init__(self):
        if self.w_re.shape != self.w_im.shape:
            raise ValueError(
                f"`w_re` and `w_im` must have the same shape, got {self.w_re.shape} and "
                f"{self.w_im.shape}."
            )
        d = len(self.modes)
        if self.w_re.ndim != d + 3 or tuple(self.w_re.shape[3:]) != self.modes:
            raise ValueError(
                f"the weights must have shape (2^(d-1), C_in, C_out, *modes) with modes "
                f"{self.modes}, got {self.w_re.shape}."
            )
        if self.w_re.shape[0] != num_blocks(d):
            raise ValueError(
                f"the weights must hold {num_blocks(d)} corner blocks, got {self.w_re.shape[0]}."
            )

    @property
    def in_channels(self) -> int:
        return self.w_re.shape[1]

    @property
    def out_channels(self) -> int:
        return self.w_re.shape[2]

    def __call__(
        self,
        x: Real[ArrayLike, " c_in *spatial"],
        *,
        out_shape: Sequence[int] | None = None,
        key: PRNGKeyArray | None = None,
    ) -> Float[Array, " c_out *out_spatial"]:
        del key
        x = _as_float(x, self.w_re.dtype)
        check_ndim(x, "x", len(self.modes) + 1)
        if x.shape[0] != self.in_channels:
            raise ValueError(
                f"`x` must have {self.in_channels} channels (shape (in_channels, *spatial)), "
                f"got shape {x.shape}."
            )
        return spectral_conv(
            x, self.w_re, self.w_im, self.modes, out_shape=out_shape, method=self.method
        )


def grid_coordinates(
    spatial: Sequence[int], dtype: Any = None, *, layout: str = "nodes"
) -> Float[Array, " d *spatial"]:
    """The coordinates of a grid of ``spatial`` points on ``[0, 1]^d`` in one of the
    :data:`GRID_LAYOUTS`, stacked to shape ``(d, *spatial)`` (``ij`` indexing).

    - ``"nodes"`` (default): ``x_i = i / (n - 1)``, boundary included (``jaxsci.data.darcy``; the FNO
      scripts' ``linspace(0, 1, n)``); a single point sits at 0;
    - ``"interior"``: ``x_i = (i + 1) / (n + 1)``, the Dirichlet interior nodes of
      :mod:`jaxsci.multigrid` and :func:`solve_dirichlet` (the interior of ``"nodes"`` on ``n + 2``);
    - ``"periodic"``: ``x_j = j / n`` (``jaxsci.data.burgers``, periodic GRFs, :func:`solve_periodic`);
    - ``"cells"``: ``x_j = (j + 1/2) / n`` (cell centres, ``grf(bc="neumann")``).

    Built in float64 on the host, returned in ``dtype`` (``None``: JAX's default float dtype).
    """
    check_choice(layout, "layout", GRID_LAYOUTS)
    if isinstance(spatial, (int, np.integer)) or not hasattr(spatial, "__iter__"):
        raise TypeError(f"`spatial` must be a sequence of sizes, got {spatial!r}.")
    spatial = tuple(spatial)
    if not spatial:
        raise ValueError("`spatial` must have at least one entry, got ().")
    axes = []
    for n in spatial:
        n = check_positive_int(n, "spatial")
        i = np.arange(n, dtype=np.float64)
        if layout == "nodes":
            axes.append(i / (n - 1) if n > 1 else np.zeros(1))
        elif layout == "interior":
            axes.append((i + 1) / (n + 1))
        elif layout == "periodic":
            axes.append(i / n)
        else:
            axes.append((i + 0.5) / n)
    mesh = np.meshgrid(*axes, indexing="ij")
    return jnp.asarray(np.stack(mesh), dtype=default_float_dtype(dtype))


@final
class FNO(eqx.Module):
    r"""Fourier Neural Operator (Li et al., ICLR 2021, arXiv 2010.08895) for 1D, 2D and 3D fields.

    ``FNO(in_channels, out_channels, *, modes=(12, 12), width=32, depth=4, projection_width=128,
    grid_features=True, grid_layout="nodes", padding=0.0, activation=jax.nn.gelu, method="fft",
    dtype=None, key)``; ``model(x, *, key=None)`` maps ``x`` of shape ``(in_channels, *spatial)`` to
    ``(out_channels, *spatial)`` (one sample; batch with ``jax.vmap``; ``key`` is unused, the model
    is deterministic). ``len(modes)`` sets the dimension ``d`` (1, 2 or 3); ``spatial`` may be any
    grid the modes fit (``m_a <= n_a // 2``, last axis ``m_d <= n_d // 2 + 1``), so a model trained
    at one resolution is evaluated at another. ``dtype=None`` is JAX's default float dtype; integer
    inputs are converted to it. Initialises under ``jax.jit`` and ``eqx.filter_vmap`` over keys.

    Architecture:

    1. grid features (optional): the ``d`` coordinates of the input grid in the layout
       ``grid_layout`` (:func:`grid_coordinates`; default ``"nodes"``, ``x_i = i/(n-1)``: the layout of
       ``jaxsci.data.darcy`` and of the FNO scripts; ``"periodic"``, ``x_j = j/n``, for periodic data
       such as ``jaxsci.data.burgers``), computed from the input's resolution, appended as channels.
       The layout must be the data's, or the features of one physical point change with resolution;
    2. lifting: pointwise linear ``in_channels (+ d) -> width``;
    3. domain padding (optional, for non-periodic problems): zero-pad each axis at its end by
       ``round(padding * n)`` points (a fraction, so it scales with resolution), removed before 5;
    4. ``depth`` Fourier layers ``v <- act(W v + b + K v)``, ``K`` = :class:`SpectralConv` and ``W`` a
       pointwise skip; no activation after the last layer (as in the original FNO);
    5. projection: pointwise MLP ``width -> projection_width -> out_channels`` with ``act`` between.

    Initialisation: pointwise weights and biases ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (PyTorch's
    Conv default); spectral weights as :class:`SpectralConv`.

    Parameter count in real scalars (:func:`jaxsci.training.num_real_parameters`), with
    ``c = in_channels + d`` if ``grid_features`` else ``in_channels``, ``w = width``,
    ``p = projection_width``, ``M = prod(modes)``:
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
    grid_layout: str = eqx.field(static=True)
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
        grid_layout: str = "nodes",
        padding: float = 0.0,
        activation: Callable[[Array], Array] = jax.nn.gelu,
        method: str = "fft",
        dtype: Any = None,
        key: PRNGKeyArray,
    ):
        check_positive_int(in_channels, "in_channels")
        check_positive_int(out_channels, "out_channels")
        check_positive_int(width, "width")
        check_positive_int(depth, "depth")
        check_positive_int(projection_width, "projection_width")
        check_key(key)
        check_range(padding, "padding", 0.0, 1.0, closed="left")
        check_choice(grid_layout, "grid_layout", GRID_LAYOUTS)
        if isinstance(modes, (int, np.integer)):
            raise TypeError(
                f"`modes` must be a tuple with one entry per spatial axis, got {modes!r}."
            )
        d = len(tuple(modes))
        check_choice(d, "len(modes)", (1, 2, 3))
        modes = _as_modes(modes, d)
        dtype = default_float_dtype(dtype)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.modes, self.width, self.depth = modes, int(width), int(depth)
        self.grid_features, self.grid_layout = bool(grid_features), grid_layout
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
        arrays = _draw(key_pointwise, tuple(specs), dtype)
        self.lift_w, self.lift_b = arrays[0], arrays[1]
        self.skip_w = tuple(arrays[2 : 2 + 2 * depth : 2])
        self.skip_b = tuple(arrays[3 : 3 + 2 * depth : 2])
        self.proj1_w, self.proj1_b, self.proj2_w, self.proj2_b = arrays[2 + 2 * depth :]

    def __check_init__(self):
        c = self.in_channels + (len(self.modes) if self.grid_features else 0)
        if self.lift_w.shape != (self.width, c):
            raise ValueError(
                f"`lift_w` must have shape (width, in_channels (+ d)) = {(self.width, c)}, "
                f"got {self.lift_w.shape}."
            )
        if not len(self.spectral) == len(self.skip_w) == len(self.skip_b) == self.depth:
            raise ValueError(f"the model must hold `depth` = {self.depth} Fourier layers.")
        if any(sc.modes != self.modes for sc in self.spectral):
            raise ValueError(f"every Fourier layer must keep `modes` = {self.modes}.")
        if self.proj2_w.shape[0] != self.out_channels:
            raise ValueError(
                f"`proj2_w` must have {self.out_channels} rows, got shape {self.proj2_w.shape}."
            )
        check_choice(self.grid_layout, "grid_layout", GRID_LAYOUTS)

    @property
    def ndim(self) -> int:
        """Number of spatial dimensions."""
        return len(self.modes)

    def __call__(
        self, x: Real[ArrayLike, " c_in *spatial"], *, key: PRNGKeyArray | None = None
    ) -> Float[Array, " c_out *spatial"]:
        del key
        d = self.ndim
        check_ndim(x, "x", d + 1)
        if jnp.shape(x)[0] != self.in_channels:
            raise ValueError(
                f"`x` must have {self.in_channels} channels (shape (in_channels, *spatial)), "
                f"got shape {jnp.shape(x)}."
            )
        dtype = self.lift_w.dtype
        x = _as_float(x, dtype)
        check_nonempty(x, "x")
        # NaN/inf would spread to every output point through the Fourier modes: refuse it at run time.
        x = error_if_not(x, jnp.isfinite(x), "`x` must be finite (no NaN or inf).")
        spatial = x.shape[1:]
        pads = [int(round(self.padding * n)) for n in spatial]
        padded = tuple(n + p for n, p in zip(spatial, pads, strict=True))
        check_modes_fit(self.modes, padded, "x", modes_name="modes")
        if self.grid_features:
            grid = grid_coordinates(spatial, dtype, layout=self.grid_layout)
            x = jnp.concatenate([x, grid], axis=0)
        v = _pointwise(self.lift_w, self.lift_b, x)
        if any(pads):
            v = jnp.pad(v, [(0, 0)] + [(0, p) for p in pads])
        for i, (sc, w, b) in enumerate(zip(self.spectral, self.skip_w, self.skip_b, strict=True)):
            v = _pointwise(w, b, v) + sc(v)
            if i < self.depth - 1:
                v = self.activation(v)
        if any(pads):
            v = v[(slice(None),) + tuple(slice(0, n) for n in spatial)]
        v = self.activation(_pointwise(self.proj1_w, self.proj1_b, v))
        return _pointwise(self.proj2_w, self.proj2_b, v)
