"""relax on the one solver protocol (design.md, "One protocol"): init once and reuse, num_steps,
warm starts, divergence, history padding, failures priced at the budget, the grid-operator family."""

import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import pytest
from jax.experimental import sparse

import jaxsci.relax as R
from jaxsci import RESULTS, Solution

STATS = {"num_steps", "residual_history", "convergence_factor", "residual_norm"}


@pytest.fixture(scope="module")
def problem():
    G = R.numgrid("S", 7)  # 5 x 5 interior, n = 25
    A = R.delsq(G) + 0.1 * np.eye(25)
    rng = np.random.default_rng(7)
    return G, A, rng.standard_normal((3, 25))


def _operators(G, A):
    """(name, operator, to_operator_layout, sweep) for every kind of splitting."""
    op = R.numgrid_stencil(G, shift=0.1)
    grid = lambda v: R.vector_to_grid(G, v)
    return [
        ("dense", jnp.asarray(A), lambda v: v, "lexicographic"),
        ("bcoo", sparse.BCOO.fromdense(A), lambda v: v, "lexicographic"),
        ("stencil", op, grid, "lexicographic"),
        ("stencil-rb", op, grid, "redblack"),
    ]


def test_state_reuse_and_warm_start(problem):
    """init once, then several right-hand sides and omegas: equal to the one-line calls; the
    Solution carries the state for the next solve; a warm start at the solution takes 0 steps."""
    G, A, bs = problem
    for name, op, lay, sweep in _operators(G, A):
        b_all = [lay(b) for b in bs]
        zero = jnp.zeros_like(jnp.asarray(b_all[0]))
        exact = lay(np.linalg.solve(A, bs[2]))
        solvers = [R.SOR(sweep=sweep), R.SSORPCG(sweep=sweep)]
        one_line = [R.sor, R.ssor_pcg]
        if name in ("dense", "stencil-rb"):
            solvers.append(R.SSOR(sweep=sweep))
            one_line.append(R.ssor)
        for solver, call in zip(solvers, one_line, strict=True):
            state = solver.init(op)
            sol = solver.solve(state, b_all[0], omega=1.3, x0=zero)
            if call is R.sor or name == "dense":  # (each one-line call is one more compilation)
                ref = call(op, b_all[0], 1.3, sweep=sweep)
                assert int(sol.stats["num_steps"]) == int(ref.stats["num_steps"]) > 0, name
                np.testing.assert_allclose(sol.value, ref.value, rtol=1e-12, atol=1e-14)
            assert sol.result == RESULTS.successful and STATS <= set(sol.stats)
            # the state comes back in the Solution and serves the next solves (same compilation)
            again = solver.solve(sol.state, b_all[1], omega=1.7, x0=zero)
            assert again.result == RESULTS.successful
            np.testing.assert_allclose(
                op.mv(again.value) if name.startswith("stencil") else jnp.asarray(A) @ again.value,
                b_all[1],
                atol=1e-6,
            )
            warm = solver.solve(state, b_all[2], omega=1.1, x0=exact)
            assert int(warm.stats["num_steps"]) == 0 and warm.result == RESULTS.successful
    # CG: any state serves (here the last SSOR splitting), and equals the one-line call
    cg = R.CG().solve(state, b_all[0])
    cg_ref = R.cg(op, b_all[0])
    assert int(cg.stats["num_steps"]) == int(cg_ref.stats["num_steps"]) > 0
    np.testing.assert_allclose(cg.value, cg_ref.value, rtol=1e-10, atol=1e-12)
    assert int(R.CG().solve(state, b_all[2], x0=exact).stats["num_steps"]) == 0


def test_one_compilation_serves_every_omega(problem):
    """omega is traced: a second eager call at another omega does not retrace."""
    _, A, bs = problem
    solver = R.SOR(max_steps=500)
    state = solver.init(A)
    traces = []
    original = R.SOR._solve

    def counting(self, *args):
        traces.append(1)
        return original(self, *args)

    R.SOR._solve = counting
    try:
        for w in (1.1, 1.2, 1.3):
            solver.solve(state, bs[0], omega=w)
    finally:
        R.SOR._solve = original
    assert len(traces) <= 1


def _paper_count(A, b, omega, rtol=1e-8):
    """Khodak et al., Algorithm 1, in float64 NumPy: x0 = 0, stop at ||r_k|| <= rtol ||r_0||."""
    d = np.diag(A)
    W = np.tril(A, -1) + np.diag(d / omega)
    x = np.zeros_like(b)
    r = b.copy()
    k = 0
    while np.linalg.norm(r) > rtol * np.linalg.norm(b):
        x = x + np.linalg.solve(W, r)
        r = b - A @ x
        k += 1
    return k


def test_num_steps_is_the_papers_iteration_count(problem):
    G, A, bs = problem
    op = R.numgrid_stencil(G, shift=0.1)
    for w in (1.0, 1.5, 1.9):
        want = _paper_count(A, bs[0], w)
        assert int(R.sor(A, bs[0], w, rtol=1e-8).stats["num_steps"]) == want
        assert int(R.sor(op, R.vector_to_grid(G, bs[0]), w).stats["num_steps"]) == want


