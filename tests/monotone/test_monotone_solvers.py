"""Solver interface, convergence to known solutions, exact oracle accounting, estimators, problems, jit/vmap."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

import jaxsci.monotone as mono
from jaxsci import RESULTS, Solution

SOLVERS = (
    "halpern",
    "extragradient",
    "anchored_extragradient",
    "vr_extragradient",
    "vr_halpern",
    "inexact_vr_halpern",
)


def _strongly_monotone(n=6, seed=2, mu=0.5):
    rng = np.random.default_rng(seed)
    b = rng.normal(size=(n, n))
    m = b @ b.T / n + mu * np.eye(n)
    q = rng.normal(size=n)
    return mono.AffineFiniteSum(jnp.asarray(m), jnp.asarray(q)), np.linalg.solve(m, -q), mu


def _call(name, problem, z0, key, **kw):
    lip, lbar = float(problem.lipschitz), float(problem.average_lipschitz)
    n = problem.num_components
    steps = {
        "halpern": 1 / lip,
        "extragradient": 0.5 / lip,
        "anchored_extragradient": 0.5 / lip,
        "vr_extragradient": 0.5 * math.sqrt(1 / n) / lbar,
        "vr_halpern": 1 / lbar,
        "inexact_vr_halpern": 1 / lip,
    }
    extra = {"inner_steps_c": 1.0} if name == "inexact_vr_halpern" else {}
    extra.update(kw.pop("extra", {}))
    return getattr(mono, name)(problem, z0, step_size=steps[name], key=key, **extra, **kw)


@pytest.mark.parametrize("name", SOLVERS)
def test_interface_and_logs(name):
    # the acceptance interface: solver(problem, z0, *, step_size, max_epochs, tol, key, throw)
    prob, _, _ = _strongly_monotone()
    z0 = jnp.zeros(6)
    sol = _call(
        name, prob, z0, jax.random.key(0), max_epochs=30, tol=1e-3, throw=False, num_logs=31
    )
    assert isinstance(sol, Solution)
    e, r = np.asarray(sol.stats["epoch_history"]), np.asarray(sol.stats["residual_history"])
    assert e.shape == r.shape == (31,)
    k = int(sol.stats["num_logged"])
    # filled up to the last log point, NaN after it (the one padding rule)
    assert np.all(np.isfinite(e[:k])) and np.all(np.isfinite(r[:k]))
    assert np.all(np.isnan(e[k:])) and np.all(np.isnan(r[k:]))
    assert e[0] == 0 and np.all(np.diff(e[:k]) > 0)
    np.testing.assert_allclose(r[0], float(prob.residual(z0)), rtol=1e-12)
    assert e[k - 1] == float(sol.stats["num_epochs"])
    np.testing.assert_allclose(e[k - 1], int(sol.stats["oracle_calls"]) / 6, rtol=1e-14)
    np.testing.assert_allclose(r[k - 1], float(prob.residual(sol.value)), rtol=1e-10)
    assert r[k - 1] == float(sol.stats["residual_norm"])
    if sol.result == RESULTS.successful:
        # stopped at the first log point below tol
        assert r[k - 1] <= 1e-3 and np.all(r[: k - 1] > 1e-3)
    else:
        assert sol.result == RESULTS.max_steps_reached and e[k - 1] >= 30
    with pytest.raises(
        eqx.EquinoxRuntimeError, match="budget"
    ):  # throw=True: a failed solve raises
        jax.block_until_ready(_call(name, prob, z0, jax.random.key(0), max_epochs=3, tol=1e-14))


@pytest.mark.parametrize("name", SOLVERS)
def test_converges_to_the_zero(name):
    # F = Mz + q, μ-strongly monotone: ‖z − z*‖ <= ‖F(z)‖/μ, so the logged residual certifies the answer.
    # Halpern-type methods restart (they converge linearly then); EG and VR-EG need none.
    prob, zstar, mu = _strongly_monotone()
    z0 = jnp.zeros(6)
    restart = {} if name in ("extragradient", "vr_extragradient") else {"restart_factor": 0.5}
    sol = _call(name, prob, z0, jax.random.key(1), max_epochs=4000, tol=1e-7, extra=restart)
    assert sol.result == RESULTS.successful
    res = float(sol.stats["residual_norm"])
    assert res <= 1e-7
    assert np.linalg.norm(np.asarray(sol.value) - zstar) <= res / mu * (1 + 1e-8)


def test_fixed_points_are_zeros_of_f_plus_g():
    # The LP solution (x*, y*) of a small matrix game is a zero of F + ι_C: natural residual 0, Π(z* − ηF(z*)) = z*
    rng = np.random.default_rng(3)
    a = rng.uniform(size=(5, 4))
    n, m = a.shape
    px = scipy.optimize.linprog(
        np.r_[np.zeros(m), 1.0],
        A_ub=np.c_[a, -np.ones(n)],
        b_ub=np.zeros(n),
        A_eq=np.r_[np.ones(m), 0.0][None],
        b_eq=[1.0],
        bounds=[(0, None)] * m + [(None, None)],
        method="highs",
    )
    py = scipy.optimize.linprog(
        np.r_[np.zeros(n), -1.0],
        A_ub=np.c_[-a.T, np.ones(m)],
        b_ub=np.zeros(m),
        A_eq=np.r_[np.ones(n), 0.0][None],
        b_eq=[1.0],
        bounds=[(0, None)] * n + [(None, None)],
        method="highs",
    )
    assert abs(px.fun + py.fun) < 1e-9  # minimax theorem
    game = mono.BilinearGame(jnp.asarray(a), "simplex")
    zstar = jnp.concatenate([jnp.asarray(px.x[:m]), jnp.asarray(py.x[:n])])
    assert float(game.residual(zstar)) < 1e-8
    np.testing.assert_allclose(game.project(zstar - 0.3 * game.operator(zstar)), zstar, atol=1e-8)
    # a non-solution has a positive residual
    assert float(game.residual(jnp.full(m + n, 0.25).at[:m].set(1 / m).at[m:].set(1 / n))) > 1e-3
    # and a solver finds it: equal game values
    z0 = jnp.concatenate([jnp.full(m, 1 / m), jnp.full(n, 1 / n)])
    sol = mono.extragradient(
        game, z0, step_size=0.5 / float(game.lipschitz), max_epochs=20000, tol=1e-9
    )
    x, y = game.split(sol.value)
    np.testing.assert_allclose(float(y @ jnp.asarray(a) @ x), px.fun, atol=1e-7)


def test_oracle_accounting_hand_counted():
    prob, _, _ = _strongly_monotone()  # n = 6
    z0, key = jnp.zeros(6), jax.random.key(0)
    count = lambda s: (int(s.stats["oracle_calls"]), int(s.stats["num_steps"]))  # noqa: E731
    # Halpern: n per iteration; adaptive: + a 2n probe
    assert count(mono.halpern(prob, z0, step_size=0.1, max_epochs=10, throw=False)) == (60, 10)
    assert count(mono.halpern(prob, z0, step_size="adaptive", max_epochs=10, throw=False)) == (
        60,
        8,
    )
    # EG/EAG: two full evaluations (2 epochs) per iteration
    assert count(mono.extragradient(prob, z0, step_size=0.1, max_epochs=10, throw=False)) == (60, 5)
    assert count(
        mono.anchored_extragradient(prob, z0, step_size=0.1, max_epochs=9, throw=False)
    ) == (60, 5)
    assert count(
        mono.extragradient(prob, z0, step_size="adaptive", max_epochs=10, throw=False)
    ) == (60, 4)
    # VR-EG, refresh every step (p = 1): n for F(w0), then 2b + n per step: 6 + 8k >= 30 -> k = 3
    s = mono.vr_extragradient(
        prob, z0, step_size=0.01, max_epochs=5, key=key, snapshot_probability=1.0, throw=False
    )
    assert count(s) == (30, 3)
    s = mono.vr_extragradient(
        prob,
        z0,
        step_size=0.01,
        max_epochs=5,
        key=key,
        snapshot_probability=1.0,
        batch_size=2,
        throw=False,
    )
    assert count(s) == (36, 3)  # 6 + 10k >= 30 -> k = 3
    # Algorithm 2, c = 0.5 so M_k = floor(3 log(k + 2)) = 2, 3, 4, ...; per outer step n (Φ(u)) + M_k·2 + refreshes
    for snapshot in ("code", "theory"):
        # p = 1: 6 + 8 M_k = 22, 30, 38 -> cumulative 22, 52: budget 48 stops after 2 outer steps
        s = mono.inexact_vr_halpern(
            prob,
            z0,
            step_size=0.1,
            inner_step_size=0.01,
            inner_steps_c=0.5,
            snapshot=snapshot,
            snapshot_probability=1.0,
            max_epochs=8,
            key=key,
            throw=False,
        )
        assert count(s) == (52, 2)
        # p ≈ 0 (no refresh): 6 + 2 M_k = 10, 12, 14 -> cumulative 10, 22, 36: budget 24 -> 3 outer steps
        s = mono.inexact_vr_halpern(
            prob,
            z0,
            step_size=0.1,
            inner_step_size=0.01,
            inner_steps_c=0.5,
            snapshot=snapshot,
            snapshot_probability=1e-12,
            max_epochs=4,
            key=key,
            throw=False,
        )
        assert count(s) == (36, 3)
    # the two snapshot rules are different methods (same charges, different iterates)
    runs = [
        mono.inexact_vr_halpern(
            prob,
            z0,
            step_size=0.1,
            inner_step_size=0.01,
            inner_steps_c=0.5,
            snapshot=snap,
            snapshot_probability=1.0,
            max_epochs=8,
            key=key,
            throw=False,
        )
        for snap in ("code", "theory")
    ]
    assert float(jnp.abs(runs[0].value - runs[1].value).max()) > 1e-6
    # Algorithm 1 with n = 4, b = 2: a full step (n) and a PAGE step (2b) both cost 4 -> exactly 4 per step
    p4, _, _ = _strongly_monotone(4)
    s = mono.vr_halpern(p4, jnp.zeros(4), step_size=0.1, max_epochs=7, key=key, throw=False)
    assert count(s) == (28, 7)


def test_vr_halpern_step_costs_and_free_residuals():
    # n = 9, b = 3: steps 0 and 1 are full (9 units), later steps cost 9 (full) or 6 (PAGE); logging every unit
    # shows each increment. Residual checks are free: the trajectory does not depend on the logging.
    prob, _, _ = _strongly_monotone(9)
    z0, key = jnp.zeros(9), jax.random.key(4)
    fine = mono.vr_halpern(
        prob, z0, step_size=0.05, max_epochs=30, key=key, throw=False, log_every=1 / 9
    )
    e = (
        np.asarray(fine.stats["epoch_history"])[: int(fine.stats["num_logged"])] * 9
    )  # units, up to rounding
    inc = np.diff(np.round(e).astype(int))
    assert list(inc[:2]) == [9, 9] and set(inc[2:]) == {6, 9}
    assert int(fine.stats["num_steps"]) == len(inc)
    coarse = mono.vr_halpern(
        prob, z0, step_size=0.05, max_epochs=30, key=key, throw=False, num_logs=3
    )
    assert int(coarse.stats["oracle_calls"]) == int(fine.stats["oracle_calls"])
    np.testing.assert_array_equal(np.asarray(coarse.value), np.asarray(fine.value))


def test_svrg_and_page_estimators_unbiased():
    # exact: the uniform average over single components is the full difference, for every problem type
    qp = mono.ouyang_xu_quadratic(6)
    game = mono.policeman_and_burglar(7, variant="nemirovski")
    rng = np.random.default_rng(5)
    for prob in (qp, game):
        n, d = prob.num_components, prob.dim
        u, w = jnp.asarray(rng.uniform(size=d)), jnp.asarray(rng.uniform(size=d))
        exact = prob.operator(u) - prob.operator(w)
        one = lambda i, prob=prob, u=u, w=w: prob.batch_difference(u, w, i[None])  # noqa: E731
        avg = jnp.mean(jax.vmap(one)(jnp.arange(n)), 0)
        np.testing.assert_allclose(avg, exact, atol=1e-12)
        np.testing.assert_allclose(prob.batch_difference(u, w, jnp.arange(n)), exact, atol=1e-12)
    # statistical, fixed seed: the SVRG estimate F(w) + F_i(u) − F_i(w) with i from the solvers' b = 1 sampler
    u, w = jnp.asarray(rng.uniform(size=12)), jnp.asarray(rng.uniform(size=12))

    fw = qp.operator(w)

    def svrg(k):
        _, idx = mono.sample_without_replacement(k, jnp.arange(6), 1)
        return fw + qp.batch_difference(u, w, idx)

    samples = np.asarray(jax.vmap(svrg)(jax.random.split(jax.random.key(6), 4000)))
    se = samples.std(0) / np.sqrt(len(samples))
    assert np.all(np.abs(samples.mean(0) - np.asarray(qp.operator(u))) <= 4.5 * se + 1e-12)
    # the b-subset sampler: every index equally likely (inclusion b/n)
    idx = np.asarray(
        jax.vmap(lambda k: mono.sample_without_replacement(k, jnp.arange(10), 4)[1])(
            jax.random.split(jax.random.key(7), 3000)
        )
    )
    freq = np.bincount(idx.ravel(), minlength=10) / 3000
    assert np.all(np.abs(freq - 0.4) < 4.5 * math.sqrt(0.4 * 0.6 / 3000))


def test_policeman_and_burglar_variants():
    n = 20
    w = np.abs(np.random.RandomState(1).randn(n))  # the authors' np.random.seed(1); randn(n)
    c = 1 - np.exp(-0.8 * np.abs(np.arange(n)[:, None] - np.arange(n)[None, :]))
    authors = mono.policeman_and_burglar_matrix(n)
    nemirovski = mono.policeman_and_burglar_matrix(n, variant="nemirovski")
    np.testing.assert_allclose(authors, w[None, :] * c)  # weights on the minimiser's columns (x)
    np.testing.assert_allclose(nemirovski, w[:, None] * c)  # weights on the maximiser's rows (y)

    def minimiser(a):
        res = scipy.optimize.linprog(
            np.r_[np.zeros(n), 1.0],
            A_ub=np.c_[a, -np.ones(n)],
            b_ub=np.zeros(n),
            A_eq=np.r_[np.ones(n), 0.0][None],
            b_eq=[1.0],
            bounds=[(0, None)] * n + [(None, None)],
            method="highs",
        )
        return res.x[:n]

    assert np.sum(minimiser(authors) > 1e-6) == 1  # the authors' variant: a pure strategy for x
    assert np.sum(minimiser(nemirovski) > 1e-6) > 1  # Nemirovski's: mixed
    g = mono.policeman_and_burglar(n, variant="nemirovski")
    assert isinstance(g, mono.BilinearGame) and g.num_components == n and g.dim == 2 * n


def test_ouyang_xu_structure():
    qp = mono.ouyang_xu_quadratic(5)
    z = jnp.asarray(np.random.default_rng(0).normal(size=10))
    a = np.zeros((5, 5))
    for i in range(5):
        a[i, 4 - i] = 1
        if i < 4:
            a[i, 3 - i] = -1
    a /= 4
    x, y = np.asarray(z[:5]), np.asarray(z[5:])
    h = np.zeros(5)
    h[-1] = 0.25
    want = np.r_[2 * a.T @ a @ x - h - a.T @ y, a @ x - 0.25]
    np.testing.assert_allclose(qp.operator(z), want, atol=1e-14)
    assert float(qp.cocoercivity) == 0.0 and float(qp.lipschitz) > 0


def test_robust_logistic_regression():
    pytest.importorskip("sklearn")
    prob = mono.robust_logistic_regression("breast_cancer", rho=0.1, mu=1e-3)
    n, d = prob.features.shape
    assert (n, d) == (569, 31) and prob.num_components == n
    rng = np.random.default_rng(0)
    p = rng.uniform(size=n)
    z = jnp.concatenate([jnp.asarray(rng.normal(size=d) * 0.1), jnp.asarray(p / p.sum())])
    # F = (∇_w f, −∇_p f) of the saddle function
    gw, gp = (
        jax.grad(lambda zz: prob.objective(zz))(z)[:d],
        jax.grad(lambda zz: prob.objective(zz))(z)[d:],
    )
    np.testing.assert_allclose(prob.operator(z), jnp.concatenate([gw, -gp]), rtol=1e-10, atol=1e-12)
    # components average to F exactly
    avg = jnp.mean(jax.vmap(lambda i: prob.batch_operator(z, i[None]))(jnp.arange(n)), 0)
    np.testing.assert_allclose(avg, prob.operator(z), atol=1e-10)
    # a solver makes progress and keeps the iterate feasible
    z0 = jnp.concatenate([jnp.zeros(d), jnp.full(n, 1.0 / n)])
    lip = float(prob.lipschitz)  # a bound: max(max‖x_i‖²/4 + μ, ρN) + ‖X‖₂ >= ‖∂F‖ on the domain
    for _k in range(3):  # ‖∂F(z)·v‖ <= L‖v‖ along random directions (a full Jacobian norm is slow)
        v = jnp.asarray(rng.normal(size=n + d))
        assert float(jnp.linalg.norm(jax.jvp(prob.operator, (z,), (v,))[1])) <= lip * float(
            jnp.linalg.norm(v)
        )
    s = mono.vr_halpern(
        prob, z0, step_size=0.5 / lip, max_epochs=20, key=jax.random.key(0), throw=False, num_logs=5
    )
    assert float(s.stats["residual_norm"]) < 0.8 * float(prob.residual(z0))
    w, q = prob.split(s.value)
    assert (
        abs(float(q.sum()) - 1) < 1e-10
        and float(q.min()) >= 0
        and float(jnp.linalg.norm(w)) <= 10 + 1e-10
    )


def test_jit_and_vmap_over_problems_match_loop():
    g1 = mono.policeman_and_burglar(10)
    g2 = mono.policeman_and_burglar(10, seed=2, variant="nemirovski")
    stacked = jax.tree.map(lambda a, b: jnp.stack([a, b]), g1, g2)
    z0 = jnp.full(20, 0.1)

    def solve(g):
        return mono.vr_halpern(
            g, z0, step_size=0.05, max_epochs=6, key=jax.random.key(0), throw=False, num_logs=4
        )

    batched = jax.vmap(solve)(stacked)
    jitted = jax.jit(solve)(g2)
    for i, g in enumerate((g1, g2)):
        single = solve(g)
        np.testing.assert_allclose(batched.value[i], single.value, atol=1e-12)
        np.testing.assert_allclose(
            batched.stats["residual_history"][i], single.stats["residual_history"], atol=1e-12
        )
        assert int(batched.stats["oracle_calls"][i]) == int(single.stats["oracle_calls"])
    np.testing.assert_allclose(jitted.value, solve(g2).value, atol=1e-12)
    np.testing.assert_array_equal(jitted.stats["epoch_history"], solve(g2).stats["epoch_history"])


@pytest.mark.parametrize("name", SOLVERS)
def test_float32(name):
    game = mono.policeman_and_burglar(16, dtype=jnp.float32)
    z0 = jnp.full(32, 1 / 16, jnp.float32)
    steps = {"inexact_vr_halpern": {"step_size": 1.0, "inner_step_size": 0.02}}
    kw = steps.get(name, {"step_size": 0.05})
    s = getattr(mono, name)(
        game, z0, max_epochs=20, key=jax.random.key(0), throw=False, num_logs=5, **kw
    )
    assert s.value.dtype == jnp.float32 and s.stats["residual_history"].dtype == jnp.float32
    assert float(s.stats["residual_norm"]) < float(s.stats["residual_history"][0])


def test_adaptive_and_restart_variants():
    # L-free steps need no constant and converge on a strongly monotone problem; restarts speed Halpern up
    prob, zstar, _ = _strongly_monotone()
    z0 = jnp.zeros(6)
    lip = float(prob.lipschitz)
    for f in (mono.extragradient, mono.anchored_extragradient, mono.halpern):
        s = f(prob, z0, step_size="adaptive", max_epochs=300, throw=False)
        assert float(s.stats["residual_norm"]) < 0.05 * float(prob.residual(z0))
        assert (
            0 < float(s.stats["step_size"]) <= (0.9 if f is not mono.halpern else 1.0) / lip * 1.5
        )
    plain = mono.halpern(prob, z0, step_size=1 / lip, max_epochs=300, throw=False)
    restarted = mono.halpern(
        prob, z0, step_size=1 / lip, max_epochs=300, throw=False, restart_factor=0.5
    )
    assert int(restarted.stats["restarts"]) > 3 and int(plain.stats["restarts"]) == 0
    assert float(restarted.stats["residual_norm"]) < 1e-3 * float(plain.stats["residual_norm"])


def test_solvers_match_functions():
    prob, _, _ = _strongly_monotone()
    z0, key = jnp.zeros(6), jax.random.key(0)
    kw = dict(max_epochs=12, num_logs=4)
    pairs = [
        (mono.Halpern, mono.halpern, dict(step_size=0.2, restart_factor=0.5)),
        (mono.Extragradient, mono.extragradient, dict(step_size="adaptive")),
        (mono.AnchoredExtragradient, mono.anchored_extragradient, dict(step_size=0.1)),
        (mono.VRExtragradient, mono.vr_extragradient, dict(step_size=0.02, batch_size=2)),
        (mono.VRHalpern, mono.vr_halpern, dict(step_size=0.05)),
        (
            mono.InexactVRHalpern,
            mono.inexact_vr_halpern,
            dict(step_size=0.3, inner_step_size=0.05, snapshot="theory"),
        ),
    ]
    for cls, fn, opts in pairs:
        solver = cls(**opts, **kw)
        a = solver.solve(solver.init(prob), z0, key=key, throw=False)
        b = fn(prob, z0, key=key, throw=False, **opts, **kw)
        c = solver(prob, z0, key=key, throw=False)
        for other in (b, c):
            np.testing.assert_array_equal(np.asarray(a.value), np.asarray(other.value))
            np.testing.assert_array_equal(
                np.asarray(a.stats["residual_history"]), np.asarray(other.stats["residual_history"])
            )
        assert isinstance(a.state, mono.MonotoneState) and a.state.problem is not None
