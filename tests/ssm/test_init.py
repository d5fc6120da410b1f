"""Initialisations against their defining formulas."""

import jax
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
    A, B = ssm.s4d_init("legs", N, b_clip=None)
    np.testing.assert_allclose(A.real, -0.5)
    assert np.all(A.imag <= 0)
    d = ssm.hippo_nplr("legs", N)
    np.testing.assert_allclose(B, d.V.conj().T @ ssm.hippo("legs", N)[1])


def test_eigenvector_phase_convention():
    """Every column of V has its first entry real and positive (LegS: V[0, n]; FouT and LegT: the first
    nonzero entry)."""
    for measure in ("legs", "legt", "fout"):
        V = ssm.hippo_nplr(measure, 16).V
        mag = np.abs(V)
        first = np.argmax(mag > 1e-8 * mag.max(0), axis=0)
        lead = V[first, np.arange(V.shape[1])]
        np.testing.assert_allclose(lead.imag, 0, atol=1e-14)
        assert np.all(lead.real > 0)
    assert np.all(ssm.hippo_nplr("legs", 64).V[0].real > 0)
    _, V = ssm.s5_init(8, blocks=2)
    np.testing.assert_allclose(V[[0, 4], [0, 2]].imag, 0, atol=1e-14)


@pytest.mark.parametrize("N", [8, 64, 256])
def test_legs_b_clip_against_formula(N):
    """S4D-LegS B as state-spaces/s4 (`nplr(..., B_clip=2.0)`): Im of V^* B_LegS clipped to [-2, 2],
    in the eigenbasis whose first entries V[0, n] are real and positive; the formula written out with the
    eigenvectors of the normal part recomputed from scratch."""
    A, B_legs, P = ssm.hippo("legs", N)
    S = A + P.T @ P
    w, V = np.linalg.eigh(-1j * (S + 0.5 * np.eye(N)))
    V = V[:, np.argsort(w)][:, : N // 2]
    V = V * (np.abs(V[0]) / V[0])  # the phase convention
    exact = V.conj().T @ B_legs
    want = exact.real + 1j * np.clip(exact.imag, -2.0, 2.0)
    lam, B = ssm.s4d_init("legs", N)
    np.testing.assert_allclose(lam.imag, np.sort(w)[: N // 2], atol=1e-9)
    np.testing.assert_allclose(B, want, atol=1e-9)
    assert np.all(np.abs(B.imag) <= 2.0)
    _, B_off = ssm.s4d_init("legs", N, b_clip=None)
    np.testing.assert_allclose(B_off, exact, atol=1e-9)
    clipped = np.abs(exact.imag) > 2
    np.testing.assert_array_equal(np.abs(B - B_off) > 1e-9, clipped)
    if N == 64:  # the numbers: 11 of 32 modes change, by up to 38.8 in |B|
        assert clipped.sum() == 11
        assert np.max(np.abs(B_off - B)) == pytest.approx(38.75, abs=0.01)
    _, B3 = ssm.s4d_init("legs", N, b_clip=3.0)
    assert np.all(np.abs(B3.imag) <= 3.0)
    with pytest.raises(ValueError, match="`b_clip`"):
        ssm.s4d_init("legs", N, b_clip=0.0)


def test_s5_init_block_diagonal():
    P, blocks = 8, 2
    Lam, V = ssm.s5_init(P, blocks=blocks)
    assert Lam.shape == (P // 2,) and V.shape == (P, P // 2)
    np.testing.assert_allclose(Lam.real, -0.5)
    d = ssm.hippo_nplr("legs", P // blocks)
    np.testing.assert_allclose(
        np.sort(Lam.imag), np.sort(np.tile(d.Lambda.imag, blocks)), atol=1e-10
    )
    assert np.all(V[: P // blocks, P // 4 :] == 0)  # block-diagonal
    np.testing.assert_allclose(V.conj().T @ V, np.eye(P // 2), atol=1e-12)  # orthonormal columns
    # V diagonalises each block of the normal part: S V = V diag(Lambda)
    A, _, Pl = ssm.hippo("legs", P // blocks)
    S = np.kron(np.eye(blocks), A + Pl.T @ Pl)
    np.testing.assert_allclose(S @ V, V * Lam, atol=1e-10)
    Lam_full, V_full = ssm.s5_init(P, blocks=blocks, conj_sym=False)
    assert Lam_full.shape == (P,) and V_full.shape == (P, P)


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
    key = jax.random.key(0)
    dt = np.asarray(ssm.init_dt(key, 2000, 1e-4, 1e-1))
    assert dt.shape == (2000,) and dt.dtype == np.float64  # the suite runs with x64
    assert dt.min() >= 1e-4 and dt.max() <= 1e-1
    assert abs(np.mean(np.log(dt)) - 0.5 * (np.log(1e-4) + np.log(1e-1))) < 0.1
    # a pure function of the key: works under jit and vmap over keys
    jitted = jax.jit(lambda k: ssm.init_dt(k, (3, 4), dtype=np.float32))(key)
    assert jitted.shape == (3, 4) and jitted.dtype == np.float32
    ens = jax.vmap(lambda k: ssm.init_dt(k, 5))(jax.random.split(key, 3))
    assert ens.shape == (3, 5) and len({tuple(np.asarray(r)) for r in ens}) == 3


def test_bad_state_sizes():
    with pytest.raises(ValueError, match="`N`"):
        ssm.s4d_init("lin", 7)
    with pytest.raises(ValueError, match="`N`"):
        ssm.s4d_init("inv", 0)
    with pytest.raises(ValueError, match="`N`"):
        ssm.hippo("fout", 5)
    with pytest.raises(ValueError, match="`P`"):
        ssm.s5_init(12, blocks=4)
    with pytest.raises(ValueError, match="`measure`"):
        ssm.hippo("lagx", 4)
    with pytest.raises(ValueError, match="`dt_min`"):
        ssm.init_dt(jax.random.key(0), 4, 0.0, 1.0)
    with pytest.raises(ValueError, match="`dt_min`"):
        ssm.init_dt(jax.random.key(0), 4, 0.5, 0.1)