def test_divergence(problem):
    _, A, bs = problem
    # a Python/NumPy omega outside (0, 2) is refused statically, naming the argument
    with pytest.raises(ValueError, match="omega"):
        R.SOR().solve(R.SOR().init(A), bs[0], omega=2.5)
    # a traced one is not read on the host: the one divergence rule reports it
    sol = jax.jit(lambda w: R.sor(A, bs[0], w, throw=False))(2.5)
    assert sol.result == RESULTS.diverged
    assert int(sol.stats["num_steps"]) < 10000
    # a matrix that is not SPD (positive diagonal, indefinite): Gauss-Seidel diverges
    bad = np.array([[1.0, 2.0], [2.0, 1.0]])
    sol = R.sor(bad, np.ones(2), 1.0, throw=False)
    assert sol.result == RESULTS.diverged
    with pytest.raises(Exception, match="SOR failed .diverged.*`omega`"):
        R.sor(bad, np.ones(2), 1.0)


def test_stagnation_at_the_rounding_floor(problem):
    _, A, bs = problem
    sol = R.sor(A, bs[0], 1.3, rtol=1e-17, throw=False)  # below float64's floor
    assert sol.result == RESULTS.stagnation and int(sol.stats["num_steps"]) < 200
    with pytest.raises(Exception, match="stagnation.*`rtol`"):
        R.ssor(A, bs[0], 1.3, rtol=1e-17)


def test_history_is_nan_padded(problem):
    _, A, bs = problem
    sol = R.ssor(A, bs[0], 1.3, max_steps=50)
    hist, k = np.asarray(sol.stats["residual_history"]), int(sol.stats["num_steps"])
    assert hist.shape == (51,) and 0 < k < 50
    assert hist[0] == pytest.approx(1.0)  # ||r_0|| / ||b|| for x0 = 0
    assert np.all(np.isfinite(hist[: k + 1])) and np.all(np.isnan(hist[k + 1 :]))
    assert hist[k] <= 1e-8 < hist[k - 1]
    pcg = R.ssor_pcg(A, bs[0], 1.3, max_steps=50)
    kp = int(pcg.stats["num_steps"])
    assert np.all(np.isnan(np.asarray(pcg.stats["residual_history"])[kp + 1 :]))


def test_failures_cost_the_budget(problem):
    """Issue 11: a failed solve is priced at max_steps in run_online, the cost tables and
    solve_cost, so a learner never prefers an arm that fails fast."""
    G, A, bs = problem
    sol = jax.jit(lambda w: R.sor(A, bs[0], w, max_steps=300, throw=False))(2.5)
    assert int(sol.stats["num_steps"]) < 300 and int(R.solve_cost(sol)) == 300
    ok = R.sor(A, bs[0], 1.3, max_steps=300)
    assert int(R.solve_cost(ok)) == int(ok.stats["num_steps"])
    # run_online with a diverging arm
    learner = R.TsallisINF(2)
    solve = lambda b, w: R.sor(A, b, w, max_steps=300, throw=False)
    _, costs = jax.jit(
        lambda k: R.run_online(learner, jnp.asarray(bs), solve, k, omegas=jnp.array([1.3, 2.5]))
    )(jax.random.key(0))
    assert set(np.asarray(costs).astype(int)) <= {int(ok.stats["num_steps"]), 300} | set(
        int(R.sor(A, b, 1.3).stats["num_steps"]) for b in bs
    )
    # the batched cost-table kernel: a diverging omega costs max_steps
    op = R.numgrid_stencil(G, shift=0.1)
    b = jnp.stack([R.vector_to_grid(G, bs[0])] * 2)
    counts = R.sor_counts_batched(
        op.shape, jnp.full(2, 4.1), -1.0, b, jnp.array([1.3, 2.5]), max_steps=300
    )
    assert int(counts[0]) == int(ok.stats["num_steps"]) and int(counts[1]) == 300


def test_laplacian_stencil_is_a_grid_family_lineax_operator():
    G = R.numgrid("L", 8)
    op = R.numgrid_stencil(G, shift=0.2)
    # the unknowns in numgrid order are delsq's matrix; outside the mask the rows are the identity
    np.testing.assert_allclose(op.as_dense(), R.delsq(G) + 0.2 * np.eye(int(G.max())))
    M = np.asarray(op.as_matrix())
    np.testing.assert_allclose(M, M.T)
    outside = ~np.asarray(op.mask).ravel()
    np.testing.assert_array_equal(M[np.ix_(outside, outside)], np.eye(outside.sum()))
    np.testing.assert_allclose(op.as_scipy().toarray(), M)
    b = R.vector_to_grid(G, np.ones(int(G.max())))
    x = lx.linear_solve(op, b, lx.CG(rtol=1e-10, atol=1e-10)).value
    np.testing.assert_allclose(op.mv(x), b, atol=1e-8)
    np.testing.assert_allclose(R.ssor_pcg(op, b, 1.5).value, x, atol=1e-7)


def test_host_comparators_refuse_traced_values():
    A = R.delsq(R.numgrid("S", 6))
    beta = R.jacobi_spectral_radius(A)
    assert isinstance(beta, float) and beta == pytest.approx(np.cos(np.pi / 5))
    assert R.young_omega(jnp.asarray(A)) == pytest.approx(2 / (1 + np.sin(np.pi / 5)))
    with pytest.raises(TypeError, match="concrete"):
        jax.jit(R.jacobi_spectral_radius)(A)


def test_solution_type_and_messages(problem):
    _, A, bs = problem
    sol = R.cg(A, bs[0])
    assert isinstance(sol, Solution) and isinstance(sol.state, R.AbstractSplitting)
    with pytest.raises(Exception, match="SSOR-PCG failed .max_steps_reached.*`max_steps`"):
        R.ssor_pcg(A, bs[0], 1.0, max_steps=1)
