"""Token dynamics (Vo et al., ICLR 2025): the field, the diffrax ODE, the discrete stack, the scenario
classifier, the PSD parameterisation and SoftSort (issue 13)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from badinputs import arg

from jaxsci import RESULTS, ssm


def _softplus(x):
    return np.log1p(np.exp(x))


def ref_field(x, S_B, S_C, S_delta, A):
    """``dx_l/dt = sum_{j <= l} P_lj x_j`` with the paper's ``P_lj``, written out in float64."""
    x, S_B, S_C, S_delta, A = (np.asarray(v, np.float64) for v in (x, S_B, S_C, S_delta, A))
    L, Dm = x.shape
    delta = _softplus(x @ S_delta.T)  # (L, D)
    out = np.zeros((L, Dm))
    for l in range(L):
        for j in range(l + 1):
            acc = delta[j + 1 : l + 1].sum(axis=0)  # sum_{k=j+1}^{l} Delta_k, per channel
            for d in range(Dm):
                P = (S_C @ x[l]) @ (np.exp(A[d] * acc[d]) * (S_B @ x[j])) * delta[j, d]
                out[l, d] += P * x[j, d]
    return out


def _random_system(Dm=3, N=2, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(5, Dm)) * scale,
        rng.normal(size=(N, Dm)),
        rng.normal(size=(N, Dm)),
        rng.normal(size=(Dm, Dm)),
        -rng.uniform(0.5, 2.0, (Dm, N)),
    )


def test_field_is_the_papers_formula():
    args = _random_system()
    np.testing.assert_allclose(ssm.token_dynamics_field(*args), ref_field(*args), rtol=1e-11)


def _one_dim(mu, s=0.0, a=1.0):
    return jnp.array([[1.0]]), jnp.array([[mu]]), jnp.array([[s]]), jnp.array([[-a]])


@pytest.mark.parametrize("mu", [-1.5, 0.8])
def test_ode_single_token_analytic(mu):
    """One token, ``s_Delta = 0``: ``x' = mu log(2) x^3``, so ``x(t) = x0 / sqrt(1 - 2 mu log2 x0^2 t)``."""
    x0 = jnp.array([[0.7]])
    ts = jnp.linspace(0.0, 1.0, 6)
    sol = ssm.token_dynamics_ode(x0, *_one_dim(mu), ts, rtol=1e-10, atol=1e-12)
    assert sol.result == RESULTS.successful and int(sol.stats["num_steps"]) > 0
    exact = 0.7 / np.sqrt(1 - 2 * mu * np.log(2) * 0.49 * np.asarray(ts))
    np.testing.assert_allclose(sol.value[:, 0, 0], exact, rtol=1e-8)


def test_ode_against_deep_discrete_stack():
    """The residual stack x <- x + dt F(x) is Euler's method: its error at fixed depth-time is O(dt)."""
    x0 = jnp.array([[0.5], [-0.8], [1.0], [0.3]])
    params = _one_dim(-1.0, s=1.0)
    T = 1.0
    sol = ssm.token_dynamics_ode(x0, *params, jnp.array([T]), rtol=1e-10, atol=1e-12)
    errors = []
    for n in (25, 50, 100):
        stack = ssm.token_dynamics_stack(x0, *params, dt=T / n, n_layers=n)
        assert stack.shape == (n + 1, 4, 1)
        errors.append(float(jnp.max(jnp.abs(stack[-1] - sol.value[-1]))))
    assert errors[-1] < 1e-2
    assert 1.6 < errors[0] / errors[1] < 2.5 and 1.6 < errors[1] / errors[2] < 2.5, errors


def test_scenarios_in_one_dimension():
    """mu < 0: every |x_l| decays towards 0; mu > 0: every |x_l| grows (and blows up in finite time)."""
    x0 = jnp.array([[0.5], [-0.8], [1.0], [0.3]])
    ts = jnp.linspace(0.0, 3.0, 7)
    conv = ssm.token_dynamics_ode(x0, *_one_dim(-1.0, s=1.0), ts).value[:, :, 0]
    assert np.all(np.diff(np.abs(conv), axis=0) < 0) and np.all(np.abs(conv[-1]) < np.abs(x0[:, 0]))
    div = ssm.token_dynamics_ode(x0, *_one_dim(1.0, s=1.0), ts[:2] / 10).value[:, :, 0]
    assert np.all(np.abs(div[-1]) > np.abs(x0[:, 0]))
    blow = ssm.token_dynamics_ode(x0, *_one_dim(1.0, s=1.0), ts, max_steps=64, throw=False)
    assert blow.result != RESULTS.successful
    assert ssm.classify_token_dynamics(_one_dim(-1.0)[:2]) == "convergent"
    assert ssm.classify_token_dynamics(_one_dim(1.0)[:2]) == "divergent"


