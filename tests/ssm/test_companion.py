"""companion_kernel and friends against explicit float64 matrix powers (issue 14)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from badinputs import arg
from helpers import assert_tree_allclose
from jax.test_util import check_grads

from jaxsci import ssm


def _abc(d, seed=0, scale=1.05):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=d)
    a = a / (np.abs(a).sum() * scale)  # ||a||_1 < 1: eigenvalues strictly inside the unit disc
    return a, rng.normal(size=d), rng.normal(size=d)


def _dense(a):
    d = len(a)
    A = np.eye(d, k=-1)
    A[:, -1] += a
    return A


def _powers(a, b, c, L):
    A = _dense(a)
    out, x = [], b.copy()
    for _ in range(L):
        out.append(c @ x)
        x = A @ x
    return np.array(out)


SIZES = [(3, 10), (8, 8), (25, 9), (1, 1), (13, 13), (6, 1)]  # d < L, d = L, d > L, odd sizes


@pytest.mark.parametrize("d, L", SIZES)
def test_kernel_matches_explicit_powers(d, L):
    a, b, c = _abc(d, seed=d * 100 + L)
    K = _powers(a, b, c, L)
    assert_tree_allclose(ssm.companion_kernel(a, b, c, L), K, rtol=1e-10, atol=1e-12)
    assert_tree_allclose(ssm.companion_kernel_krylov(a, b, c, L), K, rtol=1e-10, atol=1e-12)
    ct = ssm.companion_c_tilde(a, c, L)
    ct_ref = c @ (np.eye(d) - np.linalg.matrix_power(_dense(a), L))
    assert_tree_allclose(ct, ct_ref, rtol=1e-10, atol=1e-12)
    assert_tree_allclose(ssm.companion_kernel(a, b, ct, L, c_tilde=True), K, rtol=1e-10, atol=1e-12)
    assert_tree_allclose(ssm.companion_c_from_tilde(a, ct, L), c, rtol=1e-8, atol=1e-10)


def test_kernel_unnormalised_and_ar_structure():
    # an AR(2) with ||phi||_1 > 1 but stable roots (0.9, 0.8): a holds phi reversed
    phi = np.array([1.7, -0.72])
    a = phi[::-1].copy()
    b = np.array([1.0, 0.0])
    c = np.array([0.3, -1.2])
    K = _powers(a, b, c, 200)
    assert_tree_allclose(ssm.companion_kernel(a, b, c, 200), K, rtol=1e-9, atol=1e-11)
    # K obeys the AR recurrence from index d on (Cayley-Hamilton)
    np.testing.assert_allclose(K[2:], phi[0] * K[1:-1] + phi[1] * K[:-2], atol=1e-12)


def test_float32():
    a, b, c = _abc(64, seed=3)
    L = 512
    K = _powers(a, b, c, L)
    f32 = [jnp.asarray(x, jnp.float32) for x in (a, b, c)]
    out = ssm.companion_kernel(*f32, L)
    assert out.dtype == jnp.float32 and out.shape == (L,)
    np.testing.assert_allclose(out, K, atol=2e-5 * np.abs(K).max())
    out_t = ssm.companion_kernel(
        *f32[:2], ssm.companion_c_tilde(f32[0], f32[2], L), L, c_tilde=True
    )
    np.testing.assert_allclose(out_t, K, atol=2e-5 * np.abs(K).max())


def test_float64_and_integer_inputs():
    assert ssm.companion_kernel(*_abc(4), 6).dtype == jnp.float64
    out = ssm.companion_kernel(np.zeros(3, int), np.array([1, 0, 0]), np.array([1, 2, 3]), 5)
    # a = 0: the shift SSM is an FIR filter
    np.testing.assert_allclose(out, [1, 2, 3, 0, 0], atol=1e-14)


def _unit_circle_cases():
    rng = np.random.default_rng(5)
    a1 = np.abs(rng.normal(size=7))
    a1 /= a1.sum()  # a >= 0, ||a||_1 = 1: eigenvalue exactly 1 (what the L1 projection produces)
    cyc = np.zeros(4)
    cyc[0] = 1.0  # the cyclic shift: every eigenvalue a 4th root of unity
    return [(a1, 24), (a1, 7), (a1, 3), (cyc, 12), (cyc, 4), (cyc, 2)]  # d < L, d = L, d > L


@pytest.mark.parametrize("case", range(6))
def test_default_kernel_exact_with_unit_circle_eigenvalues(case):
    # the roots-of-unity formula is 0/0 here (the c~ path raises, below); the default stays at rounding
    a, L = _unit_circle_cases()[case]
    b, c = np.random.default_rng(case).normal(size=(2, len(a)))
    K = _powers(a, b, c, L)
    assert_tree_allclose(ssm.companion_kernel(a, b, c, L), K, rtol=1e-12, atol=1e-13)
    if case == 0:
        # c A^L (for c~) by binary powering, also exact here
        ct_ref = c @ (np.eye(len(a)) - np.linalg.matrix_power(_dense(a), L))
        assert_tree_allclose(ssm.companion_c_tilde(a, c, L), ct_ref, rtol=1e-12, atol=1e-13)
        f32 = [jnp.asarray(x, jnp.float32) for x in (a, b, c)]
        np.testing.assert_allclose(ssm.companion_kernel(*f32, L), K, atol=1e-5 * np.abs(K).max())


def test_grads():
    a, b, c = (jnp.asarray(x) for x in _abc(6, seed=7))
    check_grads(
        lambda a, b, c: ssm.companion_kernel(a, b, c, 9, c_tilde=True),
        (a, b, c),
        order=1,
        modes=("rev",),
    )
    # the default path, with the eigenvalue 1 on the unit circle
    a1, _ = _unit_circle_cases()[0]
    check_grads(
        lambda a, b, c: ssm.companion_kernel(a, b, c, 10),
        tuple(jnp.asarray(x) for x in (a1, a1[::-1] - 0.1, a1 + 0.3)),
        order=1,
        modes=("rev",),
    )


def test_jit_vmap():
    abc = [np.stack(x) for x in zip(*[_abc(5, seed=s) for s in range(4)], strict=True)]
    f = jax.jit(jax.vmap(lambda a, b, c: ssm.companion_kernel(a, b, c, 7)))
    ref = np.stack([_powers(a, b, c, 7) for a, b, c in zip(*abc, strict=True)])
    assert_tree_allclose(f(*abc), ref)


def test_gradient_matches_krylov():
    a, b, c = (jnp.asarray(x) for x in _abc(9, seed=11))
    G = jnp.asarray(np.random.default_rng(0).normal(size=20))
    g1 = jax.grad(lambda *x: jnp.sum(ssm.companion_kernel(*x, 20) * G), argnums=(0, 1, 2))(a, b, c)
    g2 = jax.grad(lambda *x: jnp.sum(ssm.companion_kernel_krylov(*x, 20) * G), argnums=(0, 1, 2))(
        a, b, c
    )
    assert_tree_allclose(g1, g2, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("d, l", [(4, 13), (9, 3), (1, 6), (6, 6)])
def test_state_matches_recurrence(d, l):
    a, b, _ = _abc(d, seed=l)
    u = np.random.default_rng(l).normal(size=l)
    A, x = _dense(a), np.zeros(d)
    for t in range(l):
        x = A @ x + b * u[t]
    assert_tree_allclose(ssm.companion_state(a, b, u), x, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("d, h", [(3, 10), (8, 5), (16, 40), (1, 4)])
def test_closed_loop_matches_matrix_powers(d, h):
    a, b, c = _abc(d, seed=d + h)
    rng = np.random.default_rng(h)
    k = rng.normal(size=d)
    k = k / (2 * np.abs(k).sum())
    x0 = rng.normal(size=d)
    Ab = _dense(a) + np.outer(b, k)
    ys = [c @ np.linalg.matrix_power(Ab, j) @ x0 for j in range(1, h + 1)]
    us = [k @ np.linalg.matrix_power(Ab, j) @ x0 for j in range(1, h + 1)]
    y, uhat = ssm.companion_closed_loop(a, b, c, k, x0, h)
    assert_tree_allclose(y, np.array(ys), rtol=1e-9, atol=1e-11)
    assert_tree_allclose(uhat, np.array(us), rtol=1e-9, atol=1e-11)


def test_companion_matrix_eigenvalues():
    a, _, _ = _abc(6)
    A = np.asarray(ssm.companion_matrix(a))
    np.testing.assert_allclose(A, _dense(a))
    # chi_A(z) = z^d - sum_i a_i z^i
    np.testing.assert_allclose(np.poly(A), np.concatenate([[1.0], -a[::-1]]), atol=1e-12)


@pytest.mark.parametrize(
    "args, match",
    [
        ((np.zeros(0), np.zeros(0), np.zeros(0), 4), arg("a")),
        ((np.zeros(3), np.zeros(3), np.zeros(3), 0), arg("L")),
        ((np.zeros(3), np.zeros(3), np.zeros(3), -2), arg("L")),
        ((np.zeros(3), np.zeros(4), np.zeros(3), 4), arg("b")),
        ((np.zeros(3), np.zeros(3), np.zeros(2), 4), arg("c")),
        ((np.zeros((2, 3)), np.zeros(3), np.zeros(3), 4), arg("a")),
        ((np.zeros(3), np.zeros(3), np.zeros(3), 4.0), arg("L")),
    ],
)
def test_bad_inputs(args, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ssm.companion_kernel(*args)


def test_root_of_unity_raises():
    # a = e_1: A is the cyclic shift, eigenvalues are d-th roots of unity, hence L-th ones for L = d
    a = np.array([1.0, 0.0, 0.0])
    with pytest.raises(Exception, match="unit circle"):
        jax.block_until_ready(ssm.companion_kernel(a, np.ones(3), np.ones(3), 3, c_tilde=True))
