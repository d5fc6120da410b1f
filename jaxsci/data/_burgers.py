"""1D viscous Burgers on the periodic unit interval: pseudo-spectral ETDRK4 (Cox-Matthews, Kassam-Trefethen)."""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray, Real

from .._checks import check_ndim, check_positive, check_positive_int, error_if_not
from ..spectral._inputs import as_array, as_real, compute_dtype
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
    the explicit formulas for small ``|dt L|``. ``L`` must be real and finite (dissipative: large
    positive ``dt L`` overflows and raises); ``dt > 0``; ``num_contour >= 1``. The result is real.
    """
    arr = np.asarray(as_array(linear, "linear")) if not isinstance(linear, np.ndarray) else linear
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) or np.iscomplexobj(arr):
        raise TypeError(f"`linear` must be a real array, got dtype {arr.dtype}.")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError("`linear` must be finite, got NaN or inf.")
    check_positive(dt, "dt")
    num_contour = check_positive_int(num_contour, "num_contour")
    hl = dt * arr
    r = np.exp(1j * np.pi * (np.arange(1, num_contour + 1) - 0.5) / num_contour)
    lr = hl[..., None] + r
    with np.errstate(all="ignore"):  # exp underflows to 0 and lr**3 overflows for very stiff modes
        # the Kassam-Trefethen integrands, written in powers of 1/lr so that neither lr**3
        # overflows nor 0 * inf appears for very stiff modes (exp(lr) = 0 there)
        ex, i1 = np.exp(lr), 1 / lr
        i2, i3 = i1 * i1, i1 * i1 * i1
        q = dt * np.mean((np.exp(lr / 2) - 1) * i1, axis=-1).real
        f1 = dt * np.mean(-4 * i3 - i2 + ex * (4 * i3 - 3 * i2 + i1), axis=-1).real
        f2 = dt * np.mean(2 * i3 + i2 + ex * (-2 * i3 + i2), axis=-1).real
        f3 = dt * np.mean(-4 * i3 - 3 * i2 - i1 + ex * (4 * i3 - i2), axis=-1).real
        out = {"E": np.exp(hl), "E2": np.exp(hl / 2), "Q": q, "f1": f1, "f2": f2, "f3": f3}
    if not all(np.all(np.isfinite(v)) for v in out.values()):
        raise ValueError(
            "the ETDRK4 coefficients overflow: `linear` * `dt` is too large and positive (the "
            "linear part must be dissipative, `linear` <= 0, or the step smaller)."
        )
    return out


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
    Cost: O(num_steps * n log n) time, O(n) memory. ``n`` must be even. Integer ``u0`` becomes JAX's
    default float dtype; float16/bfloat16 are integrated in float32 and cast back; complex ``u0``
    raises. A non-finite solution (NaN/inf in ``u0``, or a time step ``t_final / num_steps`` too
    large for this ``u0``) raises at run time (``eqx.error_if``, also under ``jit``/``vmap``).
    """
    u0 = as_real(u0, "u0", integers=True)
    check_ndim(u0, "u0", 1)
    n = jnp.shape(u0)[0]
    check_positive_int(n, "u0.shape[0]", minimum=4, even=True)
    check_positive(nu, "nu")
    check_positive(t_final, "t_final")
    check_positive_int(num_steps, "num_steps")
    dt = float(t_final) / int(num_steps)
    k, c, dealias = _coefficients(int(n), float(nu), dt)
    out_dtype = u0.dtype
    dtype = compute_dtype(out_dtype)
    u0 = u0.astype(dtype)
    cdtype = jnp.result_type(dtype, jnp.complex64)
    g = -0.5j * jnp.asarray(k * dealias, dtype=cdtype)
    dealias = jnp.asarray(dealias, dtype)  # N(v) = -(i k / 2) fft(u^2), dealiased
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
    u = jnp.fft.irfft(v, n=n)
    u = error_if_not(
        u,
        jnp.isfinite(u),
        "burgers_solve: the solution is not finite: `u0` contains NaN or inf, or the time step "
        "`t_final` / `num_steps` is too large for this `u0` (increase `num_steps`).",
    )
    return u.astype(out_dtype)


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

    @eqx.filter_jit
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
