"""Gaussian random fields: the sample spectrum matches sigma^2 (mu_k + tau^2)^(-alpha) (chi-square test)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsci.data import grf, grf_eigenvalues

M = 4000  # samples: the per-mode mean power has relative std 1/sqrt(M) (complex) or sqrt(2/M) (real)


def test_periodic_spectrum_matches_the_covariance(key):
    n = 32
    u = np.asarray(grf(key, M, n, alpha=2.0, tau=5.0, sigma=25.0))  # the Burgers initial-data prior
    power = np.mean(np.abs(np.fft.fft(u, axis=1)) ** 2, axis=0) / n**2  # E = lambda_k
    lam = np.asarray(grf_eigenvalues((n,), alpha=2.0, tau=5.0, sigma=25.0))
    np.testing.assert_allclose(lam[1], 625.0 / (4 * np.pi**2 + 25.0) ** 2)
    real_mode = np.zeros(n, bool)
    real_mode[[0, n // 2]] = True  # DC and Nyquist coefficients are real: chi-square with 1 dof
    rel_std = np.where(real_mode, np.sqrt(2.0 / M), np.sqrt(1.0 / M))
    z = (power / lam - 1.0) / rel_std
    assert np.max(np.abs(z)) < 5.0, z
    # mean of a spectral sample is the DC coefficient: variance lambda_0 = sigma^2 tau^(-2 alpha)
    assert abs(np.var(u.mean(axis=1)) / (625.0 / 25.0**2) - 1.0) < 5 * np.sqrt(2.0 / M)


def test_neumann_spectrum_in_the_cosine_basis(key):
    n = 8
    u = np.asarray(grf(key, M, (n, n), alpha=2.0, tau=3.0, sigma=2.0, bc="neumann"))
    import scipy.fft

    coeffs = scipy.fft.dctn(u, axes=(1, 2), norm="ortho") / n  # xi_k sqrt(lambda_k)
    power = np.mean(coeffs**2, axis=0)
    lam = np.asarray(grf_eigenvalues((n, n), alpha=2.0, tau=3.0, sigma=2.0, bc="neumann"))
    k1, k2 = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    np.testing.assert_allclose(lam, 4.0 * (np.pi**2 * (k1**2 + k2**2) + 9.0) ** -2.0)
    z = (power / lam - 1.0) / np.sqrt(2.0 / M)  # real Gaussian coefficients: chi-square with 1 dof
    assert np.max(np.abs(z)) < 5.0


def test_mean_zero_seeded_and_dtype(key):
    a = grf(key, 3, (6, 4), alpha=2.0, tau=3.0, mean_zero=True)
    b = grf(key, 3, (6, 4), alpha=2.0, tau=3.0, mean_zero=True)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (3, 6, 4) and a.dtype == jnp.float64
    np.testing.assert_allclose(a.mean(axis=(1, 2)), 0.0, atol=1e-12)
    c = grf(jax.random.key(1), 3, (6, 4), alpha=2.0, tau=3.0)
    assert not np.allclose(a, c)


def test_bad_inputs_name_the_argument(key):
    with pytest.raises(ValueError, match="bc"):
        grf(key, 2, 8, alpha=2.0, tau=3.0, bc="dirichlet")
    with pytest.raises(ValueError, match="alpha"):
        grf(key, 2, 8, alpha=-1.0, tau=3.0)
    with pytest.raises(ValueError, match="tau"):
        grf(key, 2, 8, alpha=1.0, tau=0.0)
    with pytest.raises(ValueError, match="num_samples"):
        grf(key, 0, 8, alpha=1.0, tau=1.0)
    with pytest.raises(ValueError, match="shape"):
        grf(key, 1, (1, 8), alpha=1.0, tau=1.0)
