"""Gaussian random fields by spectral sampling of N(0, sigma^2 (-Laplacian + tau^2 I)^(-alpha))."""

from __future__ import annotations

import math
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray, Real

from .._checks import check_choice, check_positive, check_positive_int, error_if_not

__all__ = ["grf", "grf_eigenvalues"]

_BCS = ("periodic", "neumann")


def _wavenumbers(shape: tuple[int, ...], bc: str) -> list[Array]:
    if bc == "periodic":
        return [jnp.fft.fftfreq(n, d=1.0 / n) for n in shape]  # integers k, |k| <= n/2
    return [jnp.arange(n, dtype=float) for n in shape]  # cosine index k = 0..n-1


def grf_eigenvalues(
    shape: Sequence[int],
    *,
    alpha: float | Real[ArrayLike, ""],
    tau: float | Real[ArrayLike, ""],
    sigma: float | Real[ArrayLike, ""] = 1.0,
    bc: str = "periodic",
) -> Float[Array, " *shape"]:
    """Eigenvalues ``lambda_k = sigma^2 (mu_k + tau^2)^(-alpha)`` of the covariance on the grid ``shape``.

    ``mu_k`` is the eigenvalue of ``-Laplacian`` on the unit cube for the basis function of index ``k``:
    ``(2 pi |k|)^2`` for ``bc="periodic"`` (Fourier modes, ``k`` in FFT order) and ``(pi |k|)^2`` for
    ``bc="neumann"`` (cosines ``cos(pi k x)``, ``k >= 0``, DCT-II order). Shape: ``shape`` (1 or more
    sizes >= 1). ``alpha``, ``tau``, ``sigma`` must be > 0 and finite: checked at trace time for host
    values, at run time (``eqx.error_if``) for JAX arrays.
    """
    check_choice(bc, "bc", _BCS)
    if isinstance(shape, (int, float)) or not hasattr(shape, "__iter__"):
        raise TypeError(f"`shape` must be a sequence of sizes, got {shape!r}.")
    shape = tuple(shape)
    if not shape:
        raise ValueError("`shape` must have at least one entry, got ().")
    shape = tuple(check_positive_int(n, "shape") for n in shape)
    params = ((alpha, "alpha"), (tau, "tau"), (sigma, "sigma"))
    for value, name in params:
        check_positive(value, name)
    lam = _eigenvalues(shape, alpha, tau, sigma, bc)
    for value, name in params:
        if isinstance(value, jax.Array):
            lam = error_if_not(
                lam,
                jnp.isfinite(value) & (value > 0),
                f"grf_eigenvalues: `{name}` must be > 0 and finite.",
            )
    return lam


def _eigenvalues(shape, alpha, tau, sigma, bc):
    factor = 2.0 * math.pi if bc == "periodic" else math.pi
    ks = _wavenumbers(shape, bc)
    grids = jnp.meshgrid(*ks, indexing="ij")
    mu = factor**2 * sum(g**2 for g in grids)
    return sigma**2 * (mu + tau**2) ** (-alpha)


def _one_field(key, shape, alpha, tau, sigma, bc, mean_zero):
    n_total = math.prod(shape)
    lam = _eigenvalues(shape, alpha, tau, sigma, bc)
    if mean_zero:
        lam = lam.at[(0,) * len(shape)].set(0.0)
    lam = error_if_not(
        lam,
        jnp.isfinite(lam),
        "grf: the covariance eigenvalues sigma^2 (mu_k + tau^2)^(-alpha) are not finite: `alpha`, "
        "`tau` or `sigma` is NaN/inf, or `tau` is too small (or `sigma` too large) for `alpha` in "
        "this precision.",
    )
    axes = tuple(range(len(shape)))
    white = jax.random.normal(key, shape, dtype=lam.dtype)
    if bc == "periodic":
        # fft(white) has E|w_k|^2 = N and Hermitian symmetry; u = sum_k c_k e^{2 pi i k.x} with
        # E|c_k|^2 = lambda_k needs the ifft of N c_k = sqrt(N lambda_k) fft(white).
        coeffs = jnp.fft.fftn(white, axes=axes) * jnp.sqrt(n_total * lam)
        return jnp.fft.ifftn(coeffs, axes=axes).real
    # Neumann: u(x_j) = sum_k xi_k sqrt(lambda_k) phi_k(x_j) with the L2-orthonormal cosines
    # phi_k = prod_i c_{k_i} cos(pi k_i x_i) at cell centres x_j = (j + 1/2) / n; the orthonormal
    # DCT-II basis vectors are phi_k(x_j) / sqrt(N).
    return jnp.sqrt(n_total) * jax.scipy.fft.idctn(white * jnp.sqrt(lam), norm="ortho", axes=axes)


