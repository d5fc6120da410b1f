import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest
import scipy.optimize

import jaxsci.monotone as mono
from jaxsci import RESULTS


def _np_simplex(v):
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - 1.0
    rho = np.nonzero(u - css / np.arange(1, len(v) + 1) > 0)[0][-1]
    return np.maximum(v - css[rho] / (rho + 1), 0)


@pytest.mark.parametrize("method", ["sort", "pivot"])
def test_projections_against_numpy(method):
    rng = np.random.default_rng(0)
    proj = jax.jit(lambda v, r: mono.project_simplex(v, r, method=method))
    for scale, radius, size in [(3, 1.0, 17), (0.01, 1.0, 500), (10, 2.5, 40), (1, 1.0, 1)]:
        v = rng.normal(size=size) * scale
        p = np.asarray(proj(jnp.asarray(v), radius))
        np.testing.assert_allclose(p, radius * _np_simplex(v / radius), atol=1e-12)
        assert abs(p.sum() - radius) < 1e-10 and p.min() >= 0
        # KKT: p_i = max(v_i - tau, 0) for a common tau
        tau = (v - p)[p > 0]
        assert np.ptp(tau) < 1e-10
    ties = jnp.asarray([0.3, 0.3, 0.3, -1.0, 0.3])
    np.testing.assert_allclose(proj(ties, 1.0), [0.25, 0.25, 0.25, 0, 0.25], atol=1e-15)
    batch = rng.normal(size=(4, 9))
    np.testing.assert_allclose(
        jax.vmap(lambda v: mono.project_simplex(v, method=method))(batch),
        np.stack([_np_simplex(b) for b in batch]),
        atol=1e-12,
    )
    jax.test_util.check_grads(
        lambda v: mono.project_simplex(v, method=method),
        (jnp.asarray(rng.normal(size=9)),),
        order=1,
        modes=("fwd", "rev"),
    )
    v = rng.normal(size=6) * 3
    np.testing.assert_allclose(mono.Box(-1.0, 1.0).project(jnp.asarray(v)), np.clip(v, -1, 1))
    lo, hi = -np.arange(6.0), np.arange(6.0) * 0.5
    np.testing.assert_allclose(mono.Box(lo, hi).project(jnp.asarray(v)), np.clip(v, lo, hi))
    b = np.asarray(mono.Ball(1.0).project(jnp.asarray(v)))
    np.testing.assert_allclose(b, v / max(1, np.linalg.norm(v)), atol=1e-14)
    prod = mono.Product(
        (mono.Simplex(method=method), mono.Box(0.0, 1.0), mono.Unconstrained()), (3, 2, 1)
    )
    np.testing.assert_allclose(
        prod.project(jnp.asarray(v)),
        np.r_[_np_simplex(v[:3]), np.clip(v[3:5], 0, 1), v[5:]],
        atol=1e-12,
    )


def _small_game():
    rng = np.random.default_rng(1)
    return rng.uniform(size=(4, 4))


def test_fixed_point_is_linprog_solution():
    a = _small_game()
    game = mono.BilinearGame(jnp.asarray(a), "simplex")
    # LP for the minimiser: min t s.t. A x <= t, x in simplex
    n, m = a.shape
    res = scipy.optimize.linprog(
        np.r_[np.zeros(m), 1.0],
        A_ub=np.c_[a, -np.ones(n)],
        b_ub=np.zeros(n),
        A_eq=np.r_[np.ones(m), 0.0][None],
        b_eq=[1.0],
        bounds=[(0, None)] * m + [(None, None)],
    )
    z0 = jnp.full(m + n, 1.0 / n)
    sol = mono.extragradient(
        game, z0, step_size=0.5 / float(game.lipschitz), max_epochs=20000, tol=1e-9
    )
    x, y = game.split(sol.value)
    assert sol.result == RESULTS.successful
    np.testing.assert_allclose(float(y @ a @ x), res.fun, atol=1e-6)  # value of the game
    assert float(game.residual(sol.value)) <= 1e-9


def _cocoercive_problem():
    rng = np.random.default_rng(2)
    b = rng.normal(size=(6, 6))
    m = b @ b.T / 6 + 0.0 * np.eye(6)
    q = rng.normal(size=6)
    return mono.AffineFiniteSum(jnp.asarray(m), jnp.asarray(q)), m, q


