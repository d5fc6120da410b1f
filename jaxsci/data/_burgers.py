"""1D viscous Burgers on the periodic unit interval: pseudo-spectral ETDRK4 (Cox-Matthews, Kassam-Trefethen)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray, Real

from .._checks import check_ndim, check_positive, check_positive_int
from ._generate import generate
from ._grf import _one_field

__all__ = ["burgers", "burgers_solve", "etdrk4_coefficients"]


def etdrk4_coefficients(
    linear: Float[ArrayLike, " *shape"], dt: float, *, num_contour: int = 32
) -> dict[str, Float[np.ndarray, " *shape"]]:
    """The ETDRK4 coefficients for a diagonal linear part ``L`` and step ``dt``, in float64 on the host.

    ``E = exp(dt L)``, ``E2 = exp(dt L / 2)``, ``Q = dt phi_1(dt L / 2) / 2`` and the three
    fourth-order weights ``f1, f2, f3`` of Cox & Matthews (2002), evaluated with the contour integral of
    Kassam & Trefethen (2005, SIAM J. Sci. Comput. 26, eq. 2.5): each ``phi`` is averaged over
    ``num_contour`` points on the circle of radius 1 around ``dt L``, which avoids the cancellation of
    the explicit formulas for small ``|dt L|``. ``L`` must be real (dissipative); the result is real.
    """
    hl = dt * np.asarray(linear, dtype=np.float64)
    r = np.exp(1j * np.pi * (np.arange(1, num_contour + 1) - 0.5) / num_contour)
    lr = hl[..., None] + r
    q = dt * np.mean((np.exp(lr / 2) - 1) / lr, axis=-1).real
    f1 = dt * np.mean((-4 - lr + np.exp(lr) * (4 - 3 * lr + lr**2)) / lr**3, axis=-1).real
    f2 = dt * np.mean((2 + lr + np.exp(lr) * (-2 + lr)) / lr**3, axis=-1).real
    f3 = dt * np.mean((-4 - 3 * lr - lr**2 + np.exp(lr) * (4 - lr)) / lr**3, axis=-1).real
    return {"E": np.exp(hl), "E2": np.exp(hl / 2), "Q": q, "f1": f1, "f2": f2, "f3": f3}


@functools.lru_cache(maxsize=16)
def _coefficients(n: int, nu: float, dt: float):
    freq = np.fft.rfftfreq(n, d=1.0 / n)  # 0..n/2
    k = 2 * np.pi * freq
    coeffs = etdrk4_coefficients(-nu * k**2, dt)
    dealias = (np.abs(freq) < n / 3).astype(np.float64)  # 2/3 rule: keep |m| < n/3
    return k, coeffs, dealias


def burgers_solve(
    u0: Real[ArrayLike, " n"], *, nu: float = 0.1, t_final: float = 1.0, num_steps: int = 1000
) -> Float[Array, " n"]:
    """Solve ``u_t + (u^2/2)_x = nu u_xx`` on the periodic unit interval from ``u0`` to ``t_final``.

    Pseudo-spectral in space (rfft, ``n`` equispaced points ``x_j = j/n``; the quadratic term is
    formed on the grid and dealiased by the 2/3 rule) and ETDRK4 in time (fourth-order exponential
    time differencing, Cox & Matthews 2002, with Kassam & Trefethen's contour-integral coefficients):
    the stiff diffusion ``-nu k^2`` is integrated exactly, so the step is limited only by the
    advection, not by ``nu k_max^2``. The mean of ``u`` (mode 0) is conserved exactly.

    Batch-free (vmap for batches), jit-able, differentiable with respect to ``u0``.
    Cost: O(num_steps * n log n) time, O(n) memory. ``n`` must be even.
    """
    check_ndim(u0, "u0", 1)
    n = jnp.shape(u0)[0]
    check_positive_int(n, "u0.shape[0]", minimum=4, even=True)
    check_positive(nu, "nu")
    check_positive(t_final, "t_final")
    check_positive_int(num_steps, "num_steps")
    dt = float(t_final) / int(num_steps)
    k, c, dealias = _coefficients(int(n), float(nu), dt)
    u0 = jnp.asarray(u0)
    dtype = u0.dtype if jnp.issubdtype(u0.dtype, jnp.floating) else jnp.zeros(()).dtype
    u0 = u0.astype(dtype)
    cdtype = jnp.result_type(dtype, jnp.complex64)
    g = -0.5j * jnp.asarray(k * dealias, dtype=cdtype)  # N(v) = -(i k / 2) fft(u^2), dealiased
    E, E2, Q, f1, f2, f3 = (
        jnp.asarray(c[name], dtype=dtype) for name in ("E", "E2", "Q", "f1", "f2", "f3")
    )

    def nonlinear(v):
        u = jnp.fft.irfft(v * dealias, n=n)
        return g * jnp.fft.rfft(u * u)

    def step(_, v):
        nv = nonlinear(v)
        a = E2 * v + Q * nv
        na = nonlinear(a)
        b = E2 * v + Q * na
        nb = nonlinear(b)
        cc = E2 * a + Q * (2 * nb - nv)
        nc = nonlinear(cc)
        return E * v + nv * f1 + 2 * (na + nb) * f2 + nc * f3

    v = jax.lax.fori_loop(0, int(num_steps), step, jnp.fft.rfft(u0))
    return jnp.fft.irfft(v, n=n).astype(dtype)


def burgers(
    key: PRNGKeyArray,
    num_samples: int,
    resolution: int,
    *,
    nu: float = 0.1,
    t_final: float = 1.0,
    num_steps: int = 1000,
    solve_resolution: int | None = None,
    chunk_size: int = 64,
    progress: bool = True,
    cache_dir=None,
) -> tuple[Float[Array, " num_samples resolution"], Float[Array, " num_samples resolution"]]:
    """The FNO Burgers data set: pairs ``(u0, u(t_final))`` of 1D viscous Burgers on the periodic unit
    interval with ``u0 ~ N(0, 625 (-Laplacian + 25 I)^-2)`` (zero mean, :func:`jaxsci.data.grf` with
    ``alpha=2, tau=5, sigma=25``), ``nu = 0.1``, ``t_final = 1`` (Li et al., ICLR 2021, section 5.1).

    Each sample is solved by :func:`burgers_solve` (ETDRK4, ``num_steps`` steps) on
    ``solve_resolution`` points (default: the smallest multiple of ``resolution`` that is >= 1024; the
    FNO data used 8192) and both fields are subsampled to ``resolution`` points ``x_j = j/resolution``.

    Generated in chunks of ``chunk_size`` samples (jit + vmap per chunk, a tqdm bar when ``progress``);
    sample ``i`` depends only on ``key`` and ``i``, not on the chunk size. With ``cache_dir`` the data
    set is saved as ``.npz`` (file name keyed by all arguments and the key) and reloaded when present.

    **Returns:** ``(u0, u1)``, each of shape ``(num_samples, resolution)``.
    """
    check_positive_int(num_samples, "num_samples")
    check_positive_int(resolution, "resolution", minimum=4, even=True)
    check_positive(nu, "nu")
    check_positive(t_final, "t_final")
    check_positive_int(num_steps, "num_steps")
    if solve_resolution is None:
        solve_resolution = resolution * max(1, -(-1024 // resolution))
    check_positive_int(solve_resolution, "solve_resolution", minimum=4, even=True)
    if solve_resolution % resolution:
        raise ValueError(
            f"`solve_resolution` must be a multiple of `resolution`, got {solve_resolution} and {resolution}."
        )
    stride = solve_resolution // resolution
    params = dict(
        resolution=int(resolution),
        nu=float(nu),
        t_final=float(t_final),
        num_steps=int(num_steps),
        solve_resolution=int(solve_resolution),
    )

    @jax.jit
    def chunk(keys):
        def one(k):
            u0 = _one_field(k, (solve_resolution,), 2.0, 5.0, 25.0, "periodic", True)
            u1 = burgers_solve(u0, nu=nu, t_final=t_final, num_steps=num_steps)
            return u0[::stride], u1[::stride]

        return jax.vmap(one)(keys)

    return generate(
        "burgers",
        params,
        key,
        num_samples,
        chunk,
        chunk_size=chunk_size,
        progress=progress,
        cache_dir=cache_dir,
    )
