"""2D incompressible Navier-Stokes in vorticity form on the unit torus: the FNO data set.

Pseudo-spectral (rfft2, 2/3 dealiasing) with Crank-Nicolson diffusion and a second-order explicit
(Heun) advection/forcing step, as in the FNO data generator (which uses Crank-Nicolson with an
explicit advection term).
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray, Real

from .._checks import check_ndim, check_positive, check_positive_int, error_if_not
from ..spectral import wavenumbers
from ..spectral._inputs import as_real, compute_dtype
from ._generate import generate
from ._grf import _one_field

__all__ = ["navier_stokes", "navier_stokes_forcing", "navier_stokes_solve"]

#: GRF of the initial vorticity in :func:`jaxsci.data.grf`'s convention (``alpha``, ``tau``, ``sigma``):
#: the FNO scripts' ``GaussianRF(2, s, alpha=2.5, tau=7)`` (std multiplier ``tau^(alpha - 1) = 7^1.5``
#: with a factor ``sqrt(2)`` and the real part of a non-Hermitian complex draw: per-mode variance
#: ``2 * 7^3 (4 pi^2 |k|^2 + 49)^(-2.5)``), mean zero.
W0_ALPHA, W0_TAU, W0_SIGMA = 2.5, 7.0, math.sqrt(2.0) * 7.0**1.5


def navier_stokes_forcing(resolution: int) -> Float[Array, " s s"]:
    """The FNO forcing ``f(x, y) = 0.1 (sin(2 pi (x + y)) + cos(2 pi (x + y)))`` on the periodic grid
    ``x_j = j / s`` (``ij`` indexing: axis 0 is ``x``), in JAX's default float dtype."""
    s = check_positive_int(resolution, "resolution", minimum=2)
    x = np.arange(s) / s
    xy = x[:, None] + x[None, :]
    f = 0.1 * (np.sin(2 * np.pi * xy) + np.cos(2 * np.pi * xy))
    return jnp.asarray(f, dtype=jnp.zeros(()).dtype)


