"""Multigrid on the solver protocol: Multigrid(...).init/solve, state reuse, no retracing, the
one-line calls, Solution stats, lineax (MultigridSolver, CG with a V-cycle preconditioner), sparse
exports, float32 defaults, messages, failed adjoint solves."""

import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import pytest

import jaxsci.multigrid as mg
import jaxsci.multigrid._solve as mg_solve
from jaxsci import RESULTS, Solution

STATS = ("num_steps", "residual_history", "convergence_factor", "residual_norm")


def _rhs(shape, seed=0):
    return jnp.asarray(np.random.default_rng(seed).standard_normal(shape))


def test_state_reuse_matches_convenience_call():
    op = mg.diffusion(jnp.asarray(np.random.default_rng(1).uniform(0.5, 2.0, (33, 31))), c=0.1)
    solver = mg.Multigrid(rtol=1e-10)
    state = solver.init(op)
    assert isinstance(state, mg.Hierarchy) and state.op.shape == op.shape and state.depth == 3
    for seed in range(3):
        f = _rhs(op.shape, seed)
        sol = solver.solve(state, f)
        assert isinstance(sol, Solution) and sol.result == RESULTS.successful
        ref = mg.solve(op, f, rtol=1e-10)
        # One jit around init + solve may fuse the setup differently: rounding-level differences.
        scale = float(jnp.max(jnp.abs(ref.value)))
        np.testing.assert_allclose(sol.value, ref.value, rtol=0, atol=1e-10 * scale)
        assert int(sol.stats["num_steps"]) == int(ref.stats["num_steps"])
        # The solution carries the state back: it is the same hierarchy, reusable.
        again = solver.solve(sol.state, f)
        np.testing.assert_allclose(again.value, sol.value, rtol=0, atol=0)
    # Under lax.scan with one state (time stepping).
    fs = jnp.stack([_rhs(op.shape, s) for s in range(3)])
    _, us = jax.lax.scan(lambda s, f: (s, solver.solve(s, f).value), state, fs)
    for i in range(3):
        np.testing.assert_allclose(us[i], solver.solve(state, fs[i]).value, rtol=1e-12)


def test_eager_second_call_does_not_retrace(monkeypatch):
    traces = {"n": 0}
    build = mg_solve.build_hierarchy

    def counting(*args, **kwargs):
        traces["n"] += 1
        return build(*args, **kwargs)

    monkeypatch.setattr(mg_solve, "build_hierarchy", counting)
    shape = (29, 23)  # a shape no other test compiles
    op = mg.poisson(shape)
    f = _rhs(shape)
    mg.solve(op, f)
    first = traces["n"]
    assert first >= 1
    for seed in range(3):  # new right-hand sides, a new operator object with the same structure
        mg.solve(mg.poisson(shape), _rhs(shape, seed))
    assert traces["n"] == first
    solver = mg.Multigrid()
    state = solver.init(op)
    n = traces["n"]
    solver.solve(state, f)
    solver.solve(state, 2 * f)
    solver.init(op)
    assert traces["n"] == n


@pytest.mark.parametrize("method", ["solve", "pcg"])
def test_stats_keys_and_nan_padding(method):
    op = mg.poisson((31, 31))
    fn = getattr(mg, method)
    sol = fn(op, _rhs((31, 31)), rtol=1e-8, max_steps=20, throw=False)
    assert sol.result == RESULTS.successful
    assert set(STATS) <= set(sol.stats)
    k = int(sol.stats["num_steps"])
    h = np.asarray(sol.stats["residual_history"])
    assert h.shape == (21,) and 0 < k < 20
    assert (
        h[0] == pytest.approx(1.0)
        and np.all(np.isfinite(h[: k + 1]))
        and np.all(np.isnan(h[k + 1 :]))
    )
    assert float(sol.stats["residual_norm"]) <= 1e-8 * float(jnp.linalg.norm(_rhs((31, 31))))
    # A warm start at the solution takes no step.
    warm = fn(op, _rhs((31, 31)), x0=sol.value, rtol=1e-6, max_steps=20)
    assert int(warm.stats["num_steps"]) == 0 and warm.result == RESULTS.successful