def test_classifier_against_definiteness():
    rng = np.random.default_rng(0)
    Q = rng.normal(size=(4, 4))
    skew = rng.normal(size=(4, 4))
    skew = skew - skew.T
    assert ssm.classify_token_dynamics(Q @ Q.T + 0.1 * np.eye(4)) == "divergent"
    assert ssm.classify_token_dynamics(-(Q @ Q.T)) == "convergent"
    assert ssm.classify_token_dynamics(np.diag([1.0, -1.0, 2.0, 0.5])) == "mixed"
    assert ssm.classify_token_dynamics(np.eye(4) + skew) == "divergent"  # x^T M x = |x|^2
    assert ssm.classify_token_dynamics(np.zeros((4, 4))) == "mixed"
    S = rng.normal(size=(2, 4))  # rank-2 semidefinite cases
    assert ssm.classify_token_dynamics((3.0 * S, S)) == "divergent"
    assert ssm.classify_token_dynamics((-3.0 * S, S)) == "convergent"
    for seed in range(5):  # random S_B, S_C against the sign pattern of the symmetric eigenvalues
        S_B, S_C = np.random.default_rng(seed).normal(size=(2, 3, 5))
        M = S_C.T @ S_B
        lam = np.linalg.eigvalsh(M + M.T)
        expected = (
            "divergent" if lam.min() > -1e-9 else "convergent" if lam.max() < 1e-9 else "mixed"
        )
        assert ssm.classify_token_dynamics((S_B, S_C)) == expected


@pytest.mark.parametrize("kind, scenario", [("positive", "divergent"), ("negative", "convergent"),
                                             ("mixed", "mixed")])  # fmt: skip
def test_structured_io_factors_definiteness(kind, scenario):
    rng = np.random.default_rng(1)
    for _ in range(5):
        P = jnp.asarray(rng.normal(size=(4, 10)) * 3)
        d = jnp.asarray(rng.normal(size=4) * 3)
        S_B, S_C = ssm.structured_io_factors(P, d, kind)
        M = np.asarray(ssm.input_output_matrix((S_B, S_C)))
        np.testing.assert_allclose(M, M.T, atol=1e-12)  # U^T diag(s) U is symmetric
        lam = np.linalg.eigvalsh(M)
        assert np.linalg.matrix_rank(M) == 4
        if kind == "positive":
            assert lam.min() > -1e-10 * lam.max() and np.sort(lam)[-4] > 0.1
        elif kind == "negative":
            assert lam.max() < 1e-10 * -lam.min()
        else:
            assert lam.min() < -1e-6 and lam.max() > 1e-6
        assert ssm.classify_token_dynamics((S_B, S_C)) == scenario
    blk = ssm.MambaBlock(8, d_state=4, io=kind, key=jax.random.key(0))
    assert ssm.classify_token_dynamics(blk) == scenario


def test_softsort():
    s = jnp.array([0.3, -1.2, 2.5, 0.9, 0.0])
    P = ssm.softsort(s, 1.0)
    np.testing.assert_allclose(P.sum(axis=1), np.ones(5), rtol=1e-12)
    assert np.all(P > 0)
    hard = np.eye(5)[np.argsort(np.asarray(s))]
    for tau, tol in ((0.05, 1e-2), (0.01, 1e-12)):  # smallest gap 0.3: error ~ exp(-0.3 / tau)
        assert np.max(np.abs(ssm.softsort(s, tau) - hard)) < tol
    np.testing.assert_allclose(ssm.softsort(s, 0.01) @ s, np.sort(s), atol=1e-12)
    Ph = ssm.softsort(s, 1.0, hard=True)
    np.testing.assert_array_equal(Ph, hard)
    g = jax.grad(lambda s: jnp.sum(ssm.softsort(s, 1.0, hard=True) @ jnp.arange(5.0)))(s)
    assert np.all(np.isfinite(g)) and np.any(g != 0)  # straight-through gradient of the soft one


def test_jit_vmap_of_the_field_and_stack():
    args = _random_system()
    xs = jnp.stack([args[0], 2 * args[0]])
    f = jax.jit(jax.vmap(lambda x: ssm.token_dynamics_field(x, *args[1:])))
    np.testing.assert_allclose(f(xs)[1], ref_field(2 * args[0], *args[1:]), rtol=1e-11)
    stack = jax.jit(lambda x: ssm.token_dynamics_stack(x, *args[1:], dt=0.1, n_layers=2))(args[0])
    x1 = args[0] + 0.1 * ref_field(*args)
    np.testing.assert_allclose(stack[1], x1, rtol=1e-11)


def test_bad_inputs():
    args = _random_system()
    with pytest.raises((ValueError, TypeError), match=arg("S_B")):
        ssm.token_dynamics_field(args[0], args[1][:, :2], *args[2:])
    with pytest.raises((ValueError, TypeError), match=arg("s")):
        ssm.softsort(jnp.zeros((2, 2)))
    with pytest.raises((ValueError, TypeError), match=arg("tau")):
        ssm.softsort(jnp.zeros(3), 0.0)
    with pytest.raises((ValueError, TypeError), match=arg("block")):
        ssm.classify_token_dynamics(np.zeros((2, 3)))
    with pytest.raises((ValueError, TypeError), match=arg("kind")):
        ssm.structured_io_factors(jnp.zeros((2, 3)), jnp.zeros(2), "psd")
    with pytest.raises((ValueError, TypeError), match=arg("P")):
        ssm.structured_io_factors(jnp.zeros((4, 3)), jnp.zeros(4))
