import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsci.relax as R
from jaxsci import RESULTS
from jaxsci.relax._table import shifted_laplacian_cost_table


def test_numgrid_numbering_is_column_major():
    G = R.numgrid("S", 5)
    np.testing.assert_array_equal(G[1:-1, 1:-1], [[1, 4, 7], [2, 5, 8], [3, 6, 9]])
    assert (G[0] == 0).all() and (G[:, -1] == 0).all()
    L = R.numgrid("L", 6)  # the lower-left quadrant (x <= 0, y <= 0) is removed
    np.testing.assert_array_equal(
        L[1:-1, 1:-1], [[1, 3, 5, 9], [2, 4, 6, 10], [0, 0, 7, 11], [0, 0, 8, 12]]
    )
    with pytest.raises(ValueError, match="region"):
        R.numgrid("X", 5)


def test_delsq_matches_stencil_and_spectrum():
    G = R.numgrid("S", 12)
    A = R.delsq(G)
    assert A.shape == (100, 100) and np.allclose(A, A.T) and (np.diag(A) == 4).all()
    lam = np.linalg.eigvalsh(A)
    assert abs(lam[0] - (4 - 4 * np.cos(np.pi / 11))) < 1e-12  # ≈ 0.162
    As = R.delsq(G, sparse=True)
    np.testing.assert_array_equal(np.asarray(As.todense()), A)
    np.testing.assert_array_equal(np.asarray(R.numgrid_stencil(G).as_dense()), A)


def test_shifted_laplacian_sequence():
    for variance, (lo, hi) in (("low", (-0.15, 0.45)), ("high", (0.0, 0.6))):
        seq = R.shifted_laplacian_sequence(jax.random.key(0), 64, variance=variance)
        assert seq.rhs.shape == (64, 100)
        assert float(seq.shifts.min()) >= lo and float(seq.shifts.max()) <= hi
        assert float(jnp.linalg.norm(seq.rhs, axis=1).max()) <= 10.0
    w = seq.young_omega()
    np.testing.assert_allclose(w[0], R.young_omega(seq.matrix(0)), rtol=1e-10)


def test_cost_table_kernel_equals_sor():
    seq = R.shifted_laplacian_sequence(jax.random.key(1), 3)
    omegas = jnp.array([1.0, 1.5, 1.9])
    table = shifted_laplacian_cost_table(seq, omegas, chunk=4)
    f = jax.jit(jax.vmap(lambda A, b, w: R.sor(A, b, w).stats["num_steps"], (None, None, 0)))
    for t in range(3):
        np.testing.assert_array_equal(table[t], f(seq.matrix(t), seq.rhs[t], omegas))


def test_heat_equation_cn_step_and_cost_table():
    prob = R.HeatEquation(6, num_steps=3, dt=1e-2)
    u0 = prob.initial()
    assert u0.shape == (5, 5) and abs(float(u0[2, 2]) - 1.0) < 1e-12  # bump peak at the centre
    costs, u = R.heat_cost_table(prob, jnp.array([1.0, 1.5]))
    assert costs.shape == (3, 2) and (costs > 0).all()
    # check the final state against a direct Crank–Nicolson integration with dense solves
    v = u0
    for k in range(3):
        A = np.asarray(prob.operator(k).as_dense())
        v = np.linalg.solve(A, np.asarray(prob.rhs(v, k)).ravel(order="F")).reshape(5, 5, order="F")
    np.testing.assert_allclose(u, v, atol=1e-7)
    np.testing.assert_allclose(prob.contexts(), R.default_kappa((jnp.arange(3) + 0.5) * 1e-2))


def test_heat_equation_run_online_warm_started_pcg():
    """Live: run_online advances Crank–Nicolson with warm-started SSOR-PCG at the ω a contextual
    learner picks from κ(t); the trajectory is the CN solution, each cost is that solve's count."""
    prob = R.HeatEquation(6, num_steps=4, dt=1e-2)
    omegas = jnp.array([1.0, 1.4, 1.8])
    ctx = prob.contexts()
    learner = R.TsallisINFCB(
        3, num_bins=2, context_range=(float(ctx.min()), float(ctx.max()) + 1e-9)
    )

    def cn_step(u, k, w):
        sol = R.ssor_pcg(prob.operator(k), prob.rhs(u, k), w, x0=u, throw=False)
        return sol.value, sol

    arms, costs, u = jax.jit(
        lambda key: R.run_online(
            learner, jnp.arange(4), cn_step, key, omegas=omegas, contexts=ctx, carry=prob.initial()
        )
    )(jax.random.key(0))
    v = prob.initial()
    for k in range(4):
        sol = R.ssor_pcg(prob.operator(k), prob.rhs(v, k), float(omegas[arms[k]]), x0=v)
        assert int(sol.stats["num_steps"]) == int(costs[k])
        A = np.asarray(prob.operator(k).as_dense())
        v_direct = np.linalg.solve(A, np.asarray(prob.rhs(v, k)).ravel(order="F")).reshape(
            5, 5, order="F"
        )
        np.testing.assert_allclose(sol.value, v_direct, atol=1e-7)
        v = sol.value
    np.testing.assert_allclose(u, v, atol=1e-12)


def test_sor_counts_batched_equal_per_system_sor_costs():
    """The batched kernel is relax.sor's one stationary loop per system: ``num_steps`` on success,
    ``max_steps`` for a failed system (a diverging omega, an exhausted budget), as solve_cost prices."""
    G = R.numgrid("L", 9)
    op = R.numgrid_stencil(G)
    shifts = jnp.array([0.0, 0.3, 0.1, 0.0])
    omegas = jnp.array([1.6, 1.2, 2.5, 1.0])
    keys = jax.random.split(jax.random.key(3), 4)
    b = jnp.stack([R.vector_to_grid(G, R.truncated_gaussian(k, int(G.max()))) for k in keys])
    counts = R.sor_counts_batched(
        op.shape, 4 + shifts, -1.0, b, omegas, mask=op.mask, rtol=1e-8, max_steps=45
    )
    sols = [
        R.sor(R.numgrid_stencil(G, shift=c), bb, w, rtol=1e-8, max_steps=45, throw=False)
        for c, bb, w in zip(shifts, b, omegas, strict=True)
    ]
    results = [s.result for s in sols]
    assert results[0] == RESULTS.successful and results[1] == RESULTS.successful
    assert results[2] == RESULTS.diverged and results[3] == RESULTS.max_steps_reached
    np.testing.assert_array_equal(counts, [int(R.solve_cost(s)) for s in sols])
    np.testing.assert_array_equal(counts[:2], [int(s.stats["num_steps"]) for s in sols[:2]])
    assert int(counts[2]) == int(counts[3]) == 45