def test_fmg_solve_returns_solution():
    n = 63
    op = mg.poisson((n, n))
    f = jnp.ones((n, n))
    sol = mg.fmg_solve(op, f)
    assert isinstance(sol, Solution) and sol.result == RESULTS.successful
    assert int(sol.stats["num_steps"]) == 1 and sol.stats["residual_history"].shape == (2,)
    assert float(sol.stats["residual_history"][1]) < 0.1
    # Incompatible singular problem: a status, not a silent answer.
    op_n = mg.poisson((16, 16), bc="neumann")
    bad = mg.fmg_solve(op_n, jnp.ones((16, 16)) + _rhs((16, 16)), throw=False)
    assert bad.result == RESULTS.incompatible
    with pytest.raises(Exception, match="compatibility"):
        mg.fmg_solve(op_n, jnp.ones((16, 16)))


def test_lineax_multigrid_solver():
    n = 31
    op = mg.poisson((n, n))
    f = _rhs((n, n))
    sol = lx.linear_solve(op, f, solver=mg.MultigridSolver(mg.Multigrid(rtol=1e-10)))
    assert sol.result == lx.RESULTS.successful
    assert jnp.linalg.norm(f - op.mv(sol.value)) <= 1e-10 * jnp.linalg.norm(f)
    assert int(sol.stats["num_steps"]) > 0
    # Derivatives come from lineax (its adjoint solve calls the same solver).
    w = _rhs((n, n), 5)
    g = jax.grad(lambda f: jnp.vdot(w, lx.linear_solve(op, f, mg.MultigridSolver()).value))(f)
    np.testing.assert_allclose(g, mg.solve(op, w, rtol=1e-12).value, rtol=1e-6, atol=1e-10)
    # A failure raises jaxsci's message, with multigrid advice, not lineax's GMRES advice.
    short = mg.MultigridSolver(mg.Multigrid(rtol=1e-12, max_steps=1))
    with pytest.raises(Exception, match="max_steps") as err:
        jax.block_until_ready(lx.linear_solve(op, f, solver=short).value)
    assert "GMRES" not in str(err.value) and "restart" not in str(err.value)
    # throw=False: lineax reads the mapped status.
    quiet = mg.MultigridSolver(mg.Multigrid(rtol=1e-12, max_steps=1), throw=False)
    sol = lx.linear_solve(op, f, solver=quiet, throw=False)
    assert sol.result == lx.RESULTS.max_steps_reached
    with pytest.raises(ValueError, match="`operator`"):
        lx.linear_solve(
            lx.MatrixLinearOperator(jnp.eye(3)), jnp.ones(3), solver=mg.MultigridSolver()
        )


@pytest.mark.parametrize("coarse", ["average", "galerkin"])
def test_lineax_cg_with_vcycle_preconditioner(coarse):
    n = 63
    x = (np.arange(n) + 1) / (n + 1)
    a = jnp.asarray(np.where(x[:, None] < 0.5, 1.0, 100.0) * np.ones((n, n)))
    op = mg.diffusion(a)
    f = jnp.ones((n, n))
    solver = mg.Multigrid(coarse=coarse)
    M = solver.preconditioner(solver.init(op))
    assert lx.is_symmetric(M) and lx.is_positive_semidefinite(M)
    cg = lx.CG(rtol=1e-8, atol=0.0, max_steps=200)
    sol = lx.linear_solve(op, f, cg, options={"preconditioner": M})
    assert sol.result == lx.RESULTS.successful
    assert jnp.linalg.norm(f - op.mv(sol.value)) <= 1e-6 * jnp.linalg.norm(f)
    plain = lx.linear_solve(op, f, cg, throw=False)
    assert int(sol.stats["num_steps"]) <= 25 < int(plain.stats["num_steps"])
    # Same iteration count as our own pcg with the same cycle, within a couple of steps.
    ours = mg.pcg(op, f, rtol=1e-8, coarse=coarse)
    assert abs(int(ours.stats["num_steps"]) - int(sol.stats["num_steps"])) <= 3


def _galerkin_levels(op):
    return mg.build_hierarchy(op, coarse_max=1, max_levels=3, coarse="galerkin").ops[1:]


