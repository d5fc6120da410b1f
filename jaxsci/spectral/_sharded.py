"""Spectral operators on a field sharded over devices along one spatial axis.

XLA's SPMD partitioner does not distribute an FFT over a sharded axis: ``jnp.fft.rfftn`` of a field
placed with ``P("x", None)`` all-gathers the whole field onto every device first (measured on 8
fake CPU devices, jax 0.10). The two functions here keep every device on its own slab:

- :func:`solve_periodic_sharded`: the FFT solve of ``-Δu + k u = f`` by a *slab (pencil)
  decomposition* under ``jax.shard_map``: FFTs along the local axes, one ``all_to_all`` transpose
  so that axis 0 becomes local, the FFT along it, the division by the symbol, and the way back.
  Communication per solve: two transposes, each ``(P - 1) / P`` of the local slab per device.
- :func:`spectral_conv_sharded`: the Fourier layer as truncated DFTs (the ``method="dft"`` path of
  :func:`jaxsci.spectral.spectral_conv`) contracted *last axis first*, so the only collective is
  one ``all-reduce`` of the retained spectrum, ``C_in * 2^(d-1) * prod(modes)`` complex numbers,
  independent of the grid size; the synthesis is local to each device's rows.

Both take the user's :class:`jax.sharding.NamedSharding` (they create no mesh) and return an array
with that sharding; the result equals the unsharded :func:`~jaxsci.spectral.solve_periodic` /
:func:`~jaxsci.spectral.spectral_conv` to rounding.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
from jaxtyping import Array, ArrayLike, Float, Real

from .._checks import check_choice
from ._conv import _c, _complex_weight, _dft_matrices, _mix_dft_blocks, _validate
from ._derivatives import _lengths
from ._inputs import compute_dtype
from ._solve import _check_f, _check_real_scalar

__all__ = ["solve_periodic_sharded", "spectral_conv_sharded"]


def _sharding_of(x, sharding, name: str):
    if sharding is None:
        sharding = getattr(x, "sharding", None) if isinstance(x, jax.Array) else None
        if not isinstance(sharding, NamedSharding):
            raise TypeError(
                "`sharding` must be given (a NamedSharding) when `"
                + name
                + "` is traced or not placed with a NamedSharding."
            )
    if not isinstance(sharding, NamedSharding):
        raise TypeError(f"`sharding` must be a jax.sharding.NamedSharding, got {sharding!r}.")
    return sharding


def _one_axis(sharding: NamedSharding, ndim: int, axis: int, name: str) -> str | tuple:
    """The mesh axis name(s) sharding array axis ``axis``; every other axis must be unsharded."""
    spec = tuple(sharding.spec) + (None,) * (ndim - len(sharding.spec))
    if len(spec) != ndim:
        raise ValueError(f"`sharding` has {len(spec)} entries for `{name}` with {ndim} axes.")
    for a, s in enumerate(spec):
        if a != axis and s is not None:
            raise ValueError(
                f"`sharding` must shard `{name}` along axis {axis} only, got spec {sharding.spec}."
            )
    if spec[axis] is None:
        raise ValueError(
            f"`sharding` must shard axis {axis} of `{name}`, got spec {sharding.spec}."
        )
    return spec[axis]


def _check_finite(x: Array, name: str) -> None:
    """Raise a ``ValueError`` naming ``name`` when a concrete ``x`` holds NaN or inf.

    Checked eagerly, one reduction on the devices (a boolean comes back), never inside the sharded
    program: an ``eqx.error_if`` there raises in a host callback on one device while the others
    wait in the next collective, and the program hangs (seen on 8 fake CPU devices, jax 0.10).
    Under ``jit`` (a traced ``x``) no check runs: NaN in, NaN out.
    """
    if isinstance(x, jax.core.Tracer):
        return
    if not bool(jnp.all(jnp.isfinite(x))):
        raise ValueError(f"`{name}` must be finite, got NaN or inf.")


def _axis_size(mesh, names) -> int:
    names = names if isinstance(names, tuple) else (names,)
    return int(np.prod([mesh.shape[n] for n in names]))


def _symbol_1d(n: int, L: float, stencil: str) -> np.ndarray:
    m = np.fft.fftfreq(n, 1.0 / n)
    if stencil == "spectral":
        return (2 * np.pi * m / L) ** 2
    h = L / n
    return 4.0 / h**2 * np.sin(np.pi * m / n) ** 2


def solve_periodic_sharded(
    f: Float[ArrayLike, " *spatial"],
    *,
    sharding: NamedSharding | None = None,
    k: float | Real[ArrayLike, ""] = 0.0,
    length: float | Sequence[float] = 1.0,
    stencil: str = "spectral",
) -> Float[Array, " *spatial"]:
    r"""``-Δu + k u = f`` on a periodic 2D/3D grid sharded along axis 0, by a slab-decomposed FFT.

    The same solve as :func:`jaxsci.spectral.solve_periodic` with ``compatibility="project"``:
    ``u = ifftn(fftn(f) / (λ + k))``, ``λ = |κ|^2`` (``stencil="spectral"``) or the eigenvalues of
    the periodic ``(2d+1)``-point ``-Δ_h`` (``"fd"``); modes with ``|λ + k| <= 64 eps (max λ + |k|)``
    (the mean for ``k = 0``, resonances for ``k < 0``) get a zero component.

    **Arguments:** ``f`` a real ``(n_0, n_1[, n_2])`` array; ``sharding`` the ``NamedSharding`` of
    ``f``, ``P(name, None[, None])`` (default: ``f.sharding``; required under ``jit``), with
    ``n_0`` and ``n_1`` divisible by the number of devices ``p`` along ``name``; ``k`` a real
    scalar; ``length`` a number or one per axis.

    **Algorithm** (inside ``jax.shard_map``): complex FFTs along axes ``1..d-1`` of the local
    ``(n_0/p, n_1, ...)`` slab, ``all_to_all`` to ``(n_0, n_1/p, ...)``, FFT along axis 0, division by
    the symbol (assembled from 1D factors: ``O(n)`` memory), and back. Cost ``O(N log N / p)`` flops
    and two all-to-alls of ``N/p`` values per device; memory ``O(N/p)`` per device. Full complex
    FFTs (not ``rfft``) keep every transposed axis divisible by ``p``: about twice the flops of
    the one-device ``rfftn``. Returns ``u`` with ``f``'s sharding; differentiable in ``f``.
    """
    check_choice(stencil, "stencil", ("spectral", "fd"))
    f = _check_f(f)
    _check_real_scalar(k)
    sharding = _sharding_of(f, sharding, "f")
    if f.ndim not in (2, 3):
        raise ValueError(f"`f` must have 2 or 3 axes (a 1D field has no slab), got {f.shape}.")
    name = _one_axis(sharding, f.ndim, 0, "f")
    mesh = sharding.mesh
    p = _axis_size(mesh, name)
    for a in (0, 1):
        if f.shape[a] % p:
            raise ValueError(
                f"`f` must have axis {a} divisible by the {p} devices of `sharding`, got {f.shape}."
            )
    L = _lengths(length, f.ndim)
    _check_finite(f, "f")
    _check_finite(jnp.asarray(k), "k")
    out_dtype = f.dtype
    dtype = compute_dtype(f.dtype)
    f = f.astype(dtype)
    lams = [
        jnp.asarray(_symbol_1d(n, La, stencil), dtype) for n, La in zip(f.shape, L, strict=True)
    ]
    lam_max = float(sum(_symbol_1d(n, La, stencil).max() for n, La in zip(f.shape, L, strict=True)))
    k = jnp.asarray(k, dtype)
    eps = float(jnp.finfo(dtype).eps)
    d = f.ndim
    cols = f.shape[1] // p
    spec = P(name, *([None] * (d - 1)))

    def local(f, k, *lams):
        fh = jnp.fft.fftn(f, axes=tuple(range(1, d)))
        fh = jax.lax.all_to_all(fh, name, 1, 0, tiled=True)  # (n_0, n_1 / p, ...)
        fh = jnp.fft.fft(fh, axis=0)
        me = jax.lax.axis_index(name)
        lam1 = jax.lax.dynamic_slice_in_dim(lams[1], me * cols, cols)
        parts = [lams[0], lam1, *lams[2:]]
        denom = k
        for a, lam in enumerate(parts):
            shape = [1] * d
            shape[a] = -1
            denom = denom + lam.reshape(shape)
        singular = jnp.abs(denom) <= 64 * eps * (lam_max + jnp.abs(k))
        uh = jnp.where(singular, 0, fh / jnp.where(singular, 1, denom))
        uh = jnp.fft.ifft(uh, axis=0)
        uh = jax.lax.all_to_all(uh, name, 0, 1, tiled=True)  # (n_0 / p, n_1, ...)
        return jnp.real(jnp.fft.ifftn(uh, axes=tuple(range(1, d)))).astype(dtype)

    u = jax.shard_map(
        local,
        mesh=mesh,
        in_specs=(spec, P(), *([P()] * d)),
        out_specs=spec,
    )(f, k, *lams)
    return u.astype(out_dtype)


def spectral_conv_sharded(
    x: Float[ArrayLike, " c_in *spatial"],
    w_re: Float[ArrayLike, " blocks c_in c_out *modes"],
    w_im: Float[ArrayLike, " blocks c_in c_out *modes"],
    modes: int | Sequence[int],
    *,
    sharding: NamedSharding | None = None,
    out_shape: Sequence[int] | None = None,
) -> Float[Array, " c_out *out_spatial"]:
    r"""The spectral convolution of :func:`jaxsci.spectral.spectral_conv` for a field sharded along
    one spatial axis, with one small all-reduce instead of a gathered field.

    ``y = Re sum_k c_k e^{2πi k·s} W_k x̂_k`` over the retained corner blocks (see
    :func:`~jaxsci.spectral.spectral_conv`; same weights layout ``(2^(d-1), C_in, C_out, *modes)``,
    same Hermitian weights ``c_k``). Computed by truncated DFT matrices: the local axes are
    contracted first, the sharded one last, so each device forms a partial spectrum of its rows,
    one ``all-reduce`` sums ``C_in 2^(d-1) prod(modes)`` complex values, the (cheap) mode mixing
    runs redundantly, and each device synthesises its own rows of ``y``.

    **Arguments:** ``x`` ``(C_in, *spatial)``; ``w_re``/``w_im``/``modes``/``out_shape`` as in
    ``spectral_conv``; ``sharding`` the ``NamedSharding`` of ``x`` with exactly one sharded spatial
    axis (default ``x.sharding``; required under ``jit``). The output carries the same spec (its
    sharded axis must divide when ``out_shape`` changes the grid).

    Cost per device ``O(C N M^{1/d} / p)`` multiply-adds for the DFTs (``M = prod(modes)``) plus
    ``O(2^(d-1) C_in C_out M)`` for the mixing; communication ``16 C_in 2^(d-1) M`` bytes (complex128).
    """
    x, w_re, w_im, d, modes, in_spatial, out_spatial = _validate(x, w_re, w_im, modes, out_shape)
    sharding = _sharding_of(x, sharding, "x")
    spec = tuple(sharding.spec) + (None,) * (x.ndim - len(sharding.spec))
    sharded = [a for a in range(1, x.ndim) if spec[a] is not None]
    if spec[0] is not None or len(sharded) != 1:
        raise ValueError(
            f"`sharding` must shard exactly one spatial axis of `x`, got spec {sharding.spec}."
        )
    for arr, name in ((x, "x"), (w_re, "w_re"), (w_im, "w_im")):
        _check_finite(arr, name)
    out_dtype = jnp.result_type(x, w_re, w_im)
    dtype = compute_dtype(out_dtype)
    x = jnp.asarray(x, dtype)
    w = _complex_weight(w_re, w_im, dtype)
    cdtype = w.dtype
    fwd, inv = _dft_matrices(modes, in_spatial, out_spatial, cdtype)
    X = x.astype(cdtype)
    s = sharded[0] - 1  # spatial index of the sharded axis
    order = [a for a in range(d) if a != s] + [s]
    # Contract the spatial axes in `order`; X keeps (C, remaining spatial..., freqs in order...).
    for i, a in enumerate(order):
        remaining = [b for b in order[i:]]
        pos = 1 + sorted(remaining).index(a)
        X = jnp.tensordot(X, fwd[a], axes=([pos], [1]))
    # axes now (C, f_order[0], ..., f_order[-1]) -> (C, f_0, ..., f_{d-1})
    X = X.transpose([0] + [1 + order.index(a) for a in range(d)])
    Y = _mix_dft_blocks(X, w, modes, jnp.asarray(_c(np.arange(modes[-1]), in_spatial[-1]), dtype))
    for E in inv:
        Y = jnp.tensordot(Y, E, axes=([1], [1]))
    y = jnp.real(Y)
    y = jax.lax.with_sharding_constraint(y, NamedSharding(sharding.mesh, P(*spec)))
    return y.astype(out_dtype)