@eqx.filter_jit  # eqx: run-time errors (eqx.error_if) come back readable
def _grf_jit(key, num_samples, shape, alpha, tau, sigma, bc, mean_zero):
    keys = jax.random.split(key, num_samples)
    return jax.vmap(lambda k: _one_field(k, shape, alpha, tau, sigma, bc, mean_zero))(keys)


def grf(
    key: PRNGKeyArray,
    num_samples: int,
    shape: int | Sequence[int],
    *,
    alpha: float,
    tau: float,
    sigma: float = 1.0,
    bc: str = "periodic",
    mean_zero: bool = False,
) -> Float[Array, " num_samples *shape"]:
    """Sample ``num_samples`` Gaussian random fields ``u ~ N(0, sigma^2 (-Laplacian + tau^2 I)^(-alpha))``
    on the unit cube ``[0, 1]^d`` (``d = len(shape)``), by spectral (Karhunen-Loeve) sampling.

    ``u = sum_k xi_k sqrt(lambda_k) phi_k`` with ``xi_k ~ N(0, 1)`` i.i.d., ``phi_k`` the L2-orthonormal
    eigenfunctions of ``-Laplacian`` and ``lambda_k = sigma^2 (mu_k + tau^2)^(-alpha)``
    (:func:`grf_eigenvalues`), truncated to the modes the grid resolves.

    - ``bc="periodic"``: Fourier modes ``exp(2 pi i k.x)``, ``mu_k = 4 pi^2 |k|^2``; grid points
      ``x_j = j / n``. Sampled with one FFT of white noise: E|fft(u)_k|^2 = N^2 lambda_k (N points).
      Burgers' initial data (FNO): ``alpha=2, tau=5, sigma=25`` (covariance ``625 (-Lap + 25 I)^-2``).
    - ``bc="neumann"``: cosines ``cos(pi k.x)`` (zero normal derivative), ``mu_k = pi^2 |k|^2``, grid
      points at cell centres ``x_j = (j + 1/2)/n``; sampled with an orthonormal inverse DCT-II. This is
      the basis of the FNO Darcy data (MATLAB ``idct2``, ``alpha=2, tau=3``, ``sigma=tau^(alpha-1)``,
      zero mean).

    ``mean_zero=True`` drops the ``k = 0`` mode (as the FNO scripts do). Cost: O(B N log N) time and
    O(B N) memory for ``B = num_samples`` fields of ``N`` points. Seeded by ``key``; jit-compiled and
    vmapped over samples. Reference: Li et al., "Fourier Neural Operator", ICLR 2021, Appendix A.

    **Returns:** an array of shape ``(num_samples, *shape)``.
    """
    check_positive_int(num_samples, "num_samples")
    if isinstance(shape, (int,)) or (
        hasattr(shape, "__index__") and not isinstance(shape, Sequence)
    ):
        shape = (shape,)
    shape = tuple(shape)
    if not shape or len(shape) > 3:
        raise ValueError(f"`shape` must have 1 to 3 entries, got {shape}.")
    for i, n in enumerate(shape):
        check_positive_int(n, f"shape[{i}]", minimum=2)
    check_choice(bc, "bc", _BCS)
    check_positive(alpha, "alpha")
    check_positive(tau, "tau")
    check_positive(sigma, "sigma")
    dtype = jnp.zeros(()).dtype  # float64 with x64, else float32
    return _grf_jit(
        key,
        int(num_samples),
        tuple(int(n) for n in shape),
        jnp.asarray(alpha, dtype),
        jnp.asarray(tau, dtype),
        jnp.asarray(sigma, dtype),
        bc,
        bool(mean_zero),
    )
