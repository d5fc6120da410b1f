"""Burgers: Cole-Hopf analytic solution, mean conservation, ETDRK4 coefficients, generator and cache."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxsci.data import burgers, burgers_solve, cache_path, etdrk4_coefficients

NU = 0.1


def cole_hopf_sine(x, t, amplitude, nu=NU, n_fine=4096):
    """u = -2 nu phi_x / phi, phi_t = nu phi_xx, phi_0 = exp(-int_0^x u0 / (2 nu)), u0 = A sin(2 pi x);
    the heat equation is solved exactly in Fourier space on a fine grid (float64 NumPy)."""
    xf = np.arange(n_fine) / n_fine
    phi0 = np.exp(-amplitude * (1 - np.cos(2 * np.pi * xf)) / (2 * np.pi) / (2 * nu))
    k = 2 * np.pi * np.fft.fftfreq(n_fine, 1.0 / n_fine)
    ph = np.fft.fft(phi0) * np.exp(-nu * k**2 * t)
    phi, phi_x = np.fft.ifft(ph).real, np.fft.ifft(1j * k * ph).real
    return (-2 * nu * phi_x / phi)[:: n_fine // len(x)]


def test_matches_cole_hopf():
    n = 128
    x = np.arange(n) / n
    u0 = 0.5 * np.sin(2 * np.pi * x)
    u1 = burgers_solve(jnp.asarray(u0), nu=NU, t_final=0.5, num_steps=100)
    ref = cole_hopf_sine(x, 0.5, 0.5)
    assert np.max(np.abs(np.asarray(u1) - ref)) < 1e-9 * np.max(np.abs(u0)) * 1e2


def test_conserves_the_mean_and_vmaps(key):
    n = 64
    u0 = 0.3 + jax.random.normal(key, (2, n))  # nonzero mean, rough data
    solve = jax.jit(jax.vmap(lambda u: burgers_solve(u, nu=NU, t_final=0.2, num_steps=40)))
    u1 = solve(u0)
    np.testing.assert_allclose(u1.mean(axis=1), u0.mean(axis=1), rtol=0, atol=1e-13)
    single = burgers_solve(u0[1], nu=NU, t_final=0.2, num_steps=40)
    np.testing.assert_allclose(u1[1], single, atol=1e-13)


def test_gradient_wrt_initial_condition(key):
    u0 = jax.random.normal(key, (8,))
    check_grads(
        lambda u: jnp.sum(burgers_solve(u, nu=NU, t_final=0.05, num_steps=3) ** 2),
        (u0,),
        order=1,
        modes=["rev"],
    )


def test_etdrk4_coefficients_reduce_to_rk4_and_match_explicit_formulas():
    dt = 0.1
    c = etdrk4_coefficients(np.array([0.0, -20.0]), dt)
    np.testing.assert_allclose(
        [c["Q"][0], c["f1"][0], c["f2"][0], c["f3"][0]],
        [dt / 2, dt / 6, dt / 6, dt / 6],
        rtol=1e-12,
    )
    z = -2.0  # dt * L, where the explicit formulas are still accurate
    np.testing.assert_allclose(
        c["f1"][1], dt * (-4 - z + np.exp(z) * (4 - 3 * z + z**2)) / z**3, rtol=1e-10
    )
    np.testing.assert_allclose(c["f2"][1], dt * (2 + z + np.exp(z) * (-2 + z)) / z**3, rtol=1e-10)
    np.testing.assert_allclose(
        c["f3"][1], dt * (-4 - 3 * z - z**2 + np.exp(z) * (4 - z)) / z**3, rtol=1e-10
    )
    np.testing.assert_allclose(c["Q"][1], dt * (np.exp(z / 2) - 1) / z, rtol=1e-10)


def test_generator_chunks_and_cache(key, tmp_path):
    kw = dict(solve_resolution=64, num_steps=20, t_final=0.1, progress=False)
    u0, u1 = burgers(key, 3, 32, chunk_size=2, cache_dir=tmp_path, **kw)
    assert u0.shape == u1.shape == (3, 32)
    assert bool(jnp.all(jnp.isfinite(u1)))
    path = cache_path(
        tmp_path,
        "burgers",
        dict(resolution=32, nu=0.1, t_final=0.1, num_steps=20, solve_resolution=64),
        key,
        3,
    )
    assert path.exists()
    v0, v1 = burgers(key, 3, 32, chunk_size=3, cache_dir=tmp_path, **kw)  # reloaded, not recomputed
    np.testing.assert_array_equal(u1, v1)
    w0, w1 = burgers(key, 3, 32, chunk_size=3, **kw)  # recomputed with another chunk size
    np.testing.assert_allclose(w1, u1, atol=1e-14)
    np.testing.assert_allclose(w0, u0, atol=1e-14)


def test_bad_inputs_name_the_argument(key):
    with pytest.raises(ValueError, match="resolution"):
        burgers(key, 2, 31)
    with pytest.raises(ValueError, match="solve_resolution"):
        burgers(key, 2, 32, solve_resolution=48)
    with pytest.raises(ValueError, match="nu"):
        burgers(key, 2, 32, nu=0.0)
    with pytest.raises((ValueError, TypeError), match="u0"):  # the annotation, under the checker
        burgers_solve(jnp.ones((4, 4)))
    with pytest.raises(TypeError, match="key"):
        burgers(jnp.ones(3), 2, 32, solve_resolution=32, progress=False)
