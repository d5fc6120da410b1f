"""jaxsci.data.navier_stokes: analytic vortices, the enstrophy balance, time-step convergence."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from jaxsci.data import navier_stokes, navier_stokes_forcing, navier_stokes_solve
from jaxsci.data._navier_stokes import W0_ALPHA, W0_SIGMA, W0_TAU
from jaxsci.spectral import spectral_gradient, spectral_laplacian

N = 32
X = np.arange(N) / N
XX, YY = np.meshgrid(X, X, indexing="ij")


def test_taylor_green_decays_exactly():
    # u = (sin 2pi x cos 2pi y, -cos 2pi x sin 2pi y): w = 4 pi sin sin is a steady Euler flow
    # (u.grad w = 0), so w(t) = exp(-8 pi^2 nu t) w0; Crank-Nicolson's factor per step is
    # (1 - a)/(1 + a), a = 4 pi^2 nu dt, which the discrete solution must match to rounding.
    w0 = 4 * np.pi * np.sin(2 * np.pi * XX) * np.sin(2 * np.pi * YY)
    nu, dt = 0.01, 0.01
    ws = navier_stokes_solve(w0, nu=nu, num_records=4, record_interval=0.25, dt=dt, forcing=None)
    t = 0.25 * np.arange(1, 5)
    a = 4 * np.pi**2 * nu * dt
    cn = ((1 - a) / (1 + a)) ** (t / dt)
    np.testing.assert_allclose(ws, cn[:, None, None] * w0, rtol=1e-11, atol=1e-11)
    exact = np.exp(-8 * np.pi**2 * nu * t)
    np.testing.assert_allclose(ws, exact[:, None, None] * w0, rtol=0, atol=1e-4 * np.abs(w0).max())


def test_advection_sign_and_forcing():
    # w0 = A sin(2 pi x) + B cos(4 pi y): u.grad w = 1.5 A B cos(2 pi x) sin(4 pi y), so
    # dw/dt(0) = -1.5 A B cos(2 pi x) sin(4 pi y) + nu Lap w0 + f.
    A, B, nu = 1.0, 0.5, 1e-3
    w0 = A * np.sin(2 * np.pi * XX) + B * np.cos(4 * np.pi * YY)
    f = np.asarray(navier_stokes_forcing(N))
    tendency = (
        -1.5 * A * B * np.cos(2 * np.pi * XX) * np.sin(4 * np.pi * YY)
        + nu * np.asarray(spectral_laplacian(w0))
        + f
    )
    t = 1e-3
    (w1,) = navier_stokes_solve(w0, nu=nu, num_records=1, record_interval=t, dt=t / 20)
    np.testing.assert_allclose((w1 - w0) / t, tendency, atol=5e-3)


def test_enstrophy_balance_with_forcing(key):
    # Galerkin truncation conserves enstrophy, so d/dt <w^2>/2 = -nu <|grad w|^2> + <f w> (means
    # over the torus) holds up to the time error; checked by central differences of the records.
    w0 = jnp.asarray(
        np.asarray(jax.random.normal(key, (N, N)))  # smooth it: keep the lowest modes
    )
    w0 = jnp.fft.irfft2(
        jnp.fft.rfft2(w0)
        * (np.add.outer(np.fft.fftfreq(N, 1 / N) ** 2, np.fft.rfftfreq(N, 1 / N) ** 2) < 16),
        s=(N, N),
    )
    w0 = w0 - w0.mean()
    nu, h = 5e-3, 0.01
    ws = np.asarray(navier_stokes_solve(w0, nu=nu, num_records=40, record_interval=h, dt=h / 10))
    f = np.asarray(navier_stokes_forcing(N))
    Z = 0.5 * np.mean(ws**2, axis=(1, 2))
    dZ = (Z[2:] - Z[:-2]) / (2 * h)
    mid = ws[1:-1]
    grad2 = np.array([np.mean(np.asarray(spectral_gradient(w)) ** 2) * 2 for w in mid])
    rhs = -nu * grad2 + np.mean(f * mid, axis=(1, 2))
    np.testing.assert_allclose(dZ, rhs, rtol=0, atol=2e-3 * np.abs(rhs).max())
    # without viscosity and forcing the enstrophy and energy are conserved (to the time error)
    ws = np.asarray(
        navier_stokes_solve(
            w0, nu=1e-12, num_records=5, record_interval=0.1, dt=0.005, forcing=None
        )
    )
    Z = 0.5 * np.mean(ws**2, axis=(1, 2))
    np.testing.assert_allclose(Z, 0.5 * np.mean(np.asarray(w0) ** 2), rtol=1e-5)


def test_time_step_error_is_second_order(key):
    from jaxsci.data._grf import _one_field

    w0 = _one_field(key, (N, N), W0_ALPHA, W0_TAU, W0_SIGMA, "periodic", True)
    run = lambda dt: np.asarray(navier_stokes_solve(w0, nu=1e-3, num_records=1, dt=dt))[0]
    ref = run(1 / 400)
    e1 = np.linalg.norm(run(1 / 25) - ref) / np.linalg.norm(ref)
    e2 = np.linalg.norm(run(1 / 50) - ref) / np.linalg.norm(ref)
    assert e1 < 1e-3
    assert 3.0 < e1 / e2 < 5.0  # second order: the error drops by ~4 when dt halves


def test_generator_shapes_subsampling_cache_and_sharding(key, tmp_path):
    kw = dict(nu=1e-3, T=2, record_interval=0.5, dt=0.05, solve_resolution=16, progress=False)
    w = navier_stokes(key, 4, 8, chunk_size=2, cache_dir=tmp_path, **kw)
    assert w.shape == (4, 2, 8, 8)
    assert len(list(tmp_path.glob("navier_stokes_*.npz"))) == 1
    np.testing.assert_array_equal(navier_stokes(key, 4, 8, cache_dir=tmp_path, **kw), w)
    # sample i depends on the key and i only; the stored grid is the solve grid subsampled
    w4 = navier_stokes(key, 4, 16, chunk_size=4, include_initial=True, **kw)
    assert w4.shape == (4, 3, 16, 16)
    np.testing.assert_allclose(w4[:, 1:, ::2, ::2], w, rtol=1e-12, atol=1e-12)
    assert abs(float(w4[:, 0].mean())) < 1e-12  # mean-zero initial vorticity
    mesh = jax.make_mesh((4,), ("batch",), devices=jax.devices()[:4])
    ws = navier_stokes(key, 4, 8, chunk_size=4, sharding=NamedSharding(mesh, P("batch")), **kw)
    np.testing.assert_allclose(ws, w, rtol=1e-12, atol=1e-12)


def test_solve_bad_inputs():
    w0 = np.zeros((N, N))
    with pytest.raises(ValueError, match="`record_interval`"):
        navier_stokes_solve(w0, nu=1e-3, num_records=1, record_interval=1.0, dt=0.3)
    with pytest.raises(ValueError, match="`forcing`"):
        navier_stokes_solve(w0, nu=1e-3, num_records=1, dt=0.5, forcing=np.zeros((4, 4)))
    with pytest.raises(ValueError, match="`w0`"):
        navier_stokes_solve(np.zeros((N, N + 2)), nu=1e-3, num_records=1, dt=0.5)
    with pytest.raises(ValueError, match="`solve_resolution`"):
        navier_stokes(jax.random.key(0), 1, 8, solve_resolution=20, progress=False)