@pytest.mark.parametrize(
    "shape,bc",
    [
        ((7, 6), "dirichlet"),
        ((8, 6), "neumann"),
        ((9, 2), "periodic"),  # a periodic axis shorter than the stencil
        ((5, 6, 4), ("dirichlet", "periodic", "neumann")),
    ],
)
def test_sparse_export_matches_dense(shape, bc, getkey):
    a = jnp.exp(jax.random.normal(getkey(), shape))
    op = mg.diffusion(a, bc=bc)
    ops = [op, mg.poisson(shape, bc=bc, c=0.5)]
    if len(shape) == 2 and min(shape) >= 3:
        ops += list(_galerkin_levels(op))
    for o in ops:
        dense = np.asarray(o.as_matrix())
        np.testing.assert_allclose(o.as_scipy().toarray(), dense, rtol=1e-13, atol=1e-12)
        np.testing.assert_allclose(np.asarray(o.as_bcoo().todense()), dense, rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize("n", [31, 127, 255])
def test_float32_default_call_is_successful(n):
    with jax.enable_x64(False):
        op = mg.poisson((n, n))
        f = jnp.ones((n, n))
        assert op.dtype == jnp.float32
        sol = mg.solve(op, f)  # throw=True: raises unless successful
        assert sol.result == RESULTS.successful and sol.value.dtype == jnp.float32
        rtol = mg.default_multigrid_rtol(op, jnp.float32)
        assert 1e-5 <= rtol < 1e-3
        rel = jnp.linalg.norm(f - op.mv(sol.value)) / jnp.linalg.norm(f)
        assert float(rel) <= rtol
        assert mg.pcg(op, f).result == RESULTS.successful
    assert mg.default_multigrid_rtol(mg.poisson((n, n)), jnp.float64) == 1e-8


def test_messages_fit_multigrid():
    n = 31
    op = mg.poisson((n, n))
    f = _rhs((n, n))
    # Damped Jacobi with omega = 1.9 amplifies the high frequencies: the cycle diverges.
    sol = mg.solve(op, f, smoother="jacobi", omega=1.9, throw=False)
    assert sol.result == RESULTS.diverged
    with pytest.raises(Exception, match="coarse='galerkin'") as err:
        jax.block_until_ready(mg.solve(op, f, smoother="jacobi", omega=1.9).value)
    assert "step size" not in str(err.value) and "omega" in str(err.value)
    with pytest.raises(Exception, match="Increase `max_steps`"):
        jax.block_until_ready(mg.solve(op, f, rtol=1e-12, max_steps=2).value)


def test_failed_adjoint_solve_raises():
    # A warm start converges in one cycle; the adjoint solve (from zero) needs ~8: with the same
    # small budget it fails, and with throw=True that must not be silent.
    n = 31
    op = mg.poisson((n, n))
    f = _rhs((n, n))
    u = mg.solve(op, f, rtol=1e-12).value
    w = _rhs((n, n), 1)

    def loss(f, throw):
        return jnp.vdot(w, mg.solve(op, f, x0=u, rtol=1e-8, max_steps=2, throw=throw).value)

    assert mg.solve(op, f, x0=u, rtol=1e-8, max_steps=2).result == RESULTS.successful
    with pytest.raises(Exception, match="adjoint"):
        jax.block_until_ready(jax.grad(loss)(f, True))
    jax.block_until_ready(jax.grad(loss)(f, False))  # throw=False: the caller's choice
    # With a budget the adjoint can meet, the gradient is right.
    g = jax.grad(lambda f: jnp.vdot(w, mg.solve(op, f, x0=u, rtol=1e-12).value))(f)
    np.testing.assert_allclose(g, mg.solve(op, w, rtol=1e-12).value, rtol=1e-8, atol=1e-12)


def test_configuration_is_validated_naming_the_field():
    for kwargs, name in [
        ({"max_steps": 0}, "max_steps"),
        ({"cycle": "X"}, "cycle"),
        ({"smoother": "sor"}, "smoother"),
        ({"coarse": "rap"}, "coarse"),
        ({"compatibility": "ignore"}, "compatibility"),
        ({"method": "gmres"}, "method"),
        ({"omega": 2.5}, "omega"),
        ({"rtol": -1.0}, "rtol"),
        ({"pre": 0, "post": 0}, "pre"),
        ({"method": "pcg", "cycle": "fmg"}, "cycle"),
        ({"method": "pcg", "pre": 2, "post": 1}, "pre"),
    ]:
        with pytest.raises((ValueError, TypeError), match=f"`{name}`"):
            mg.Multigrid(**kwargs)
    with pytest.raises(ValueError, match="`pre`"):
        mg.Multigrid(pre=2, post=1).preconditioner(mg.Multigrid().init(mg.poisson((7, 7))))