@functools.lru_cache(maxsize=16)
def _symbols(n: int):
    """Host float64 symbols on the rfft2 grid of ``n x n``: ``i kx``, ``i ky`` (as real ``kx``, ``ky``),
    ``|k|^2`` (0 at the mean) and the 2/3-rule mask ``|m_x|, |m_y| < n/3``."""
    kx = wavenumbers(n)[:, None]  # 2 pi m, full FFT axis (x = axis 0)
    ky = wavenumbers(n, rfft=True)[None, :]  # rfft axis (y = axis 1)
    kx, ky = np.broadcast_to(kx, (n, n // 2 + 1)), np.broadcast_to(ky, (n, n // 2 + 1))
    lap = kx**2 + ky**2
    mx = np.abs(np.fft.fftfreq(n, 1.0 / n))[:, None]
    my = np.abs(np.fft.rfftfreq(n, 1.0 / n))[None, :]
    mask = ((mx < n / 3) & (my < n / 3)).astype(np.float64)
    return kx.copy(), ky.copy(), lap, mask


def _check_forcing(forcing, n, dtype):
    if forcing is None:
        return None
    if isinstance(forcing, str):
        if forcing != "fno":
            raise ValueError(f"`forcing` must be 'fno', None or an (n, n) array, got {forcing!r}.")
        return navier_stokes_forcing(n).astype(dtype)
    f = as_real(forcing, "forcing", integers=True)
    if f.shape != (n, n):
        raise ValueError(f"`forcing` must have the shape of `w0` {(n, n)}, got shape {f.shape}.")
    return f.astype(dtype)


def navier_stokes_solve(
    w0: Real[ArrayLike, " n1 n2"],
    *,
    nu: float,
    num_records: int,
    record_interval: float = 1.0,
    dt: float = 1e-3,
    forcing: str | Real[ArrayLike, " f1 f2"] | None = "fno",
) -> Float[Array, " num_records n n"]:
    r"""Integrate ``w_t + u . grad w = nu Lap w + f``, ``u = (d_y psi, -d_x psi)``, ``-Lap psi = w`` on
    the unit torus from the vorticity ``w0`` (grid ``x_j = j/n``, ``ij`` indexing: axis 0 is ``x``).

    Space: Fourier pseudo-spectral on the ``rfft2`` grid, wavenumbers from
    :func:`jaxsci.spectral.wavenumbers` (the symbols of :func:`jaxsci.spectral.spectral_derivative`);
    the advection ``u . grad w`` is formed on the grid from dealiased fields and dealiased again by the
    2/3 rule (modes ``|m| < n/3`` per axis), so the discrete system is the Galerkin truncation: it
    conserves energy and enstrophy exactly up to the time error. Time: Crank-Nicolson for the diffusion
    with Heun's second-order predictor-corrector for advection and forcing (IMEX, second order),

    .. math:: \hat w^* = \frac{(1 - a)\hat w^n + \Delta t (\hat N(w^n) + \hat f)}{1 + a},\quad
              \hat w^{n+1} = \frac{(1 - a)\hat w^n + \Delta t (\tfrac12 \hat N(w^n)
              + \tfrac12 \hat N(w^*) + \hat f)}{1 + a},\quad a = \tfrac12 \nu \Delta t |k|^2.

    The implicit part is diagonal in Fourier space and solved exactly, which is why this does not go
    through diffrax (whose implicit solvers would run Newton iterations on it). The mean of ``w`` is
    kept at 0 (``psi`` is defined up to a constant; ``w0``'s mean is removed).

    ``forcing``: ``"fno"`` (default, :func:`navier_stokes_forcing`), ``None`` (unforced) or an
    ``(n, n)`` array. ``record_interval / dt`` must be an integer (steps per record).
    **Returns:** the vorticity at ``t_k = (k + 1) record_interval``, ``k = 0..num_records-1``, shape
    ``(num_records, n, n)``. Cost ``O(T n^2 log n / dt)`` time (8 FFTs per step), ``O(num_records n^2)``
    memory. Batch-free (vmap), jit-able, differentiable in ``w0``. Non-finite results (a time step
    too large for the flow, NaN in ``w0``) raise at run time (``eqx.error_if``).
    Reference: Li et al., *Fourier Neural Operator for Parametric PDEs*, ICLR 2021, section 5.3.
    """
    w0 = as_real(w0, "w0", integers=True)
    check_ndim(w0, "w0", 2)
    n = w0.shape[0]
    if w0.shape[1] != n:
        raise ValueError(f"`w0` must be square (n, n), got shape {w0.shape}.")
    check_positive_int(n, "w0.shape[0]", minimum=4, even=True)
    check_positive(nu, "nu")
    check_positive_int(num_records, "num_records")
    check_positive(record_interval, "record_interval")
    check_positive(dt, "dt")
    ratio = float(record_interval) / float(dt)
    steps = int(round(ratio))
    if steps < 1 or abs(ratio - steps) > 1e-6 * max(1.0, ratio):
        raise ValueError(
            f"`record_interval` / `dt` must be a positive integer (steps per record), got "
            f"{record_interval} / {dt} = {ratio}."
        )
    out_dtype = w0.dtype
    dtype = compute_dtype(out_dtype)
    f = _check_forcing(forcing, n, dtype)
    kx_np, ky_np, lap_np, mask_np = _symbols(int(n))
    cdtype = jnp.result_type(dtype, jnp.complex64)
    ikx = jnp.asarray(1j * kx_np * mask_np, cdtype)
    iky = jnp.asarray(1j * ky_np * mask_np, cdtype)
    inv_lap = jnp.asarray(np.where(lap_np > 0, 1.0 / np.where(lap_np > 0, lap_np, 1.0), 0.0), dtype)
    mask = jnp.asarray(mask_np, dtype)
    a = 0.5 * float(nu) * float(dt) * lap_np
    num = jnp.asarray((1.0 - a) / (1.0 + a), dtype)
    den = jnp.asarray(float(dt) / (1.0 + a), dtype)
    f_hat = jnp.zeros((n, n // 2 + 1), cdtype) if f is None else jnp.fft.rfft2(f)
    f_hat = f_hat.at[0, 0].set(0.0)

    def advection(w_hat):
        # -(u w_x + v w_y) with u = d_y psi, v = -d_x psi, psi_hat = w_hat / |k|^2 (dealiased inputs)
        psi_hat = w_hat * inv_lap
        u = jnp.fft.irfft2(iky * psi_hat, s=(n, n))
        v = jnp.fft.irfft2(-ikx * psi_hat, s=(n, n))
        wx = jnp.fft.irfft2(ikx * w_hat, s=(n, n))
        wy = jnp.fft.irfft2(iky * w_hat, s=(n, n))
        return -jnp.fft.rfft2(u * wx + v * wy) * mask

    def step(_, w_hat):
        n0 = advection(w_hat)
        w_star = num * w_hat + den * (n0 + f_hat)
        n1 = advection(w_star)
        return num * w_hat + den * (0.5 * (n0 + n1) + f_hat)

    def record(w_hat, _):
        w_hat = jax.lax.fori_loop(0, steps, step, w_hat)
        return w_hat, jnp.fft.irfft2(w_hat, s=(n, n))

    w_hat0 = jnp.fft.rfft2(w0.astype(dtype)).at[0, 0].set(0.0)
    _, ws = jax.lax.scan(record, w_hat0, None, length=int(num_records))
    ws = error_if_not(
        ws,
        jnp.isfinite(ws),
        "navier_stokes_solve: the vorticity is not finite: `w0` contains NaN or inf, or the time "
        "step `dt` is too large for this flow (lower `dt`).",
    )
    return ws.astype(out_dtype)


def navier_stokes(
    key: PRNGKeyArray,
    num_samples: int,
    resolution: int,
    *,
    nu: float = 1e-3,
    T: int = 50,
    record_interval: float = 1.0,
    dt: float = 1e-3,
    solve_resolution: int | None = None,
    include_initial: bool = False,
    chunk_size: int = 16,
    sharding: NamedSharding | None = None,
    progress: bool = True,
    cache_dir=None,
) -> Float[Array, " num_samples T s s"]:
    """The FNO Navier-Stokes data set: vorticity trajectories of 2D incompressible Navier-Stokes on the
    unit torus (Li et al., ICLR 2021, section 5.3; the ``NavierStokes_V1e-3_N5000_T50`` /
    ``V1e-5_N1200_T20`` files).

    Initial vorticity ``w0 ~ N(0, C)`` from the FNO scripts' Gaussian random field with ``alpha = 2.5``,
    ``tau = 7`` (the paper writes ``C = 7^(3/2) (-Lap + 49 I)^(-2.5)``; the scripts that made the files
    scale it by ``2 * 7^(3/2)``, which is what is used here: :data:`W0_SIGMA`), forcing
    ``0.1 (sin 2 pi (x + y) + cos 2 pi (x + y))``, viscosity ``nu`` (the benchmarks: 1e-3 with
    ``T = 50``, 1e-4 with ``T = 30``, 1e-5 with ``T = 20``). Each sample is integrated by
    :func:`navier_stokes_solve` on ``solve_resolution`` points per axis (default ``max(2 s, 128)``
    rounded up to a multiple of ``s``; the FNO files used 256 with ``dt = 1e-4``) with step ``dt``,
    recorded every ``record_interval`` time units and subsampled to ``resolution = s`` points
    ``x_j = j/s`` (the periodic layout, ``ij`` indexing).

    Chunks of ``chunk_size`` samples are vmapped and jitted; with ``sharding`` (a ``NamedSharding``
    over a 1-D mesh the caller made, e.g. ``NamedSharding(jax.make_mesh((8,), ("batch",),
    axis_types=(jax.sharding.AxisType.Auto,)), P("batch"))``) each chunk's keys are placed there
    and the solves run data parallel, one slice of the chunk per device (``chunk_size`` must be
    divisible by the number of devices). Sample ``i``
    depends only on ``key`` and ``i``. A progress bar when ``progress``; with ``cache_dir`` the data
    set is saved as ``.npz`` (file name keyed by every argument and the key) and reloaded when present.

    **Returns:** the vorticity, shape ``(num_samples, T, s, s)``: ``w[:, k]`` at ``t = (k + 1)
    record_interval``; with ``include_initial=True`` shape ``(num_samples, T + 1, s, s)``, ``w[:, 0]``
    the initial vorticity. The FNO tasks: inputs ``w[:, :10]``, targets ``w[:, 10:T]``.
    Cost per sample ``O(T n^2 log n / dt)`` for ``n = solve_resolution``.
    """
    check_positive_int(num_samples, "num_samples")
    check_positive_int(resolution, "resolution", minimum=4, even=True)
    check_positive(nu, "nu")
    check_positive_int(T, "T")
    check_positive(record_interval, "record_interval")
    check_positive(dt, "dt")
    check_positive_int(chunk_size, "chunk_size")
    if not isinstance(include_initial, bool):
        raise TypeError(f"`include_initial` must be a bool, got {include_initial!r}.")
    if solve_resolution is None:
        solve_resolution = resolution * max(1, -(-max(2 * resolution, 128) // resolution))
    check_positive_int(solve_resolution, "solve_resolution", minimum=4, even=True)
    if solve_resolution % resolution:
        raise ValueError(
            f"`solve_resolution` must be a multiple of `resolution`, got {solve_resolution} and "
            f"{resolution}."
        )
    if sharding is not None:
        if not isinstance(sharding, NamedSharding):
            raise TypeError(
                f"`sharding` must be a jax.sharding.NamedSharding or None, got "
                f"{type(sharding).__name__}."
            )
        num_shards = len(sharding.device_set)
        if min(chunk_size, num_samples) % num_shards:
            raise ValueError(
                f"`chunk_size` ({min(chunk_size, num_samples)} for {num_samples} samples) must be "
                f"divisible by the {num_shards} devices of `sharding`."
            )
    stride = solve_resolution // resolution
    params = dict(
        resolution=int(resolution),
        nu=float(nu),
        T=int(T),
        record_interval=float(record_interval),
        dt=float(dt),
        solve_resolution=int(solve_resolution),
        include_initial=include_initial,
    )
    # the solver's step-count check, on the host before any compilation
    ratio = float(record_interval) / float(dt)
    if abs(ratio - round(ratio)) > 1e-6 * max(1.0, ratio) or round(ratio) < 1:
        raise ValueError(
            f"`record_interval` / `dt` must be a positive integer (steps per record), got "
            f"{record_interval} / {dt} = {ratio}."
        )
    m = int(solve_resolution)

    @eqx.filter_jit
    def solve_chunk(key_data):
        def one(kd):
            w0 = _one_field(
                jax.random.wrap_key_data(kd), (m, m), W0_ALPHA, W0_TAU, W0_SIGMA, "periodic", True
            )
            ws = navier_stokes_solve(
                w0, nu=nu, num_records=T, record_interval=record_interval, dt=dt
            )
            if include_initial:
                ws = jnp.concatenate([w0[None], ws])
            return ws[:, ::stride, ::stride]

        return (jax.vmap(one)(key_data),)

    def chunk(keys):
        key_data = jax.random.key_data(keys)
        if sharding is not None:
            key_data = jax.device_put(key_data, sharding)
        return solve_chunk(key_data)

    (w,) = generate(
        "navier_stokes",
        params,
        key,
        num_samples,
        chunk,
        chunk_size=chunk_size,
        progress=progress,
        cache_dir=cache_dir,
    )
    return w
