"""Initialisations against their defining formulas."""

import numpy as np
import pytest

from jaxsci import ssm


def test_legs_entries():
    A, B, P = ssm.hippo("legs", 6)
    for n in range(6):
        for k in range(6):
            want = (
                -np.sqrt(2 * n + 1) * np.sqrt(2 * k + 1) if n > k else (-(n + 1) if n == k else 0.0)
            )
            assert A[n, k] == pytest.approx(want, abs=1e-14)
    np.testing.assert_allclose(B, np.sqrt(2 * np.arange(6) + 1))
    np.testing.assert_allclose(P[0], np.sqrt(np.arange(6) + 0.5))


@pytest.mark.parametrize("measure,re", [("legs", -0.5), ("legt", 0.0), ("fout", 0.0)])
def test_nplr_split(measure, re):
    N = 8
    A, _, P = ssm.hippo(measure, N)
    S = A + P.T @ P
    np.testing.assert_allclose(S @ S.T, S.T @ S, atol=1e-10)  # normal
    d = ssm.hippo_nplr(measure, N)
    np.testing.assert_allclose(d.Lambda.real, re, atol=1e-12)
    assert d.Lambda.shape == (N // 2,) and np.all(d.Lambda.imag <= 1e-12)
    half = d.V @ np.diag(d.Lambda) @ d.V.conj().T
    np.testing.assert_allclose(half + half.conj(), S, atol=1e-10)
    # eigenvalues of the normal part, from NumPy directly
    ev = np.linalg.eigvals(S)
    ev = np.sort_complex(ev[ev.imag <= 1e-9])[: N // 2]
    np.testing.assert_allclose(np.sort(d.Lambda.imag), np.sort(ev.imag), atol=1e-9)


def test_legt_fout_structure():
    A, B, _ = ssm.hippo("legt", 4)
    R = np.sqrt(2 * np.arange(4) + 1)
    assert A[0, 1] == pytest.approx(0.5 * R[0] * R[1]) and A[1, 0] == pytest.approx(
        -0.5 * R[0] * R[1]
    )
    np.testing.assert_allclose(B, R / 2)
    A, B, _ = ssm.hippo("fout", 6)
    np.testing.assert_allclose(B, [1, 0, np.sqrt(2), 0, np.sqrt(2), 0])
    assert A[2, 3] == pytest.approx(-np.pi) and A[3, 2] == pytest.approx(np.pi) and A[1, 2] == 0


def test_s4d_inits():
    N = 8
    n = np.arange(N // 2)
    A, B = ssm.s4d_init("lin", N)
    np.testing.assert_allclose(A, -0.5 + 1j * np.pi * n)
    A, B = ssm.s4d_init("inv", N)
    np.testing.assert_allclose(A, -0.5 + 1j * N / np.pi * (N / (2 * n + 1) - 1))
    A, B = ssm.s4d_init("legs", N)
    np.testing.assert_allclose(A.real, -0.5)
    d = ssm.hippo_nplr("legs", N)
    np.testing.assert_allclose(B, d.V.conj().T @ ssm.hippo("legs", N)[1])


def test_s5_init_block_diagonal():
    P, H, blocks = 8, 3, 2
    Lam, Bt, Ct, V = ssm.s5_init(P, H, blocks=blocks, seed=0)
    assert Lam.shape == (P // 2,) and Bt.shape == (P // 2, H) and Ct.shape == (H, P // 2)
    np.testing.assert_allclose(Lam.real, -0.5)
    d = ssm.hippo_nplr("legs", P // blocks)
    np.testing.assert_allclose(
        np.sort(Lam.imag), np.sort(np.tile(d.Lambda.imag, blocks)), atol=1e-10
    )
    assert np.all(V[: P // blocks, P // 4 :] == 0)  # block-diagonal
    # B~ = V^{-1} B and C~ = C V for the same seed's real B, C
    rng = np.random.default_rng(0)
    B = rng.normal(size=(P, H)) / np.sqrt(H)
    C = rng.normal(size=(H, P)) / np.sqrt(P)
    np.testing.assert_allclose(Bt, V.conj().T @ B, atol=1e-12)
    np.testing.assert_allclose(Ct, C @ V, atol=1e-12)


def test_ptd_bounds_condition_number():
    r = ssm.ptd_legs(16, steps=20)
    A, B, _ = ssm.hippo("legs", 16)
    assert r.cond_V_unperturbed > 1e8  # LegS itself is exponentially ill-conditioned
    assert r.cond_V < 100 and r.rel_norm_E < 0.5
    np.testing.assert_allclose(r.norm_E, np.linalg.norm(r.E, 2))
    w = np.linalg.eigvals(A + r.E)
    assert r.Lambda.shape == (8,)
    for lam in r.Lambda:
        assert np.min(np.abs(w - lam)) < 1e-8
    assert np.all(r.Lambda.real < 0)


def test_init_dt_log_uniform():
    dt = ssm.init_dt(2000, 1e-4, 1e-1, seed=0)
    assert dt.min() >= 1e-4 and dt.max() <= 1e-1
    assert abs(np.mean(np.log(dt)) - 0.5 * (np.log(1e-4) + np.log(1e-1))) < 0.1


def test_bad_state_sizes():
    with pytest.raises(ValueError, match="`N`"):
        ssm.s4d_init("lin", 7)
    with pytest.raises(ValueError, match="`N`"):
        ssm.s4d_init("inv", 0)
    with pytest.raises(ValueError, match="`N`"):
        ssm.hippo("fout", 5)
    with pytest.raises(ValueError, match="`P`"):
        ssm.s5_init(12, 2, blocks=4)
    with pytest.raises(ValueError, match="`measure`"):
        ssm.hippo("lagx", 4)
    with pytest.raises(ValueError, match="`dt_min`"):
        ssm.init_dt(4, 0.0, 1.0)
