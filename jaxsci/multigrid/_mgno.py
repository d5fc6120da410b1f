"""MgNO: the multigrid neural operator of He, Liu & Xu (ICLR 2024, arXiv 2310.19809)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any, final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray, Real

from .._checks import default_float_dtype, error_if_not
from ..spectral._fno import _as_float, _draw

__all__ = ["MgConv", "MgNO", "mgno_num_parameters"]

_PAD_MODES = {
    "zeros": "constant",
    "reflect": "reflect",
    "edge": "edge",
    "replicate": "edge",
    "circular": "wrap",
}
DARCY_ITERATIONS = ((1, 0), (1, 0), (1, 0), (1, 0), (1, 0), (2, 0))


def _conv_spec(c_out: int, c_in: int, ndim: int, size: int = 3) -> tuple:
    """A 3x3 (or 4x4) convolution weight ``(c_out, c_in, size, ..., size)`` drawn from PyTorch's default
    Conv init ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, ``fan_in = c_in size^ndim`` (kaiming_uniform with
    ``a = sqrt(5)``), as a spec of :func:`jaxsci.spectral._fno._draw`."""
    shape = (c_out, c_in) + (size,) * ndim
    return ("uniform", shape, 1.0 / math.sqrt(c_in * size**ndim))


def _pad(x, width: int, mode: str):
    """Pad the spatial axes of a channels-first ``x`` by ``width`` on both sides."""
    pad = [(0, 0)] + [(width, width)] * (x.ndim - 1)
    return jnp.pad(x, pad, mode=_PAD_MODES[mode])


def _conv(x, w, mode: str, stride: int = 1):
    """3x3 (or 1x1) convolution of a single channels-first sample with boundary padding ``mode``.

    Output size ``ceil(n / stride)`` per axis (stride 2 restricts ``n -> ceil(n/2)``, odd ``n`` too).
    """
    k = w.shape[-1]
    if k > 1:
        x = _pad(x, k // 2, mode)
    nd = x.ndim - 1
    y = jax.lax.conv_general_dilated(x[None], w, window_strides=(stride,) * nd, padding="VALID")
    return y[0]


# Sub-pixel form of the stride-2 transposed 4-tap convolution: output parity r on each axis is a
# 3-tap correlation of the padded coarse grid, taps (w0, w2, 0) for r = 0 and (0, w1, w3) for r = 1.
_PARITY_TAPS = np.zeros((2, 3, 4))
_PARITY_TAPS[0, 0, 0] = _PARITY_TAPS[0, 1, 2] = _PARITY_TAPS[1, 1, 1] = _PARITY_TAPS[1, 2, 3] = 1.0


def _prolong(x, w, mode: str, shape: tuple[int, ...]):
    """Transposed 4x4 stride-2 convolution (PyTorch ``ConvTranspose(k=4, s=2, p=1)`` with the kernel
    flipped: ``m -> 2m``), the coarse grid padded by one cell in the boundary mode, cropped to ``shape``.

    Computed in sub-pixel form: one stride-1 3x3 convolution with ``2^d`` times the output channels
    (one per output parity) and an interleave, instead of an input-dilated convolution, which XLA
    runs several times slower on CPU (and whose gradient is again input-dilated).
    """
    nd = x.ndim - 1
    c_out = w.shape[0]
    taps = jnp.asarray(_PARITY_TAPS, w.dtype)
    ks, rs, ts = "abc"[:nd], "def"[:nd], "ghj"[:nd]
    spec = (
        f"oi{ks},"
        + ",".join(f"{r}{t}{k}" for r, t, k in zip(rs, ts, ks, strict=False))
        + f"->o{rs}i{ts}"
    )
    kernel = jnp.einsum(spec, w, *([taps] * nd))  # (c_out, r_1..r_d, c_in, t_1..t_d)
    kernel = kernel.reshape((c_out * 2**nd, w.shape[1]) + (3,) * nd)
    y = jax.lax.conv_general_dilated(_pad(x, 1, mode)[None], kernel, (1,) * nd, "VALID")[0]
    m = x.shape[1:]
    y = y.reshape((c_out,) + (2,) * nd + m)  # (c, r_1..r_d, m_1..m_d)
    perm = [0] + [q for axis in range(nd) for q in (1 + nd + axis, 1 + axis)]  # (c, m_1, r_1, ...)
    y = y.transpose(perm).reshape((c_out,) + tuple(2 * n for n in m))
    return y[(slice(None),) + tuple(slice(0, n) for n in shape)]


def _interpolation_matrix(n_out: int, n_in: int, periodic: bool) -> np.ndarray:
    """``(n_out, n_in)`` linear interpolation between 1D grids covering the same interval: node grids
    ``x_i = i/(n-1)`` (endpoints included), or periodic grids ``x_i = i/n`` (wrapping).

    On nested grids it is exact injection one way (``2m-1 -> m`` nodes, ``2m -> m`` periodic points) and
    linear interpolation the other, so ``restrict @ prolong = I``. Built in float64 on the host."""
    mat = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    if periodic:
        pos = rows * (n_in / n_out)
    else:
        pos = rows * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros(1)
    lo = np.floor(pos + 1e-9).astype(int)
    t = pos - lo
    t[np.abs(t) < 1e-9] = 0.0
    lo = np.mod(lo, n_in) if periodic else np.minimum(lo, n_in - 1)
    hi = np.mod(lo + 1, n_in) if periodic else np.minimum(lo + 1, n_in - 1)
    np.add.at(mat, (rows, lo), 1.0 - t)
    np.add.at(mat, (rows, hi), t)
    return mat


def _resample(x, shape: tuple[int, ...], periodic: bool):
    """Separable linear resampling of a channels-first ``x`` onto the grid ``shape`` (see
    :func:`_interpolation_matrix`). Cost O(C N n) for ``N`` points and ``n`` per axis."""
    for axis, n_out in enumerate(shape, start=1):
        n_in = x.shape[axis]
        if n_in == n_out:
            continue
        mat = jnp.asarray(_interpolation_matrix(n_out, n_in, periodic), x.dtype)
        x = jnp.moveaxis(jnp.tensordot(mat, x, axes=((1,), (axis,))), 0, axis)
    return x


@final
class MgConv(eqx.Module):
    """One multi-channel learned V-cycle ``f -> u`` (the neuron-to-neuron linear operator of MgNO).

    With ``f_0 = f`` (``C_f`` channels) and ``u`` with ``C_u`` channels on level ``l = 0..L-1``:

    - level 0 starts with ``u_0 = S_0 f_0``; every further pre-smoothing step (and every step on the
      coarser levels) is ``u_l <- u_l + S_l (f_l - A_l u_l)`` with 3x3 convolutions ``A_l: C_u -> C_f``,
      ``S_l: C_f -> C_u``;
    - going down: ``u_{l+1} = Pi_l u_l`` and ``f_{l+1} = R_l f_l`` (or, with ``use_res=True``, the true
      residual restriction ``f_{l+1} = R_l (f_l - A'_l u_l)``), stride-2 3x3 convolutions;
    - going up: ``u_l <- u_l + P_l u_{l+1}`` (transposed 4x4 stride-2 convolution), then the optional
      post-smoothing steps.

    Boundary conditions enter through the padding ``mode`` of every 3x3 convolution and of the
    prolongation: ``"zeros"`` (Dirichlet-like), ``"reflect"``/``"edge"`` (Neumann-like), ``"circular"``
    (periodic). Any grid size works: restriction maps ``n -> ceil(n/2)``, prolongation crops
    ``2 ceil(n/2) -> n``. Linear in ``f``; no biases (as in the reference ``MgConv_DC``).
    Cost per application: about ``(4/3) (#3x3 convs on level 0) * 9 C_u C_f N`` multiply-adds in 2D.
    """

    init_smoother: Array
    pre: list  # pre[l] = list of (A, S) weight pairs on level l
    post: list  # post[l] = list of (A, S) pairs after the coarse correction on level l
    restrict_u: list  # Pi_l
    restrict_f: list  # R_l
    residual_op: list  # A'_l (use_res) or empty
    prolong: list  # P_l
    padding_mode: str = eqx.field(static=True)
    use_res: bool = eqx.field(static=True)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_iterations: Sequence[Sequence[int]],
        *,
        num_spatial_dims: int = 2,
        padding_mode: str = "zeros",
        use_res: bool = False,
        dtype: Any = None,
        key: PRNGKeyArray,
    ):
        cf, cu, nd = int(in_channels), int(out_channels), int(num_spatial_dims)
        its = _check_iterations(num_iterations)
        if padding_mode not in _PAD_MODES:
            raise ValueError(
                f"`padding_mode` must be one of {tuple(_PAD_MODES)}, got {padding_mode!r}."
            )
        levels = len(its)
        num_pre = [it[0] - (1 if l == 0 else 0) for l, it in enumerate(its)]
        num_post = [it[1] for it in its]
        pair = [_conv_spec(cf, cu, nd), _conv_spec(cu, cf, nd)]  # (A, S)
        specs = [_conv_spec(cu, cf, nd)]
        specs += pair * (sum(num_pre) + sum(num_post))
        specs += [_conv_spec(cu, cu, nd)] * (levels - 1)  # Pi
        specs += [_conv_spec(cf, cf, nd)] * (levels - 1)  # R
        specs += [_conv_spec(cf, cu, nd)] * ((levels - 1) if use_res else 0)  # A'
        # PyTorch ConvTranspose fan_in uses weight.size(1) * k^d = C_u * 4^d.
        specs += [_conv_spec(cu, cu, nd, size=4)] * (levels - 1)  # P
        arrays = iter(_draw(key, tuple(specs), default_float_dtype(dtype)))
        self.init_smoother = next(arrays)
        self.pre = [[(next(arrays), next(arrays)) for _ in range(n)] for n in num_pre]
        self.post = [[(next(arrays), next(arrays)) for _ in range(n)] for n in num_post]
        self.restrict_u = [next(arrays) for _ in range(levels - 1)]
        self.restrict_f = [next(arrays) for _ in range(levels - 1)]
        self.residual_op = [next(arrays) for _ in range(levels - 1)] if use_res else []
        self.prolong = [next(arrays) for _ in range(levels - 1)]
        self.padding_mode = padding_mode
        self.use_res = bool(use_res)

    def __check_init__(self):
        levels = len(self.pre)
        if not (len(self.post) == levels and len(self.prolong) == levels - 1):
            raise ValueError(
                "an MgConv needs one `pre`/`post` list per level, one `prolong` fewer."
            )
        if len(self.restrict_u) != levels - 1 or len(self.restrict_f) != levels - 1:
            raise ValueError("an MgConv needs `levels - 1` restrictions of `u` and of `f`.")
        if len(self.residual_op) != ((levels - 1) if self.use_res else 0):
            raise ValueError("`use_res` needs `levels - 1` residual operators, else none.")
        if self.padding_mode not in _PAD_MODES:
            raise ValueError(f"`padding_mode` must be one of {tuple(_PAD_MODES)}.")

    @property
    def num_spatial_dims(self) -> int:
        return self.init_smoother.ndim - 2

    def __call__(
        self, f: Float[Array, " c_f *spatial"], *, key: PRNGKeyArray | None = None
    ) -> Float[Array, " c_u *spatial"]:
        """One learned V-cycle applied to ``f`` (``key`` is unused: deterministic)."""
        del key
        mode = self.padding_mode
        levels = len(self.pre)
        us, fs = [], []
        u = _conv(f, self.init_smoother, mode)
        for l in range(levels):
            if l > 0:
                if self.use_res:
                    f = _conv(
                        f - _conv(u, self.residual_op[l - 1], mode), self.restrict_f[l - 1], mode, 2
                    )
                else:
                    f = _conv(f, self.restrict_f[l - 1], mode, 2)
                u = _conv(u, self.restrict_u[l - 1], mode, 2)
            for a, s in self.pre[l]:
                u = u + _conv(f - _conv(u, a, mode), s, mode)
            us.append(u)
            fs.append(f)
        u = us[-1]
        for l in range(levels - 1, -1, -1):
            if l < levels - 1:
                u = us[l] + _prolong(u, self.prolong[l], mode, us[l].shape[1:])
            for a, s in self.post[l]:
                u = u + _conv(fs[l] - _conv(u, a, mode), s, mode)
        return u


@final
class MgNO(eqx.Module):
    """The multigrid neural operator (He, Liu & Xu, "MgNO: Efficient parameterization of linear
    operators via multigrid", ICLR 2024; reference code ``xlliu2017/MgNO`` ``MgNO_DC``).

    ``MgNO(in_channels, out_channels, *, grid_shape, width=24, num_layers=4,
    num_iterations=DARCY_ITERATIONS, num_spatial_dims=2, padding_mode="zeros", use_res=False,
    activation=jax.nn.gelu, dtype=None, key)``; ``model(x, *, key=None)``.

    Layers ``u <- act(MgConv_i(u) + W_i u + b_i)`` (``MgConv``: a learned V-cycle, :class:`MgConv`;
    ``W_i``: a 1x1 convolution with bias ``b_i``), ``num_layers`` of them (the first maps
    ``in_channels -> width``), then a final bias-free 1x1 convolution ``width -> out_channels``. No lifting
    or projection network. Single sample, channels first: ``(in_channels, *spatial) ->
    (out_channels, *spatial)``; batch with ``jax.vmap``. Works at any resolution (odd sizes included)
    and in 1D, 2D or 3D (``num_spatial_dims``). ``dtype=None`` is JAX's default float dtype; integer
    inputs are converted to it. Initialises under ``jax.jit`` and ``eqx.filter_vmap`` over keys
    (ensembles); ``key`` of ``__call__`` is unused (deterministic).

    ``num_iterations[l] = (pre, post)`` smoothing steps on level ``l``; ``len(num_iterations)`` is the
    number of levels. The default is the paper's Darcy configuration (6 levels, one pre-smoothing step
    per level, two on the coarsest); with ``width=24, num_layers=4, in_channels=out_channels=1`` it has
    572,661 real parameters (:func:`mgno_num_parameters`), the paper's "0.57M".

    **``grid_shape`` (required): the training grid.** The learned 3x3 stencils act at the grid spacing
    they were trained at, and the number of levels is fixed, so on a 2x finer grid a plain V-cycle
    reaches only half as far (its coarsest level is one level finer) and computes a different
    operator: a Darcy model trained at 64^2 (rel. L2 0.026) has 0.56 at 127^2 with V-cycles on the
    input grid, 0.036 with them anchored (``notebooks/operator_learning``, cpu size); a small one
    (width 8, 2 layers, 4 levels, 200 samples at 33^2, 25 epochs) has 0.071 at 33^2 either way and,
    at 65^2, 0.44 with V-cycles on the input grid against 0.074 anchored. So the model
    records its training grid at construction: on any other grid every V-cycle runs on
    ``grid_shape`` (its input linearly resampled to it, its output interpolated back, see
    :func:`_interpolation_matrix`; node grids ``x_i = i/(n-1)``, periodic grids ``x_j = j/n`` with
    ``padding_mode="circular"``), so the hierarchy and the stencils keep their physical spacing; the
    pointwise parts (``W_i``, ``b_i``, the activation, the projection) run on the input grid and carry
    its fine-scale information. On ``grid_shape`` itself nothing is resampled (no cost). On nested
    grids (``2s - 1`` nodes, or ``2s`` periodic points) the output at the training grid's nodes
    equals the model's output on the injected input exactly. ``grid_shape=None`` runs the V-cycles on
    the input grid, as the reference code does (not resolution-transferable; for training on one grid
    only). :meth:`with_grid_shape` switches it on a trained model. Alternative (0.025 on that Darcy
    test, but blind to the fine grid): run the whole model on the injected input and interpolate,
    ``jaxsci.training.resample(model(x[:, ::2, ::2]), x.shape[1:])``.
    """

    convs: list[MgConv]
    linears: list[Float[Array, "width _c_in"]]
    biases: list[Float[Array, " width"]]
    projection: Float[Array, "out width"]
    activation: Callable = eqx.field(static=True)
    grid_shape: tuple[int, ...] | None = eqx.field(static=True)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        grid_shape: Sequence[int] | None,
        width: int = 24,
        num_layers: int = 4,
        num_iterations: Sequence[Sequence[int]] = DARCY_ITERATIONS,
        num_spatial_dims: int = 2,
        padding_mode: str = "zeros",
        use_res: bool = False,
        activation: Callable = jax.nn.gelu,
        dtype: Any = None,
        key: PRNGKeyArray,
    ):
        for name, v in (
            ("in_channels", in_channels),
            ("out_channels", out_channels),
            ("width", width),
            ("num_layers", num_layers),
        ):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"`{name}` must be a positive int, got {v!r}.")
        if num_spatial_dims not in (1, 2, 3):
            raise ValueError(f"`num_spatial_dims` must be 1, 2 or 3, got {num_spatial_dims!r}.")
        if padding_mode not in _PAD_MODES:
            raise ValueError(
                f"`padding_mode` must be one of {tuple(_PAD_MODES)}, got {padding_mode!r}."
            )
        its = _check_iterations(num_iterations)
        dtype = default_float_dtype(dtype)
        key = _check_key(key)
        self.grid_shape = _check_grid_shape(grid_shape, num_spatial_dims)
        *conv_keys, key_pointwise = jax.random.split(key, num_layers + 1)
        specs = []
        self.convs = []
        for i in range(num_layers):
            c_in = in_channels if i == 0 else width
            self.convs.append(
                MgConv(
                    c_in,
                    width,
                    its,
                    num_spatial_dims=num_spatial_dims,
                    padding_mode=padding_mode,
                    use_res=use_res,
                    dtype=dtype,
                    key=conv_keys[i],
                )
            )
            bound = 1.0 / math.sqrt(c_in)
            specs += [("uniform", (width, c_in), bound), ("uniform", (width,), bound)]
        specs.append(("uniform", (out_channels, width), 1.0 / math.sqrt(width)))
        arrays = _draw(key_pointwise, tuple(specs), dtype)
        self.linears = list(arrays[0:-1:2])
        self.biases = list(arrays[1:-1:2])
        self.projection = arrays[-1]
        self.activation = activation

    def __check_init__(self):
        if not len(self.convs) == len(self.linears) == len(self.biases) >= 1:
            raise ValueError("an MgNO needs one V-cycle, one 1x1 weight and one bias per layer.")
        width = self.projection.shape[1]
        if any(w.shape[0] != width for w in self.linears):
            raise ValueError(f"every layer must have `width` = {width} output channels.")
        _check_grid_shape(self.grid_shape, self.convs[0].num_spatial_dims)

    @property
    def num_spatial_dims(self) -> int:
        """Number of spatial dimensions."""
        return self.convs[0].num_spatial_dims

    def with_grid_shape(self, grid_shape: Sequence[int] | None) -> MgNO:
        """The same model (shared weights) with another ``grid_shape`` (``None``: V-cycles on the input
        grid). E.g. ``model.with_grid_shape((32, 32))`` for a model trained on 32 x 32 grids."""
        grid_shape = _check_grid_shape(grid_shape, self.num_spatial_dims)
        new = object.__new__(type(self))
        for field in dataclasses.fields(self):
            object.__setattr__(new, field.name, getattr(self, field.name))
        object.__setattr__(new, "grid_shape", grid_shape)
        return new

    def __call__(
        self, x: Real[ArrayLike, " c_in *spatial"], *, key: PRNGKeyArray | None = None
    ) -> Float[Array, " c_out *spatial"]:
        del key
        nd = self.num_spatial_dims
        c_in = self.linears[0].shape[1]
        try:
            x = jnp.asarray(x)
        except (TypeError, ValueError):
            raise TypeError(f"`x` must be a real array, got {type(x).__name__}.") from None
        if (
            jnp.issubdtype(x.dtype, jnp.complexfloating)
            or not jnp.issubdtype(x.dtype, jnp.number)
            and x.dtype != jnp.bool_
        ):
            raise TypeError(
                f"`x` must be a real (floating, integer or boolean) array, got {x.dtype}."
            )
        if x.ndim != nd + 1 or x.shape[0] != c_in:
            raise ValueError(
                f"`x` must have shape ({c_in}, *spatial) with {nd} spatial axes, got {x.shape}."
            )
        if min(x.shape[1:]) < 1:
            raise ValueError(f"`x` must have at least one point per spatial axis, got {x.shape}.")
        x = _as_float(x, self.projection.dtype)
        # NaN/inf would spread through every level of the learned V-cycles: refuse it at run time.
        x = error_if_not(x, jnp.isfinite(x), "`x` must be finite (no NaN or inf).")
        expand = (slice(None),) + (None,) * nd
        shape = tuple(x.shape[1:])
        anchored = self.grid_shape is not None and self.grid_shape != shape
        periodic = self.convs[0].padding_mode == "circular"
        for conv, w, b in zip(self.convs, self.linears, self.biases, strict=True):
            if anchored:  # the V-cycle at its training spacing, interpolated back
                v = _resample(conv(_resample(x, self.grid_shape, periodic)), shape, periodic)
            else:
                v = conv(x)
            x = self.activation(v + jnp.tensordot(w, x, axes=1) + b[expand])
        return jnp.tensordot(self.projection, x, axes=1)


def _check_key(key: Any) -> Any:
    """One PRNG key: a typed key of shape ``()`` or a raw ``uint32`` key of shape ``(2,)``."""
    if not isinstance(key, (jax.Array, np.ndarray)):
        raise TypeError(f"`key` must be a JAX PRNG key (jax.random.key(seed)), got {key!r:.60}.")
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.shape != ():
            raise ValueError(
                f"`key` must be a single key (shape ()), got a key array of shape {key.shape}; "
                "for an ensemble use `eqx.filter_vmap` over the keys."
            )
        return key
    if key.dtype != jnp.uint32 or key.shape != (2,):
        raise ValueError(
            "`key` must be a single PRNG key (jax.random.key(seed), or a raw uint32 key of shape "
            f"(2,)), got dtype {key.dtype} and shape {key.shape}."
        )
    return key


def _check_iterations(num_iterations) -> list[tuple[int, int]]:
    its = []
    if isinstance(num_iterations, str):
        num_iterations = [num_iterations]
    try:
        entries = list(num_iterations)
    except TypeError:
        entries = [num_iterations]
    for it in entries:
        try:
            if isinstance(it, str):
                raise TypeError
            it = (int(it), 0) if isinstance(it, int) else tuple(int(i) for i in it)
        except (TypeError, ValueError):
            raise ValueError(
                f"`num_iterations` entries must be (pre, post) >= 0, got {num_iterations!r}."
            ) from None
        if len(it) != 2 or min(it) < 0:
            raise ValueError(
                f"`num_iterations` entries must be (pre, post) >= 0, got {num_iterations!r}."
            )
        its.append(it)
    if not its or its[0][0] < 1:
        raise ValueError(
            f"`num_iterations` needs >= 1 level with >= 1 pre-smoothing step on level 0, "
            f"got {num_iterations!r}."
        )
    return its


def _check_grid_shape(grid_shape, nd):
    if grid_shape is None:
        return None
    try:
        shape = tuple(int(n) for n in grid_shape)
    except TypeError:
        raise ValueError(
            f"`grid_shape` must be a sequence of {nd} ints >= 2 or None, got {grid_shape!r}."
        ) from None
    if (
        len(shape) != nd
        or min(shape) < 2
        or any(n != m for n, m in zip(shape, grid_shape, strict=True))
    ):
        raise ValueError(
            f"`grid_shape` must be a sequence of {nd} ints >= 2 or None, got {grid_shape!r}."
        )
    return shape


def mgno_num_parameters(
    in_channels: int,
    out_channels: int,
    *,
    width: int = 24,
    num_layers: int = 4,
    num_iterations: Sequence[Sequence[int]] = DARCY_ITERATIONS,
    num_spatial_dims: int = 2,
    use_res: bool = False,
) -> int:
    """Closed-form real-parameter count of :class:`MgNO` (for checks and tables)."""
    k3, k4 = 3**num_spatial_dims, 4**num_spatial_dims
    its = [(int(it), 0) if isinstance(it, int) else tuple(it) for it in num_iterations]
    levels = len(its)
    steps = sum(p + q for p, q in its) - 1  # (A, S) pairs besides the initial smoother

    def conv(cf, cu):
        n = k3 * cf * cu + steps * 2 * k3 * cf * cu  # S_0 and the (A, S) pairs
        n += (levels - 1) * (k3 * cu * cu + k3 * cf * cf + k4 * cu * cu)  # Pi, R, prolongation
        if use_res:
            n += (levels - 1) * k3 * cu * cf
        return n

    total = 0
    for i in range(num_layers):
        c_in = in_channels if i == 0 else width
        total += conv(c_in, width) + c_in * width + width
    return total + width * out_channels