def test_halpern_rate_bound():
    prob, m, q = _cocoercive_problem()
    lip = float(prob.lipschitz)
    assert abs(float(prob.cocoercivity) - 1 / lip) < 1e-10
    zstar = np.linalg.lstsq(m, -q, rcond=None)[0]
    z0 = jnp.zeros(6)
    sol = mono.halpern(prob, z0, step_size=1 / lip, max_epochs=50, log_every=1, throw=False)
    k = np.arange(int(sol.stats["num_logged"]))
    r = np.asarray(sol.stats["residual_history"])[k]
    # ‖F(u_k)‖ <= 2 L ‖u0 − u*‖ / (k + 1)
    assert np.all(r <= 2 * lip * np.linalg.norm(zstar) / (k + 1) * (1 + 1e-10))
    assert np.all(np.isnan(np.asarray(sol.stats["residual_history"])[len(k) :]))  # NaN padding


def test_estimators_unbiased():
    prob = mono.policeman_and_burglar(12)
    key = jax.random.key(0)
    z = jax.random.uniform(key, (24,))
    zp = jax.random.uniform(jax.random.key(1), (24,))
    exact = np.asarray(prob.operator(z) - prob.operator(zp))

    def one(k):
        _, idx = mono.sample_without_replacement(k, jnp.arange(12), 3)
        return prob.batch_difference(z, zp, idx)

    samples = np.asarray(jax.vmap(one)(jax.random.split(jax.random.key(2), 4000)))
    se = samples.std(0) / np.sqrt(len(samples))
    assert np.all(np.abs(samples.mean(0) - exact) <= 4 * se + 1e-12)
    idx = np.asarray(
        jax.vmap(lambda k: mono.sample_without_replacement(k, jnp.arange(12), 3)[1])(
            jax.random.split(key, 50)
        )
    )
    assert all(len(set(r)) == 3 for r in idx)


def test_oracle_accounting():
    prob, _, _ = _cocoercive_problem()  # n = 6
    z0 = jnp.zeros(6)
    s = mono.halpern(prob, z0, step_size=0.1, max_epochs=10, throw=False)
    assert int(s.stats["oracle_calls"]) == 60 and int(s.stats["num_steps"]) == 10
    s = mono.extragradient(prob, z0, step_size=0.1, max_epochs=10, throw=False)
    assert int(s.stats["oracle_calls"]) == 60 and int(s.stats["num_steps"]) == 5
    # Alg 1 with n = 6, b = 2: steps 0, 1 full (6 each) = 12; with tiny budget 12/6 = 2 epochs
    s = mono.vr_halpern(prob, z0, step_size=0.1, max_epochs=2, key=jax.random.key(0), throw=False)
    assert int(s.stats["oracle_calls"]) == 12 and int(s.stats["num_steps"]) == 2


def test_vmap_over_keys_matches_loop():
    prob = mono.policeman_and_burglar(16)
    z0 = jnp.full(32, 1 / 16)
    f = lambda k: mono.vr_halpern(
        prob, z0, step_size=0.05, max_epochs=5, key=k, throw=False, num_logs=6
    )
    keys = jax.random.split(jax.random.key(3), 2)
    batched = jax.vmap(f)(keys)
    for i in range(2):
        single = f(keys[i])
        np.testing.assert_allclose(batched.value[i], single.value, atol=1e-12)
        np.testing.assert_allclose(
            batched.stats["residual_history"][i], single.stats["residual_history"], atol=1e-12
        )


def test_wrapper_and_alg2_and_restart_run():
    prob = mono.ouyang_xu_quadratic(10)
    z0 = jnp.full(20, 0.1)
    r0 = float(prob.residual(z0))
    s1 = mono.VRHalpern(step_size=0.3, restart_factor=0.5, max_epochs=50)(
        prob, z0, key=jax.random.key(0), throw=False
    )
    s2 = mono.inexact_vr_halpern(
        prob,
        z0,
        step_size=np.sqrt(10),
        inner_step_size=0.01,
        max_epochs=50,
        key=jax.random.key(0),
        throw=False,
        snapshot="theory",
    )
    s3 = mono.vr_halpern(
        prob, z0, step_size="adaptive", max_epochs=50, key=jax.random.key(0), throw=False
    )
    for s in (s1, s2, s3):
        assert np.isfinite(float(s.stats["residual_norm"]))
    print([float(s.stats["residual_norm"]) for s in (s1, s2, s3)], r0)
    assert float(s1.stats["residual_norm"]) < r0
    assert float(prob.cocoercivity) == 0.0  # Ouyang–Xu: monotone, not cocoercive


