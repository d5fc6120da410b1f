"""discretize, s4d_kernel, causal_conv, scans and steps: references, equivalences, jvp/grad/hessian, bad input.

Sequences are time-first (L, H); kernels channels-first (H, L)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from jax.test_util import check_grads

from jaxsci import ssm

H, N, L = 3, 4, 24

# jitted entry points for the correctness tests (bad-input tests call the plain functions: their value checks
# on dt run on concrete inputs)
discretize = jax.jit(ssm.discretize, static_argnums=3)
s4d_kernel = jax.jit(ssm.s4d_kernel, static_argnums=4, static_argnames="method")
causal_conv = jax.jit(ssm.causal_conv, static_argnames="bidirectional")
s4d_scan = jax.jit(ssm.s4d_scan, static_argnames="method")


@pytest.fixture
def params():
    rng = np.random.default_rng(0)
    A = -rng.uniform(0.1, 1.0, (H, N)) + 3j * rng.normal(size=(H, N))
    B = rng.normal(size=(H, N)) + 1j * rng.normal(size=(H, N))
    C = rng.normal(size=(H, N)) + 1j * rng.normal(size=(H, N))
    dt = np.array([1e-3, 0.1, 1.0])
    u = rng.normal(size=(L, H))
    D = rng.normal(size=H)
    return A, B, C, dt, u, D


def test_discretize_matches_matrix_exponential(params):
    A, B, _, dt, _, _ = params
    Ab, Bb = discretize(A, B, dt, "zoh")
    for h in range(H):
        M = np.zeros((N + 1, N + 1), complex)
        M[:N, :N] = dt[h] * np.diag(A[h])
        M[:N, N] = dt[h] * B[h]
        X = scipy.linalg.expm(M)
        np.testing.assert_allclose(np.asarray(Ab[h]), np.diag(X[:N, :N]), rtol=1e-12)
        np.testing.assert_allclose(np.asarray(Bb[h]), X[:N, N], rtol=1e-10)
    Ab, Bb = discretize(A, B, dt, "bilinear")
    I = np.eye(N)
    for h in range(H):
        Ar = np.linalg.solve(I - dt[h] / 2 * np.diag(A[h]), I + dt[h] / 2 * np.diag(A[h]))
        np.testing.assert_allclose(np.asarray(Ab[h]), np.diag(Ar), rtol=1e-12)


def test_zoh_accurate_as_dtA_to_zero():
    A = np.array([-1e-9 + 0j, 1e-12j, 0j, -0.5 + 1e-7j, -2 + 3j])
    dt = 1e-6
    _, Bb = discretize(A, np.ones(5), dt, "zoh")
    exact = np.array(
        [dt * float(np.expm1(dt * a.real) / (dt * a.real)) if a.real else dt for a in A]
    )
    ref = [np.complex128(dt * (1 + dt * a / 2 + (dt * a) ** 2 / 6)) for a in A]
    assert np.all(np.isfinite(np.asarray(Bb)))
    np.testing.assert_allclose(np.asarray(Bb), ref, rtol=1e-14)
    assert exact.shape == (5,)
    g = jax.jit(jax.grad(lambda a: jnp.real(ssm.phi1(a))))(jnp.asarray(0.0 + 0j))
    assert np.isfinite(g) and abs(np.real(g) - 0.5) < 1e-12


@pytest.mark.parametrize("method", ["zoh", "bilinear"])
def test_kernel_vs_powers_and_conv_scan_step(params, method):
    A, B, C, dt, u, D = params
    K = s4d_kernel(A, B, C, dt, L, method=method)
    for h in range(H):
        # powers of the discretised (diagonal, full conjugate-pair) state matrix, float64 host
        Afull = np.diag(np.concatenate([A[h], A[h].conj()]))
        Bfull = np.concatenate([B[h], B[h].conj()])
        Cfull = np.concatenate([C[h], C[h].conj()])
        ref = ssm.dense_ssm_kernel(Afull, Bfull, Cfull, dt[h], L, method)
        np.testing.assert_allclose(np.asarray(K[h]), ref.real, rtol=1e-9, atol=1e-11)
    y_conv = causal_conv(u, K, D)
    assert y_conv.shape == (L, H)
    y_ref = np.stack([np.convolve(u[:, h], np.asarray(K[h]))[:L] for h in range(H)], 1) + D * u
    np.testing.assert_allclose(np.asarray(y_conv), y_ref, rtol=1e-10, atol=1e-10)
    y_scan, x_last = s4d_scan(A, B, C, dt, u, D, method=method)
    np.testing.assert_allclose(np.asarray(y_scan), y_ref, rtol=1e-10, atol=1e-10)
    Ab, Bb = discretize(A, B, dt, method)

    def body(x, ut):
        y, x = ssm.s4d_step(Ab, Bb, C, x, ut, D)
        return x, y

    x, ys = jax.jit(lambda x0, u: jax.lax.scan(body, x0, u))(jnp.zeros((H, N), complex), u)
    np.testing.assert_allclose(np.asarray(ys), y_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(np.asarray(x), np.asarray(x_last), rtol=1e-10, atol=1e-12)
    # streaming in two chunks with the state carried = one pass
    y1, x1 = s4d_scan(A, B, C, dt, u[:10], D, method=method)
    y2, x2 = s4d_scan(A, B, C, dt, u[10:], D, method=method, x0=x1)
    np.testing.assert_allclose(np.concatenate([y1, y2], 0), y_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(np.asarray(x2), np.asarray(x_last), rtol=1e-10, atol=1e-12)


def test_bidirectional_conv():
    rng = np.random.default_rng(1)
    u = rng.normal(size=(9, 2))
    K = rng.normal(size=(2, 2, 9))
    y = causal_conv(u, K, np.ones(2), bidirectional=True)
    ref = np.zeros((9, 2))
    for h in range(2):
        for t in range(9):
            ref[t, h] = sum(K[0, h, t - s] * u[s, h] for s in range(t + 1))
            ref[t, h] += sum(K[1, h, s - t - 1] * u[s, h] for s in range(t + 1, 9))
    np.testing.assert_allclose(np.asarray(y), ref + u, rtol=1e-10, atol=1e-12)


def test_s5_scan_equals_dense_and_step():
    Lam, V = ssm.s5_init(8, blocks=2)
    rng = np.random.default_rng(2)
    Bt = V.conj().T @ rng.normal(size=(8, 3))
    Ct = rng.normal(size=(3, 8)) @ V
    u = rng.normal(size=(15, 3))
    D = rng.normal(size=3)
    dt = np.asarray(ssm.init_dt(jax.random.key(1), 4))
    y, xl = jax.jit(ssm.s5_scan)(Lam, Bt, Ct, dt, u, D)
    Lb, Bb = jax.jit(ssm.discretize_s5)(Lam, Bt, dt)

    @jax.jit
    def stream(x0, u):
        def body(x, ut):
            yt, x = ssm.s5_step(Lb, Bb, Ct, x, ut, D)
            return x, yt

        return jax.lax.scan(body, x0, u)

    x, ys = stream(jnp.zeros(4, complex), u)
    assert y.shape == (15, 3)
    np.testing.assert_allclose(np.asarray(ys), np.asarray(y), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(x), np.asarray(xl), rtol=1e-10, atol=1e-12)
    # MIMO via per-mode convolution: y = sum_p 2 Re(C_p Bbar_p u * Lbar_p^l) + D u
    Kp = np.asarray(Lb)[:, None] ** np.arange(15)  # (P, L)
    ref = np.zeros((15, 3))
    for p in range(4):
        for h in range(3):
            for g in range(3):
                kern = 2 * np.real(Ct[h, p] * Bb[p, g] * Kp[p])
                ref[:, h] += np.convolve(u[:, g], kern)[:15]
    np.testing.assert_allclose(np.asarray(y), ref + D * u, rtol=1e-9, atol=1e-10)


def test_kernel_grads_jit_vmap(params):
    A, B, C, dt, u, D = params
    f = lambda A, B, C, dt: s4d_kernel(A, B, C, dt, 16)
    args = tuple(jnp.asarray(x) for x in (A, B, C, dt))
    check_grads(f, args, order=1, modes=["rev"], atol=1e-5, rtol=1e-5, eps=1e-6)
    jitted = jax.jit(f)(*args)
    vm = jax.vmap(lambda a, b, c, d: s4d_kernel(a[None], b[None], c[None], d[None], 16)[0])(*args)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(f(*args)), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(np.asarray(vm), np.asarray(f(*args)), rtol=1e-12, atol=1e-13)
    g = lambda u, K: causal_conv(u, K, D)
    check_grads(
        g, (jnp.asarray(u), jnp.asarray(f(*args)[:, :1].repeat(L, 1))), order=1, modes=["rev"]
    )
    vc = jax.vmap(lambda uu: causal_conv(uu, jitted, None))(jnp.stack([u[:16], u[8:]]))
    np.testing.assert_allclose(
        np.asarray(vc[1]), np.asarray(causal_conv(u[8:], jitted)), atol=1e-12
    )


def test_fast_fft_length():
    for n in [1, 2, 7, 97, 2049, 20000]:
        m = ssm.fast_fft_length(n)
        assert m >= n
        k = m
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        assert k == 1
        assert all(not _is_smooth(j) for j in range(n, m))


def _is_smooth(k):
    for p in (2, 3, 5):
        while k % p == 0:
            k //= p
    return k == 1


def test_dt_forms_and_kernel_jvp_hessian(params):
    """The documented dt forms (scalar, (H,), (H, 1), (H, N)) agree, and jax.jvp / jax.hessian through
    s4d_kernel match central differences (float64)."""
    A, B, C, dt, _, _ = params
    K = s4d_kernel(A, B, C, dt, 20)
    for form in (dt[:, None], np.repeat(dt[:, None], N, 1)):
        np.testing.assert_allclose(
            np.asarray(s4d_kernel(A, B, C, form, 20)), np.asarray(K), atol=1e-13
        )
    np.testing.assert_allclose(
        np.asarray(s4d_kernel(A, B, C, 0.1, 20)),
        np.asarray(s4d_kernel(A, B, C, np.full(H, 0.1), 20)),
        atol=1e-13,
    )
    # a scalar function of a few real parameters: Re A, Im A, log dt (per mode) of one channel
    B1, C1 = B[:1, :2], C[:1, :2]

    def kernel(theta, method):
        a = -jnp.exp(theta[:2]) + 1j * theta[2:4]
        return ssm.s4d_kernel(a[None], B1, C1, jnp.exp(theta[4:6])[None], 25, method=method)

    theta = jnp.asarray([np.log(0.3), np.log(0.7), 2.0, -1.0, np.log(0.05), np.log(0.2)])
    v = jnp.asarray([0.3, -0.2, 0.5, 0.1, -0.4, 0.2])
    h = 1e-5
    for method in ("zoh", "bilinear"):
        f = jax.jit(lambda t, method=method: kernel(t, method))
        _, dK = jax.jit(lambda t, v, f=f: jax.jvp(f, (t,), (v,)))(theta, v)
        fd = (f(theta + h * v) - f(theta - h * v)) / (2 * h)
        np.testing.assert_allclose(np.asarray(dK), np.asarray(fd), rtol=1e-7, atol=1e-8)
        loss = jax.jit(lambda t, f=f: jnp.sum(jnp.sin(f(t))))
        Hs = jax.jit(jax.hessian(loss))(theta)
        g = jax.jit(jax.grad(loss))
        eye = np.eye(theta.size)
        H_fd = np.stack([(g(theta + h * e) - g(theta - h * e)) / (2 * h) for e in eye])
        np.testing.assert_allclose(np.asarray(Hs), H_fd, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(np.asarray(Hs), np.asarray(Hs).T, atol=1e-10)


def test_dense_kernel_without_scipy(monkeypatch):
    """dense_ssm_kernel's matrix exponential is float64 NumPy (SciPy is only the test's reference)."""
    A, B, _ = ssm.hippo("legs", 8)  # dense and non-normal
    C = np.random.default_rng(3).normal(size=8)
    dt, L = 0.05, 40
    Ab = scipy.linalg.expm(dt * A)
    Bb = np.linalg.solve(A, (Ab - np.eye(8)) @ B)
    ref = np.array([C @ np.linalg.matrix_power(Ab, l) @ Bb for l in range(L)])
    import sys

    monkeypatch.setitem(sys.modules, "scipy", None)  # any `import scipy` now fails
    monkeypatch.setitem(sys.modules, "scipy.linalg", None)
    got = ssm.dense_ssm_kernel(A, B, C, dt, L)
    np.testing.assert_allclose(got, ref, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(
        ssm.dense_ssm_kernel(10 * A, B, C, dt, 5), _expm_kernel(10 * A, B, C, dt, 5), rtol=1e-9
    )


def _expm_kernel(A, B, C, dt, L):
    Ab = scipy.linalg.expm(dt * A)
    Bb = np.linalg.solve(A, (Ab - np.eye(len(B))) @ B)
    return np.array([C @ np.linalg.matrix_power(Ab, l) @ Bb for l in range(L)])


def test_bad_inputs(params):
    # shape mistakes are caught by the jaxtyping annotations under the suite's hook (TypeError naming the
    # parameter) or by our checks (ValueError naming the argument); value mistakes by our checks
    A, B, C, dt, u, D = params
    shape_error = (ValueError, TypeError)
    with pytest.raises(ValueError, match="`dt`"):
        ssm.s4d_kernel(A, B, C, np.array([0.1, 0.0, 1.0]), 8)
    with pytest.raises(ValueError, match="`dt`"):
        ssm.discretize(A, B, -1.0)
    # device values are checked at run time, inside jit too (never copied to the host for a check)
    with pytest.raises(Exception, match="`dt` must be finite and > 0"):
        jax.block_until_ready(s4d_kernel(A, B, C, jnp.asarray([0.1, 0.0, 1.0]), 8))
    with pytest.raises(Exception, match="`dt` must be finite and > 0"):
        jax.block_until_ready(jax.jit(ssm.s5_scan)(A[0], B.T, C, -jnp.ones(N), u))
    with pytest.raises(shape_error, match="dt"):
        ssm.s4d_kernel(A, B, C, np.ones(2), 8)
    with pytest.raises(ValueError, match="`L`"):
        ssm.s4d_kernel(A, B, C, dt, 0)
    with pytest.raises(shape_error, match="C"):
        ssm.s4d_kernel(A, B, C[:, :2], dt, 8)
    with pytest.raises(ValueError, match="`method`"):
        ssm.s4d_kernel(A, B, C, dt, 8, method="euler")
    with pytest.raises(shape_error, match="K"):
        ssm.causal_conv(u, np.ones((H, L - 1)))
    with pytest.raises(shape_error, match="K"):
        ssm.causal_conv(u, np.ones((H, L)), bidirectional=True)
    with pytest.raises(shape_error, match="D"):
        ssm.causal_conv(u, np.ones((H, L)), np.ones(H + 1))
    with pytest.raises(shape_error, match="u"):
        ssm.s4d_scan(A, B, C, dt, u[:, :2], D)
    with pytest.raises(shape_error, match="x0"):
        ssm.s4d_scan(A, B, C, dt, u, D, x0=np.zeros((H, N + 1)))
    with pytest.raises(shape_error, match="x"):
        ssm.s4d_step(A, B, C, np.zeros((H, 1)), u[0])
