"""DST-I against SciPy; FFT/DST Poisson against analytic solutions and the SciPy sparse 5-point
Laplacian; spectral derivatives against analytic; gradients, jit/vmap, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.fft
import scipy.sparse as sps
import scipy.sparse.linalg as spla
from jax.test_util import check_grads

from jaxsci import RESULTS
from jaxsci.spectral import (
    dirichlet_eigenvalues,
    dst1,
    dstn,
    idstn,
    solve_dirichlet,
    solve_periodic,
    spectral_derivative,
    spectral_gradient,
    spectral_laplacian,
    wavenumbers,
)


def test_dst_matches_scipy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 6, 4))
    for axis in (0, 1, -1):
        np.testing.assert_allclose(dst1(x, axis), scipy.fft.dst(x, type=1, axis=axis), atol=1e-12)
    np.testing.assert_allclose(
        dstn(x, norm="ortho"), scipy.fft.dstn(x, type=1, norm="ortho"), atol=1e-12
    )
    np.testing.assert_allclose(
        dstn(x, axes=(0, 2)), scipy.fft.dstn(x, type=1, axes=(0, 2)), atol=1e-11
    )
    np.testing.assert_allclose(idstn(x), scipy.fft.idstn(x, type=1), atol=1e-13)
    np.testing.assert_allclose(idstn(dstn(x)), x, atol=1e-13)
    with pytest.raises(ValueError, match="axis"):
        dst1(x, 3)
    with pytest.raises(ValueError, match="norm"):
        dst1(x, norm="forward")


def _laplacian_5pt(n, h):
    T = sps.diags([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1]) / h**2
    return sps.kronsum(T, T).tocsc()


def test_dirichlet_fd_is_exact_inverse_of_5_point_laplacian():
    n = 15
    h = 1 / (n + 1)
    A = _laplacian_5pt(n, h)
    f = np.random.default_rng(1).standard_normal((n, n))
    ref = spla.spsolve(A, f.ravel()).reshape(n, n)
    u = solve_dirichlet(f, stencil="fd")
    np.testing.assert_allclose(u, ref, atol=1e-13 * np.abs(ref).max())
    # with a reaction term and a non-square grid, non-unit lengths
    n1, n2, k = 7, 12, 3.5
    L1, L2 = 2.0, 0.5
    T1 = (
        sps.diags([-np.ones(n1 - 1), 2 * np.ones(n1), -np.ones(n1 - 1)], [-1, 0, 1])
        / (L1 / (n1 + 1)) ** 2
    )
    T2 = (
        sps.diags([-np.ones(n2 - 1), 2 * np.ones(n2), -np.ones(n2 - 1)], [-1, 0, 1])
        / (L2 / (n2 + 1)) ** 2
    )
    A = (sps.kronsum(T2, T1) + k * sps.eye(n1 * n2)).tocsc()  # kronsum(B, A) = A x I + I x B
    f = np.random.default_rng(2).standard_normal((n1, n2))
    ref = spla.spsolve(A, f.ravel()).reshape(n1, n2)
    np.testing.assert_allclose(
        solve_dirichlet(f, k=k, length=(L1, L2), stencil="fd"), ref, atol=1e-12 * np.abs(ref).max()
    )


def test_dirichlet_spectral_is_exact_for_sine_products_2d_3d():
    n = 15
    s = np.arange(1, n + 1) / (n + 1)
    X, Y = np.meshgrid(s, s, indexing="ij")
    u = np.sin(np.pi * X) * np.sin(2 * np.pi * Y) + 0.1 * np.sin(5 * np.pi * X) * np.sin(
        3 * np.pi * Y
    )
    f = 5 * np.pi**2 * np.sin(np.pi * X) * np.sin(2 * np.pi * Y) + 3.4 * np.pi**2 * np.sin(
        5 * np.pi * X
    ) * np.sin(3 * np.pi * Y)
    np.testing.assert_allclose(solve_dirichlet(f), u, atol=1e-13)
    # FD stencil on the same problem: second-order error, not round-off
    err_fd = np.abs(solve_dirichlet(f, stencil="fd") - u).max()
    assert 1e-4 < err_fd < 1e-1
    n = 7
    s = np.arange(1, n + 1) / (n + 1)
    X, Y, Z = np.meshgrid(s, s, s, indexing="ij")
    u = np.sin(np.pi * X) * np.sin(np.pi * Y) * np.sin(3 * np.pi * Z)
    np.testing.assert_allclose(solve_dirichlet(11 * np.pi**2 * u + 2.0 * u, k=2.0), u, atol=1e-13)


def test_dirichlet_fd_converges_second_order():
    errs = []
    for n in (15, 31):
        s = np.arange(1, n + 1) / (n + 1)
        X, Y = np.meshgrid(s, s, indexing="ij")
        u = X * (1 - X) * np.exp(Y) * np.sin(np.pi * Y)
        # f = -Lap u
        uxx = -2 * np.exp(Y) * np.sin(np.pi * Y)
        uyy = (
            X
            * (1 - X)
            * np.exp(Y)
            * ((1 - np.pi**2) * np.sin(np.pi * Y) + 2 * np.pi * np.cos(np.pi * Y))
        )
        errs.append(np.abs(solve_dirichlet(-(uxx + uyy), stencil="fd") - u).max())
    assert 3.5 < errs[0] / errs[1] < 4.5


def test_dirichlet_eigenvalues():
    lam = dirichlet_eigenvalues((3, 4), stencil="fd")
    h1, h2 = 1 / 4, 1 / 5
    assert lam.shape == (3, 4)
    np.testing.assert_allclose(
        lam[0, 0], 4 / h1**2 * np.sin(np.pi / 8) ** 2 + 4 / h2**2 * np.sin(np.pi / 10) ** 2
    )
    np.testing.assert_allclose(dirichlet_eigenvalues((2,))[1], 4 * np.pi**2)


def test_periodic_spectral_exact_and_fd_consistent():
    n1, n2, L1, L2 = 16, 12, 2.0, 1.0
    X, Y = np.meshgrid(np.arange(n1) * L1 / n1, np.arange(n2) * L2 / n2, indexing="ij")
    k1, k2 = 2 * np.pi * 3 / L1, 2 * np.pi * 2 / L2
    u = np.sin(k1 * X) * np.cos(k2 * Y)
    f = (k1**2 + k2**2) * u
    sol = solve_periodic(f, length=(L1, L2))
    assert sol.result == RESULTS.successful
    np.testing.assert_allclose(sol.value, u, atol=1e-13)
    sol = solve_periodic(f + 0.7 * u, k=0.7, length=(L1, L2))
    np.testing.assert_allclose(sol.value, u, atol=1e-13)
    # fd stencil: exact inverse of the periodic 5-point Laplacian (circulant, checked by applying it)
    g = np.random.default_rng(3).standard_normal((n1, n2))
    g -= g.mean()
    v = np.asarray(solve_periodic(g, stencil="fd", length=(L1, L2)).value)  # zero mean: compatible
    h1, h2 = L1 / n1, L2 / n2
    lap = (2 * v - np.roll(v, 1, 0) - np.roll(v, -1, 0)) / h1**2 + (
        2 * v - np.roll(v, 1, 1) - np.roll(v, -1, 1)
    ) / h2**2
    np.testing.assert_allclose(lap, g, atol=1e-11)
    assert abs(v.mean()) < 1e-14


def test_periodic_mean_is_checked_by_default_or_projected():
    f = np.cos(2 * np.pi * np.arange(8) / 8) + 3.0
    expected = np.cos(2 * np.pi * np.arange(8) / 8) / (4 * np.pi**2)
    # "check" (the default, as in multigrid): the projected problem is solved and reported
    sol = solve_periodic(f, throw=False)
    assert sol.result == RESULTS.incompatible
    np.testing.assert_allclose(sol.value, expected, atol=1e-15)
    with pytest.raises(Exception, match="compatibility"):
        jax.block_until_ready(solve_periodic(f).value)
    # "project": silently solved for f minus its mean
    sol = solve_periodic(f, compatibility="project")
    assert sol.result == RESULTS.successful
    assert int(sol.stats["num_steps"]) == 0  # a direct solve takes no iteration
    np.testing.assert_allclose(sol.stats["mean_f"], 3.0)
    np.testing.assert_allclose(sol.value, expected, atol=1e-15)
    # k > 0: no compatibility condition, the mean is solved for
    sol = solve_periodic(f, k=2.0)
    assert sol.result == RESULTS.successful
    np.testing.assert_allclose(np.mean(sol.value), 1.5)
    # a compatible right-hand side passes the check
    assert solve_periodic(f - 3.0, throw=False).result == RESULTS.successful


def test_periodic_nonfinite_input_is_not_successful():
    f = np.cos(2 * np.pi * np.arange(8) / 8)
    for bad_f, k in ((f.copy(), 1.0), (f, float("nan")), (f, jnp.asarray(np.inf))):
        bad_f[3] = np.nan if k == 1.0 else bad_f[3]
        for compatibility in ("check", "project"):
            sol = solve_periodic(bad_f, k=k, compatibility=compatibility, throw=False)
            assert sol.result == RESULTS.nonfinite
    with pytest.raises(Exception, match="nonfinite"):
        jax.block_until_ready(solve_periodic(f, k=float("nan")).value)
    # under jit with a traced k
    result = jax.jit(lambda k: solve_periodic(f, k=k, throw=False).result)(jnp.nan)
    assert result == RESULTS.nonfinite


def test_periodic_indefinite_helmholtz_and_resonance():
    n = 16
    x = np.arange(n) / n
    X, Y = np.meshgrid(x, x, indexing="ij")
    u = np.sin(2 * np.pi * 3 * X) * np.cos(2 * np.pi * Y)
    lam = (2 * np.pi) ** 2 * 10
    # -Δu - ω² u = f, off resonance (ω² = 7 (2π)^2 is not a sum of two squares times (2π)^2)
    k = -7 * (2 * np.pi) ** 2
    sol = solve_periodic((lam + k) * u, k=k, compatibility="check")
    np.testing.assert_allclose(sol.value, u, atol=1e-12)
    assert int(sol.stats["num_singular_modes"]) == 0
    # in resonance with the modes |m|^2 = 5: f containing such a mode is incompatible ...
    k = -5 * (2 * np.pi) ** 2
    g = np.cos(2 * np.pi * (X + 2 * Y))
    sol = solve_periodic(u + g, k=k, compatibility="check", throw=False)
    assert sol.result == RESULTS.incompatible
    assert int(sol.stats["num_singular_modes"]) > 0
    # ... "project" drops the resonant component and solves the rest exactly
    sol = solve_periodic((lam + k) * u + g, k=k, compatibility="project")
    assert sol.result == RESULTS.successful
    np.testing.assert_allclose(sol.value, u, atol=1e-12)
    # and a right-hand side orthogonal to the resonant modes passes the check
    sol = solve_periodic((lam + k) * u, k=k, compatibility="check", throw=False)
    assert sol.result == RESULTS.successful


def test_spectral_derivatives():
    n1, n2, L1, L2 = 16, 11, 2 * np.pi, 3.0
    X, Y = np.meshgrid(np.arange(n1) * L1 / n1, np.arange(n2) * L2 / n2, indexing="ij")
    a = 2 * np.pi / L2
    u = np.sin(3 * X) * np.cos(2 * a * Y) + np.cos(7 * X)
    g = spectral_gradient(u, length=(L1, L2))
    assert g.shape == (2, n1, n2)
    np.testing.assert_allclose(
        g[0], 3 * np.cos(3 * X) * np.cos(2 * a * Y) - 7 * np.sin(7 * X), atol=1e-12
    )
    np.testing.assert_allclose(g[1], -2 * a * np.sin(3 * X) * np.sin(2 * a * Y), atol=1e-12)
    lap = -(9 + 4 * a**2) * np.sin(3 * X) * np.cos(2 * a * Y) - 49 * np.cos(7 * X)
    np.testing.assert_allclose(spectral_laplacian(u, length=(L1, L2)), lap, atol=1e-11)
    np.testing.assert_allclose(
        spectral_derivative(u, 0, order=2, length=(L1, L2)),
        -9 * np.sin(3 * X) * np.cos(2 * a * Y) - 49 * np.cos(7 * X),
        atol=1e-11,
    )
    # Nyquist mode cos(8x) on 16 points: first derivative (a sine) is zero on the grid, second is exact
    x = np.arange(16) * 2 * np.pi / 16
    np.testing.assert_allclose(
        spectral_derivative(np.cos(8 * x), 0, length=2 * np.pi), 0, atol=1e-12
    )
    np.testing.assert_allclose(
        spectral_laplacian(np.cos(8 * x), length=2 * np.pi), -64 * np.cos(8 * x), atol=1e-11
    )
    # spectral accuracy on a smooth non-polynomial periodic function
    for n in (32,):
        x = np.arange(n) * 2 * np.pi / n
        u = np.exp(np.sin(x))
        err = np.abs(spectral_derivative(u, 0, length=2 * np.pi) - np.cos(x) * u).max()
        assert err < 1e-12
    np.testing.assert_allclose(wavenumbers(4, 2 * np.pi), [0, 1, -2, -1])


def test_jit_vmap_and_gradients():
    rng = np.random.default_rng(4)
    fs = rng.standard_normal((3, 7, 6))
    batched = jax.jit(jax.vmap(lambda f: solve_dirichlet(f, stencil="fd")))(fs)
    for i in range(3):
        np.testing.assert_allclose(batched[i], solve_dirichlet(fs[i], stencil="fd"), atol=1e-13)
    pb = jax.jit(jax.vmap(lambda f: solve_periodic(f, k=1.0).value))(fs)
    np.testing.assert_allclose(pb[1], solve_periodic(fs[1], k=1.0).value, atol=1e-13)
    gb = jax.jit(jax.vmap(spectral_gradient))(fs)
    np.testing.assert_allclose(gb[2], spectral_gradient(fs[2]), atol=1e-12)
    f = fs[0]
    # jitted so each finite-difference evaluation is one compiled call, not op-by-op dispatch
    check_grads(jax.jit(lambda f, k: solve_dirichlet(f, k=k)), (f, 0.5), order=1, modes=("rev",))
    check_grads(
        jax.jit(lambda f, k: solve_periodic(f, k=k).value), (f, 0.5), order=1, modes=("rev",)
    )
    check_grads(
        jax.jit(lambda u: spectral_laplacian(u) + spectral_derivative(u, 1)),
        (f,),
        order=1,
        modes=("rev",),
    )
    # the adjoint of the symmetric solve is the solve
    v = rng.standard_normal(f.shape)
    lhs = np.vdot(v, solve_dirichlet(f, stencil="fd"))
    rhs = np.vdot(solve_dirichlet(v, stencil="fd"), f)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12)


def test_float32():
    n = 31
    s = np.arange(1, n + 1) / (n + 1)
    X, Y = np.meshgrid(s, s, indexing="ij")
    u = np.sin(np.pi * X) * np.sin(2 * np.pi * Y)
    out = solve_dirichlet((5 * np.pi**2 * u).astype(np.float32))
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(out, u, atol=1e-5)


def test_bad_inputs_name_the_argument():
    f = np.zeros((4, 4))
    with pytest.raises(ValueError, match="stencil"):
        solve_dirichlet(f, stencil="9pt")
    with pytest.raises(ValueError, match="`k`"):
        solve_dirichlet(f, k=-1.0)
    with pytest.raises(Exception, match="`k`"):  # a device value is checked at run time
        jax.block_until_ready(solve_dirichlet(f, k=jnp.asarray(-1.0)))
    # a wrong shape is caught by the annotation when the type checker runs, else by the body
    with pytest.raises((ValueError, TypeError), match="`k`|'k'"):
        solve_periodic(f, k=np.ones(2))
    with pytest.raises(ValueError, match="`f`"):
        solve_dirichlet(np.zeros((2, 2, 2, 2)))
    with pytest.raises(TypeError, match="`f`|'f'"):
        solve_periodic(np.zeros((4, 4), int))
    with pytest.raises(ValueError, match="compatibility"):
        solve_periodic(f, compatibility="ignore")
    with pytest.raises(ValueError, match="length"):
        solve_periodic(f, length=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="length"):
        spectral_laplacian(f, length=-1.0)
    with pytest.raises(ValueError, match="axis"):
        spectral_derivative(f, 2)
    with pytest.raises(ValueError, match="order"):
        spectral_derivative(f, 0, order=-1)
