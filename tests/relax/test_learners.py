import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import lsq_linear

import jaxsci.relax as R

D = 20


@pytest.fixture(scope="module")
def sor_like_costs():
    """A cheap stand-in for the paper's cost table: Young's asymptotic SOR counts for shifted
    Laplacians (10×10 grid), c = −0.15 + 0.6·Beta(2, 6), plus noise."""
    rng = np.random.default_rng(0)
    c = -0.15 + 0.6 * rng.beta(2, 6, 400)
    beta = 4 * np.cos(np.pi / 11) / (4 + c)
    rho = np.asarray(R.sor_spectral_radius(beta[:, None], np.linspace(1, 1.95, D)[None, :]))
    costs = np.ceil(np.log(1e-8) / np.log(rho)) + rng.integers(0, 10, rho.shape)
    return jnp.asarray(costs), jnp.asarray(c)


def _probs_trace(learner, costs, key):
    def step(s, row):
        arm, s = learner.sample(s)
        return learner.update(s, arm, row[arm]), s.probs

    return jax.lax.scan(step, learner.init(key), costs)[1]


def test_tsallis_probabilities_closed_form():
    L = jnp.array([0.0, 0.3, 2.0, 5.0, 0.1])
    for eta in (0.1, 1.0, 10.0):
        p = R.tsallis_inf_probabilities(L, eta)
        assert abs(float(p.sum()) - 1) < 1e-12 and float(p.min()) > 0
        # KKT: 2/√p_i − η L_i is the same for every arm (p_i = 4/(η(L_i − x))²)
        const = 2 / jnp.sqrt(p) - eta * L
        np.testing.assert_allclose(const, const[0], rtol=1e-9, atol=1e-9)


def test_tsallis_stays_on_simplex_where_authors_newton_leaves_it(sor_like_costs):
    costs, _ = sor_like_costs
    safe = jax.jit(lambda k: _probs_trace(R.TsallisINF(D), costs, k))(jax.random.key(0))
    np.testing.assert_allclose(safe.sum(-1), 1.0, atol=1e-12)
    assert float(safe.min()) >= 0
    # adversarial costs: the arm played most gets the largest cost, many rounds
    adv = jnp.where(jnp.arange(D)[None, :] == (jnp.arange(2000)[:, None] % 3), 1e4, 1.0)
    safe2 = jax.jit(lambda k: _probs_trace(R.TsallisINF(D), adv, k))(jax.random.key(1))
    np.testing.assert_allclose(safe2.sum(-1), 1.0, atol=1e-12)
    # the normaliser itself is right (renormalising a wrong one would still sum to 1, but then
    # 2/√p_i − η L_i would not be constant across arms): check the KKT condition in every round
    learner = R.TsallisINF(D)

    def step(st, row):
        arm, st = learner.sample(st)
        eta = learner.eta_scale / jnp.sqrt(st.t + 1.0)
        rec = (st.probs, st.losses / learner.scale(st), eta)
        return learner.update(st, arm, row[arm]), rec

    for table in (costs, adv):
        p, L, eta = jax.jit(lambda c: jax.lax.scan(step, learner.init(jax.random.key(2)), c)[1])(
            table
        )
        const = 2 / jnp.sqrt(p) - eta[:, None] * L
        np.testing.assert_allclose(const, const[:, :1] * jnp.ones_like(const), rtol=1e-8)
    unsafe = jax.jit(lambda k: _probs_trace(R.TsallisINF(D, safeguarded=False), costs, k))(
        jax.random.key(0)
    )
    assert np.any(np.abs(np.asarray(unsafe.sum(-1)) - 1) > 1e-3)  # the bug this module fixes


LEARNERS = {
    "tsallis": lambda: R.TsallisINF(5),
    "exp3": lambda: R.Exp3(5),
    "tsallis_cb": lambda: R.TsallisINFCB(5, num_bins=2, context_range=(0.0, 1.0)),
    "chebcb": lambda: R.ChebCB(5, num_features=3, context_range=(0.0, 1.0)),
}


