"""The solver protocol in jaxsci.monotone: stats keys, NaN padding, fixed budgets, divergence, counts,
state reuse, run-time checks of JAX values; the duality gap and the game value against LP references."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

import jaxsci.monotone as mono
from jaxsci import RESULTS, Solution

KEYS = {
    "num_steps",
    "num_epochs",
    "oracle_calls",
    "residual_history",
    "epoch_history",
    "num_logged",
    "residual_norm",
    "restarts",
    "step_size",
}


def _problem(n=6, seed=2):
    rng = np.random.default_rng(seed)
    b = rng.normal(size=(n, n))
    m = b @ b.T / n + 0.5 * np.eye(n)
    return mono.AffineFiniteSum(jnp.asarray(m), jnp.asarray(rng.normal(size=n)))


def _solvers(max_epochs=20, **kw):
    return [
        mono.Halpern(step_size=0.1, max_epochs=max_epochs, **kw),
        mono.Extragradient(step_size=0.1, max_epochs=max_epochs, **kw),
        mono.AnchoredExtragradient(step_size=0.1, max_epochs=max_epochs, **kw),
        mono.VRExtragradient(step_size=0.02, max_epochs=max_epochs, **kw),
        mono.VRHalpern(step_size=0.05, max_epochs=max_epochs, **kw),
        mono.InexactVRHalpern(step_size=0.3, inner_step_size=0.05, max_epochs=max_epochs, **kw),
    ]


def _lp_value(a):
    """min_x max_y yᵀAx over simplices by linprog (HiGHS), float64."""
    n, m = a.shape
    res = scipy.optimize.linprog(
        np.r_[np.zeros(m), 1.0],
        A_ub=np.c_[a, -np.ones(n)],
        b_ub=np.zeros(n),
        A_eq=np.r_[np.ones(m), 0.0][None],
        b_eq=[1.0],
        bounds=[(0, None)] * m + [(None, None)],
        method="highs",
    )
    dual = scipy.optimize.linprog(
        np.r_[np.zeros(n), -1.0],
        A_ub=np.c_[-a.T, np.ones(m)],
        b_ub=np.zeros(m),
        A_eq=np.r_[np.ones(n), 0.0][None],
        b_eq=[1.0],
        bounds=[(0, None)] * n + [(None, None)],
        method="highs",
    )
    return res.fun, res.x[:m], dual.x[:n]


def test_same_stats_keys_nan_padding_and_counts():
    prob = _problem()
    z0, key = jnp.zeros(6), jax.random.key(0)
    for solver in _solvers(num_logs=11):
        sol = solver.solve(solver.init(prob), z0, key=key, throw=False)
        assert isinstance(sol, Solution) and set(sol.stats) == KEYS, type(solver).__name__
        k = int(sol.stats["num_logged"])
        for name in ("residual_history", "epoch_history"):
            h = np.asarray(sol.stats[name])
            assert h.shape == (11,) and np.all(np.isfinite(h[:k])) and np.all(np.isnan(h[k:]))
        np.testing.assert_allclose(sol.stats["num_epochs"], int(sol.stats["oracle_calls"]) / 6)
    # num_steps counts iterations: Halpern pays n per iteration, EG 2n
    h = mono.halpern(prob, z0, step_size=0.1, max_epochs=10, num_logs=3)
    assert int(h.stats["num_steps"]) == 10 == int(h.stats["oracle_calls"]) // 6
    eg = mono.extragradient(prob, z0, step_size=0.1, max_epochs=10, num_logs=3)
    assert int(eg.stats["num_steps"]) == 5
    # a tolerance met early leaves a NaN tail
    sol = mono.extragradient(prob, z0, step_size=0.3, max_epochs=2000, tol=1e-6, num_logs=201)
    k = int(sol.stats["num_logged"])
    assert sol.result == RESULTS.successful and k < 201
    assert np.all(np.isnan(np.asarray(sol.stats["residual_history"])[k:]))
    assert float(sol.stats["residual_norm"]) <= 1e-6


def test_fixed_budget_is_successful():
    # tol=None (the default) runs the whole budget; finite and not diverged = success, no raise
    prob = _problem()
    z0 = jnp.zeros(6)
    for solver in _solvers(max_epochs=15):
        sol = solver(prob, z0, key=jax.random.key(1))  # throw=True: must not raise
        assert sol.result == RESULTS.successful
        assert float(sol.stats["num_epochs"]) >= 15
        assert float(sol.stats["residual_norm"]) < float(sol.stats["residual_history"][0])
    # with a tolerance that is not met, the same run is max_steps_reached and raises with advice
    with pytest.raises(eqx.EquinoxRuntimeError, match="Increase `max_epochs`"):
        jax.block_until_ready(mono.halpern(prob, z0, step_size=0.1, max_epochs=3, tol=1e-12))


def test_divergence_is_reported():
    # the README call on a random 200 x 200 game: step 5/‖A‖_F ends worse than it starts
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 200))
    game = mono.BilinearGame(jnp.asarray(a))
    z0 = jnp.full(400, 1 / 200)
    kw = dict(step_size=5 / np.linalg.norm(a), max_epochs=200, key=jax.random.key(0))
    sol = mono.vr_halpern(game, z0, throw=False, **kw)
    assert float(sol.stats["residual_norm"]) > float(sol.stats["residual_history"][0])
    assert sol.result == RESULTS.diverged
    with pytest.raises(eqx.EquinoxRuntimeError, match=r"vr_halpern failed \(diverged\).*step_size"):
        jax.block_until_ready(mono.vr_halpern(game, z0, throw=True, **kw))
    # an unconstrained blow-up stops early as diverged (1e6 × the initial residual), long before 1e33
    skew = np.array([[0.0, 1.0], [-1.0, 0.0]])
    prob = mono.AffineFiniteSum(jnp.asarray(skew), jnp.asarray([1.0, 1.0]))
    sol = mono.halpern(prob, jnp.zeros(2), step_size=10.0, max_epochs=10_000, throw=False)
    assert (
        sol.result == RESULTS.diverged and int(sol.stats["num_logged"]) == 2
    )  # the first log point
    assert float(sol.stats["num_epochs"]) <= 50
    fine = mono.halpern(
        prob, jnp.zeros(2), step_size=10.0, max_epochs=10_000, log_every=1, throw=False
    )
    k = int(fine.stats["num_logged"])
    r = np.asarray(fine.stats["residual_history"])[:k]
    assert fine.result == RESULTS.diverged and float(fine.stats["num_epochs"]) < 20
    assert np.all(np.isfinite(r)) and 1e6 * r[0] < r[-1] < 1e33


def test_state_reuse_and_runtime_checks():
    prob = _problem()
    z0 = jnp.zeros(6)
    solver = mono.Extragradient(step_size="adaptive", max_epochs=10, num_logs=3)
    state = solver.init(prob)
    assert bool(jnp.isnan(state.lipschitz_estimate))
    first = solver.solve(state, z0, throw=False)
    assert 0 < float(first.state.lipschitz_estimate) <= float(prob.lipschitz) * (1 + 1e-12)
    again = solver.solve(first.state, first.value, throw=False)  # no probe: 2 epochs for iterations
    assert int(again.stats["num_steps"]) == int(first.stats["num_steps"]) + 1
    # JAX values are checked at run time (never read on the host), and can be vmapped
    with pytest.raises(eqx.EquinoxRuntimeError, match="step_size"):
        jax.block_until_ready(mono.halpern(prob, z0, step_size=jnp.asarray(-0.1), max_epochs=2))
    etas = jnp.asarray([0.05, 0.1, 0.2])
    batched = jax.vmap(lambda e: mono.halpern(prob, z0, step_size=e, max_epochs=5).value)(etas)
    for i, eta in enumerate((0.05, 0.1, 0.2)):
        single = mono.halpern(prob, z0, step_size=eta, max_epochs=5).value
        np.testing.assert_allclose(batched[i], single, atol=1e-12)
    # Algorithm 2's default inner step needs L̄: unknown for a traced problem -> a run-time error
    m = jnp.asarray(np.eye(4))

    @eqx.filter_jit  # (under jax.jit the error surfaces as an opaque JaxRuntimeError)
    def traced(mat):
        p = mono.AffineFiniteSum(mat, check_monotone=False)
        return mono.inexact_vr_halpern(
            p, jnp.ones(4), step_size=0.1, max_epochs=2, key=jax.random.key(0)
        ).value

    with pytest.raises(eqx.EquinoxRuntimeError, match="inner_step_size"):
        jax.block_until_ready(traced(m))
    # static values are checked when the configuration is built, naming the field
    for field, value in (("tol", 0.0), ("restart_factor", 1.0), ("step_scale", -1.0)):
        with pytest.raises(ValueError, match=field):
            mono.Halpern(step_size=0.1, max_epochs=1, **{field: value})
    with pytest.raises(ValueError, match="num_logs"):
        mono.VRHalpern(step_size=0.1, max_epochs=1, num_logs=1)
    with pytest.raises(TypeError, match="max_epochs"):
        mono.Halpern(step_size=0.1, max_epochs=jnp.asarray(3.0))


def test_support_functions_against_linprog():
    rng = np.random.default_rng(4)
    g = rng.normal(size=7)
    lo, hi = -rng.uniform(size=7), rng.uniform(size=7)
    box = scipy.optimize.linprog(-g, bounds=list(zip(lo, hi, strict=True)), method="highs")
    np.testing.assert_allclose(mono.Box(lo, hi).support(jnp.asarray(g)), -box.fun, rtol=1e-12)
    simplex = scipy.optimize.linprog(
        -g, A_eq=np.ones((1, 7)), b_eq=[2.0], bounds=[(0, None)] * 7, method="highs"
    )
    np.testing.assert_allclose(
        mono.Simplex(radius=2.0).support(jnp.asarray(g)), -simplex.fun, rtol=1e-12
    )
    np.testing.assert_allclose(
        mono.Ball(radius=3.0, center=0.5).support(jnp.asarray(g)),
        0.5 * g.sum() + 3 * np.linalg.norm(g),
        rtol=1e-12,
    )
    prod = mono.Product((mono.Simplex(), mono.Box(0.0, 1.0)), (3, 4))
    np.testing.assert_allclose(
        prod.support(jnp.asarray(g)), g[:3].max() + np.maximum(g[3:], 0).sum()
    )


@pytest.mark.parametrize("shape", [(5, 4), (9, 13)])
def test_duality_gap_and_value_against_linprog(shape):
    a = np.random.default_rng(shape[0]).uniform(-1, 1, size=shape)
    game = mono.BilinearGame(jnp.asarray(a))
    value, xs, ys = _lp_value(a)
    zstar = jnp.concatenate([jnp.asarray(xs), jnp.asarray(ys)])
    np.testing.assert_allclose(float(game.value(zstar)), value, atol=1e-9)
    assert abs(float(game.duality_gap(zstar))) < 1e-8
    # anywhere: gap = max(A x) − min(Aᵀ y), and the bounds bracket the value
    rng = np.random.default_rng(1)
    x, y = rng.dirichlet(np.ones(shape[1])), rng.dirichlet(np.ones(shape[0]))
    z = jnp.concatenate([jnp.asarray(x), jnp.asarray(y)])
    np.testing.assert_allclose(
        float(game.duality_gap(z)), (a @ x).max() - (y @ a).min(), rtol=1e-12
    )
    lower, upper = game.value_bounds(z)
    assert float(lower) <= value + 1e-12 and value <= float(upper) + 1e-12
    # the value without an LP, certified by its bracket
    sol = mono.game_value(game, tol=1e-7, max_epochs=50_000)
    assert sol.result == RESULTS.successful and float(sol.stats["duality_gap"]) <= 1e-7
    assert float(sol.stats["lower"]) <= value + 1e-9 and value <= float(sol.stats["upper"]) + 1e-9
    np.testing.assert_allclose(float(sol.value), value, atol=1e-7)


def test_box_game_gap():
    # on boxes the best responses are vertices: max_{y ∈ [l, u]^n} yᵀg = Σ max(l g_i, u g_i)
    a = np.random.default_rng(3).normal(size=(4, 3))
    game = mono.BilinearGame(jnp.asarray(a), "box", lower=-1.0, upper=2.0)
    x, y = np.array([0.5, -1.0, 1.5]), np.array([0.0, 2.0, -0.5, 1.0])
    z = jnp.concatenate([jnp.asarray(x), jnp.asarray(y)])
    ax, aty = a @ x, y @ a
    upper = np.maximum(-ax, 2 * ax).sum()
    lower = np.minimum(-aty, 2 * aty).sum()
    np.testing.assert_allclose(float(game.duality_gap(z)), upper - lower, rtol=1e-12)
    # the box game's value is 0 (x = 0): game_value certifies it
    sol = mono.game_value(game, tol=1e-6, max_epochs=50_000)
    assert sol.result == RESULTS.successful and abs(float(sol.value)) <= 1e-6


def test_policeman_and_burglar_value():
    # the authors' variant has a pure optimal strategy for the minimiser: V = min_j max_i A_ij in closed
    # form (weights on columns: min_j w_j (1 − exp(−θ max(j, n−1−j)))); Nemirovski's is mixed
    for n in (20, 100):
        a = mono.policeman_and_burglar_matrix(n)
        w = np.abs(np.random.RandomState(1).randn(n))
        j = np.arange(n)
        closed = np.min(w * (1 - np.exp(-0.8 * np.maximum(j, n - 1 - j))))
        np.testing.assert_allclose(_lp_value(a)[0], closed, rtol=1e-7)
    a = mono.policeman_and_burglar_matrix(20, variant="nemirovski")
    sol = mono.game_value(mono.BilinearGame(jnp.asarray(a)), tol=1e-8, max_epochs=20_000)
    np.testing.assert_allclose(float(sol.value), _lp_value(a)[0], atol=1e-8)
    assert math.isfinite(float(sol.stats["num_epochs"]))