def test_bad_inputs():
    prob = mono.policeman_and_burglar(8)
    z0 = jnp.full(16, 1 / 8)
    with pytest.raises(ValueError, match="z0"):
        mono.halpern(prob, jnp.zeros(5), step_size=0.1, max_epochs=1)
    with pytest.raises(ValueError, match="step_size"):
        mono.halpern(prob, z0, step_size=-0.1, max_epochs=1)
    with pytest.raises(ValueError, match="tol"):
        mono.halpern(prob, z0, step_size=0.1, max_epochs=1, tol=0.0)
    with pytest.raises(ValueError, match="A"):
        mono.BilinearGame(jnp.zeros((0, 3)))
    with pytest.raises(ValueError, match="domain"):
        mono.BilinearGame(jnp.ones((3, 3)), domain="ball")
    with pytest.raises(ValueError, match="key"):
        mono.vr_halpern(prob, z0, step_size=0.1, max_epochs=1)
    with pytest.raises(ValueError, match="features"):
        mono.RobustLogisticRegression(jnp.zeros((0, 3)), jnp.zeros(0))
    # mismatched shapes
    with pytest.raises((ValueError, TypeError), match="z0"):  # TypeError: the runtime type checker
        mono.vr_halpern(prob, jnp.zeros((2, 8)), step_size=0.1, max_epochs=1, key=jax.random.key(0))
    with pytest.raises(ValueError, match="offset"):
        mono.AffineFiniteSum(jnp.eye(3), jnp.zeros(4))
    with pytest.raises(ValueError, match="square"):
        mono.AffineFiniteSum(jnp.ones((3, 4)))
    with pytest.raises(ValueError, match="labels"):
        mono.RobustLogisticRegression(jnp.zeros((5, 3)), jnp.zeros(4))
    with pytest.raises(ValueError, match="size"):
        mono.Product((mono.Simplex(), mono.Box()), (2, 2)).project(jnp.zeros(5))
    with pytest.raises(ValueError, match="groups"):
        mono.AffineFiniteSum(jnp.eye(3), groups=np.array([[0], [1], [1]]))
    # empty finite sums, at construction and in a solver
    with pytest.raises(ValueError, match="empty|non-empty"):
        mono.AffineFiniteSum(jnp.zeros((0, 0)))

    class Empty(mono.AbstractFiniteSumProblem):
        constraint: mono.AbstractConstraint = mono.Unconstrained()
        num_components = 0
        dim = 2

    with pytest.raises(ValueError, match="empty finite sum"):
        mono.halpern(Empty(), jnp.zeros(2), step_size=0.1, max_epochs=1)
    # every solver: negative / zero / non-finite step, tol <= 0, non-positive budget
    key = jax.random.key(0)
    for solver in (
        mono.halpern,
        mono.extragradient,
        mono.anchored_extragradient,
        mono.vr_extragradient,
        mono.vr_halpern,
        mono.inexact_vr_halpern,
    ):
        kw = (
            dict(max_epochs=1, key=key, inner_step_size=0.01)
            if solver is mono.inexact_vr_halpern
            else dict(max_epochs=1, key=key)
        )
        for step in (-0.1, 0.0, float("nan")):
            with pytest.raises(ValueError, match="step_size"):
                solver(prob, z0, step_size=step, **kw)
        for tol in (0.0, -1e-3):
            with pytest.raises(ValueError, match="tol"):
                solver(prob, z0, step_size=0.1, tol=tol, **kw)
        with pytest.raises(ValueError, match="max_epochs"):
            solver(prob, z0, step_size=0.1, **{**kw, "max_epochs": 0})
        with pytest.raises(ValueError, match="z0"):
            solver(prob, jnp.zeros(17), step_size=0.1, **kw)
    with pytest.raises(ValueError, match="step_size"):
        mono.vr_extragradient(prob, z0, step_size="adaptive", max_epochs=1, key=key)
    with pytest.raises(ValueError, match="inner_step_size"):
        mono.inexact_vr_halpern(
            prob, z0, step_size=0.1, inner_step_size=-1.0, max_epochs=1, key=key
        )
    with pytest.raises(ValueError, match="snapshot"):
        mono.inexact_vr_halpern(
            prob, z0, step_size=0.1, inner_step_size=0.1, max_epochs=1, key=key, snapshot="bogus"
        )
    with pytest.raises(ValueError, match="batch_size"):
        mono.vr_halpern(prob, z0, step_size=0.1, max_epochs=1, key=key, batch_size=9)
    with pytest.raises(ValueError, match="restart_factor"):
        mono.vr_halpern(prob, z0, step_size=0.1, max_epochs=1, key=key, restart_factor=1.5)
    with pytest.raises(ValueError, match="method"):
        mono.project_simplex(jnp.zeros(3), method="bisect")
    with pytest.raises(TypeError, match="problem"):
        mono.halpern(np.eye(3), jnp.zeros(3), step_size=0.1, max_epochs=1)