@pytest.mark.parametrize("name", list(LEARNERS))
def test_sublinear_regret_on_stochastic_bandit(name):
    learner = LEARNERS[name]()
    means = jnp.array([6.0, 3.0, 5.0, 8.0, 4.0])  # best arm 1
    T = 2400
    keys = jax.random.split(jax.random.key(7), 4)

    def trial(key):
        kc, kl = jax.random.split(key)
        costs = means + 2.0 * jax.random.uniform(kc, (T, 5)) - 1.0
        ctx = jnp.full(T, 0.5)
        arms, _ = R.replay(learner, costs, kl, ctx)
        return jnp.cumsum(means[arms] - means[1])

    regret = jnp.mean(jax.jit(jax.vmap(trial))(keys), axis=0)
    r1, r4 = float(regret[T // 4 - 1]), float(regret[-1])
    assert r4 < 0.75 * 4 * r1, (r1, r4)  # strictly sublinear growth
    assert r4 / T < r1 / (T // 4)
    assert r4 / T < 0.5  # far below the regret of uniform play (2.2 per round)


def test_replay_equals_python_loop(sor_like_costs):
    costs, c = sor_like_costs
    costs, c = costs[:60], c[:60]
    for learner in (R.TsallisINF(D), R.ChebCB(D)):
        arms, paid = jax.jit(lambda k, learner=learner: R.replay(learner, costs, k, c))(
            jax.random.key(3)
        )
        state = learner.init(jax.random.key(3))
        sample, update = jax.jit(learner.sample), jax.jit(learner.update)
        for t in range(costs.shape[0]):
            arm, state = sample(state, c[t])
            state = update(state, arm, costs[t, arm], c[t])
            assert int(arm) == int(arms[t])
        np.testing.assert_array_equal(paid, costs[jnp.arange(60), arms])


def test_vmap_over_trials():
    costs = jnp.asarray(np.random.default_rng(1).uniform(1, 9, (50, 4)))
    learner = R.TsallisINFCB(4, num_bins=3, context_range=(0.0, 1.0))
    ctx = jnp.linspace(0, 1, 50)
    keys = jax.random.split(jax.random.key(0), 3)
    arms, paid = jax.jit(jax.vmap(lambda k: R.replay(learner, costs, k, ctx)))(keys)
    for i in range(3):
        a, p = R.replay(learner, costs, keys[i], ctx)
        np.testing.assert_array_equal(arms[i], a)
        np.testing.assert_array_equal(paid[i], p)


def test_run_online_matches_replay_on_solver_costs():
    A = R.delsq(R.numgrid("S", 6)) + 0.2 * np.eye(16)
    b = jnp.asarray(np.random.default_rng(2).standard_normal((12, 16)))
    omegas = jnp.linspace(1.0, 1.9, 4)
    learner = R.TsallisINF(4)
    solve = lambda bb, w: R.sor(A, bb, w)
    table = jax.vmap(lambda bb: jax.vmap(lambda w: solve(bb, w).stats["num_steps"])(omegas))(b)
    f = jax.jit(lambda k: R.run_online(learner, b, solve, k, omegas=omegas))
    arms, costs = f(jax.random.key(5))
    arms2, paid = R.replay(learner, table.astype(float), jax.random.key(5))
    np.testing.assert_array_equal(arms, arms2)
    np.testing.assert_array_equal(costs, paid)
    # with a carry (warm starts): solver(carry, instance, ω) -> (carry, solution)
    warm = lambda x, bb, w: (lambda s: (s.value, s))(R.sor(A, bb, w, x0=x))
    arms3, costs3, last = R.run_online(
        learner, b, warm, jax.random.key(5), omegas=omegas, carry=jnp.zeros(16)
    )
    assert arms3.shape == (12,) and last.shape == (16,)


def test_box_least_squares_matches_scipy():
    rng = np.random.default_rng(4)
    for _ in range(3):
        F = rng.standard_normal((30, 6))
        y = rng.standard_normal(30)
        ub = rng.uniform(0.01, 0.3, 6)
        theta = R.box_least_squares(F.T @ F, F.T @ y, ub, iters=20, ridge=0.0)
        ref = lsq_linear(F, y, bounds=(-ub, ub), tol=1e-12).x
        np.testing.assert_allclose(theta, ref, atol=1e-8)


def test_chebcb_probabilities_valid():
    learner = R.ChebCB(D)
    rng = np.random.default_rng(5)
    state = learner.init(jax.random.key(0))
    sample, update = jax.jit(learner.sample), jax.jit(learner.update)
    for _ in range(30):
        c = rng.uniform(-0.15, 0.45)
        arm, state = sample(state, c)
        assert abs(float(state.probs.sum()) - 1) < 1e-12 and float(state.probs.min()) >= 0
        state = update(state, arm, float(30 + 100 * abs(c - 0.1) + int(arm)), c)


def test_comparators():
    w, f = R.golden_section_search(lambda x: (x - 1.37) ** 2, 1.0, 1.95, num_evals=30)
    assert abs(float(w) - 1.37) < 1e-4
    costs = jnp.array([[3.0, 1.0, 2.0], [3.0, 4.0, 2.0]])
    arm, per = R.best_fixed_arm(costs)
    assert int(arm) == 2 and per.tolist() == [2.0, 2.0]
    assert np.isnan(float(R.young_omega_from_beta(1.0)))


def test_bad_learner_inputs():
    with pytest.raises(ValueError, match="num_arms"):
        R.TsallisINF(1)
    with pytest.raises(TypeError, match="num_arms"):
        R.Exp3(2.5)
    with pytest.raises(ValueError, match="context_range"):
        R.ChebCB(4, context_range=(1.0, 0.0))
    with pytest.raises(ValueError, match="gamma"):
        R.Exp3(3, gamma=2.0)
    with pytest.raises(ValueError, match="costs"):
        R.replay(R.TsallisINF(4), jnp.ones((10, 3)), jax.random.key(0))
    with pytest.raises(ValueError, match="contexts"):
        R.replay(R.ChebCB(4), jnp.ones((10, 4)), jax.random.key(0))
    with pytest.raises(ValueError, match="context"):
        R.TsallisINFCB(4).sample(R.TsallisINFCB(4).init(jax.random.key(0)))
