"""Multigrid solvers: textbook convergence factors, FMG accuracy, jumps, 3D, singular problems,
jit/vmap/grad/sharding, lineax, bad inputs."""

import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import pytest
import scipy.sparse.linalg as spla
from jax.test_util import check_grads

import jaxsci.multigrid as mg
from jaxsci import RESULTS


def _rhs(shape, seed=0):
    return jnp.asarray(np.random.default_rng(seed).standard_normal(shape))


def _asymptotic_factor(sol, skip=3):
    h = np.asarray(sol.stats["residual_history"])
    k = int(sol.stats["num_steps"])
    ratios = h[1 : k + 1] / h[:k]
    return float(np.exp(np.mean(np.log(ratios[skip:])))), ratios


@pytest.fixture(scope="module")
def solve_jit():
    # One compiled solver per (shape, config): reuse across tests.
    cache = {}

    def get(shape, **kw):
        key = (shape, tuple(sorted(kw.items())))
        if key not in cache:
            op = mg.poisson(shape)
            cache[key] = jax.jit(lambda f: mg.solve(op, f, throw=False, **kw))
        return cache[key]

    return get


@pytest.mark.parametrize("n", [63, 127, 255, pytest.param(511, marks=pytest.mark.slow)])
def test_vcycle_rbgs_factor_h_independent(n, solve_jit):
    # V(1,1), red-black Gauss-Seidel, full weighting, bilinear: textbook ~0.1 per cycle.
    sol = solve_jit((n, n), rtol=1e-9, max_steps=30)(_rhs((n, n)))
    assert sol.result == RESULTS.successful
    mean_factor, ratios = _asymptotic_factor(sol, skip=0)
    # Mean factor to 1e-9 (the measured reference is 0.096); every cycle, including the
    # asymptotic ones, stays within 0.115, the same at every h.
    assert mean_factor <= 0.1
    assert np.all(ratios <= 0.115)
    assert int(sol.stats["num_steps"]) <= 10


def test_red_black_sor_omega():
    # Over-relaxed red-black GS (Yavneh 1996): omega = 1.15 takes V(1,1) from ~0.1 to ~0.04.
    n = 127
    op = mg.poisson((n, n))
    sol = mg.solve(op, _rhs((n, n)), rtol=1e-8, omega=1.15, throw=False)
    assert sol.result == RESULTS.successful
    assert float(sol.stats["convergence_factor"]) < 0.06  # measured 0.036 (255^2)
    assert int(sol.stats["num_steps"]) <= 6


def test_vcycle_jacobi_factor():
    n = 63
    op = mg.poisson((n, n))
    sol = mg.solve(op, _rhs((n, n)), rtol=1e-8, smoother="jacobi", omega=0.8, throw=False)
    factor, _ = _asymptotic_factor(sol)
    assert 0.25 <= factor <= 0.38  # measured reference 0.343


@pytest.mark.parametrize("cycle", ["W", "F", "fmg"])
def test_other_cycles_converge(cycle):
    n = 31
    op = mg.poisson((n, n))
    f = _rhs((n, n))
    sol = mg.solve(op, f, rtol=1e-9, cycle=cycle, throw=False)
    assert sol.result == RESULTS.successful
    assert float(sol.stats["convergence_factor"]) < 0.12
    assert jnp.linalg.norm(f - op.mv(sol.value)) <= 1e-9 * jnp.linalg.norm(f)


def test_chebyshev_smoother():
    n = 63
    op = mg.poisson((n, n))
    f = _rhs((n, n))
    sol = mg.solve(op, f, smoother="chebyshev", pre=2, post=2, throw=False)
    assert sol.result == RESULTS.successful
    assert float(sol.stats["convergence_factor"]) < 0.2


@pytest.mark.slow
def test_fmg_below_discretisation_error():
    # -Δu = 2π² sin(πx) sin(πy): FMG-V(1,1) gets within the discretisation error in one pass.
    for n in (31, 127):
        op = mg.poisson((n, n))
        x = jnp.arange(1, n + 1) / (n + 1)
        u_exact = jnp.sin(jnp.pi * x)[:, None] * jnp.sin(jnp.pi * x)[None, :]
        f = 2 * jnp.pi**2 * u_exact
        u_h = mg.solve(op, f, rtol=1e-11).value
        u_fmg = mg.fmg_solve(op, f).value
        disc = float(jnp.max(jnp.abs(u_h - u_exact)))
        alg = float(jnp.max(jnp.abs(u_fmg - u_h)))
        assert alg < disc, (n, alg, disc)
        assert float(jnp.max(jnp.abs(u_fmg - u_exact))) < 1.5 * disc


def test_coefficient_jumps():
    # a = 1000 inside a square, 1 outside.
    n = 127
    x = (np.arange(n) + 1) / (n + 1)
    inside = (np.abs(x[:, None] - 0.5) < 0.2) & (np.abs(x[None, :] - 0.5) < 0.2)
    f = jnp.ones((n, n))
    op = mg.diffusion(jnp.asarray(np.where(inside, 1e3, 1.0)))
    # The robust defaults (operator-dependent interpolation, line Gauss-Seidel, W-cycles; V inside
    # CG) converge fast (measured 6 cycles, factor 0.04).
    sol = mg.solve(op, f, rtol=1e-8, throw=False)
    assert sol.result == RESULTS.successful and int(sol.stats["num_steps"]) <= 10
    sol = mg.pcg(op, f, rtol=1e-8, throw=False)
    assert sol.result == RESULTS.successful and int(sol.stats["num_steps"]) <= 12
    # Below: bilinear transfers and point Gauss-Seidel V-cycles, the options of before.
    old = dict(smoother="rbgs", cycle="V")
    # Averaged coarse operators: the plain V-cycle degrades (here it diverges); it must report it
    # rather than claim success. PCG with the same cycle converges (measured 32 iterations).
    sol = mg.solve(op, f, rtol=1e-8, max_steps=40, throw=False, coarse="average", **old)
    ok = jnp.linalg.norm(f - op.mv(sol.value)) <= 1e-8 * jnp.linalg.norm(f)
    assert bool(sol.result == RESULTS.successful) == bool(ok)
    assert sol.result != RESULTS.successful
    sol = mg.pcg(op, f, rtol=1e-8, throw=False, coarse="average", **old)
    assert sol.result == RESULTS.successful
    assert int(sol.stats["num_steps"]) <= 40
    # Galerkin coarse operators (R A P): the plain cycle converges (measured factor 0.72 per cycle,
    # every cycle an energy-norm contraction) and PCG needs about half the iterations (measured 17,
    # factor 0.32; V(2,2): 12).
    sol = mg.solve(op, f, rtol=1e-8, max_steps=80, coarse="galerkin", throw=False, **old)
    assert sol.result == RESULTS.successful
    assert float(sol.stats["convergence_factor"]) < 0.8
    sol = mg.pcg(op, f, rtol=1e-8, coarse="galerkin", throw=False, **old)
    assert sol.result == RESULTS.successful
    assert int(sol.stats["num_steps"]) <= 20
    assert float(sol.stats["convergence_factor"]) < 0.4
    assert jnp.linalg.norm(f - op.mv(sol.value)) <= 1e-8 * jnp.linalg.norm(f)


def test_galerkin_matches_textbook_on_poisson_and_other_boundaries():
    # On constant coefficients the Galerkin hierarchy (9-point coarse stencils, 4-colour GS) keeps
    # the textbook factor; Neumann (wider cell-centred stencils) and periodic converge too.
    for shape, bc, bound in [
        ((63, 63), "dirichlet", 0.12),
        ((32, 31), "neumann", 0.3),
        ((33, 32), "periodic", 0.3),
    ]:
        op = mg.poisson(shape, bc=bc)
        f = _rhs(shape)
        f = f - jnp.mean(f) if op.singular else f
        sol = mg.solve(op, f, rtol=1e-8, coarse="galerkin", throw=False)
        assert sol.result == RESULTS.successful, (shape, bc)
        assert float(sol.stats["convergence_factor"]) < bound, (shape, bc, sol.stats)
        assert jnp.linalg.norm(f - op.mv(sol.value)) <= 1.01e-8 * jnp.linalg.norm(f)


@pytest.mark.slow
def test_3d_h_independent():
    factors = []
    for n in (15, 31):
        op = mg.poisson((n, n, n))
        f = _rhs((n, n, n))
        sol = mg.solve(op, f, rtol=1e-8, throw=False)
        assert sol.result == RESULTS.successful
        factors.append(float(sol.stats["convergence_factor"]))
    assert max(factors) < 0.2
    assert abs(factors[0] - factors[1]) < 0.05


@pytest.mark.parametrize(
    "shape,bc",
    [
        ((48, 37), "neumann"),
        ((48, 37), "periodic"),
        (
            (48, 37),
            "dirichlet",
        ),  # even Dirichlet size: not nested (diverged before the geometry fix)
        ((48, 37), ("dirichlet", "neumann")),
        ((20, 17, 18), ("dirichlet", "neumann", "periodic")),
    ],
)
def test_other_boundaries_and_odd_sizes(shape, bc):
    op = mg.poisson(shape, bc=bc)
    f = _rhs(shape)
    if op.singular:
        f = f - jnp.mean(f)
    for method in (mg.solve, mg.pcg):
        sol = method(op, f, rtol=1e-8, throw=False)
        assert sol.result == RESULTS.successful
        assert jnp.linalg.norm(f - op.mv(sol.value)) <= 1.01e-8 * jnp.linalg.norm(f)
        # Measured 0.14-0.28 (plain cycle) and <= 0.16 (PCG); nested sizes reach ~0.1.
        assert float(sol.stats["convergence_factor"]) < 0.35


def test_singular_incompatible_is_reported():
    op = mg.poisson((32, 32), bc="neumann")
    f = _rhs((32, 32)) + 1.0  # nonzero mean: no solution exists
    sol = mg.solve(op, f, throw=False)
    assert sol.result == RESULTS.incompatible
    assert float(sol.stats["incompatibility"]) > 0.1
    with pytest.raises(Exception, match="compatibility"):
        mg.solve(op, f)
    # Asking for the projection solves the least-squares problem instead.
    sol = mg.solve(op, f, compatibility="project", throw=False)
    assert sol.result == RESULTS.successful
    g = f - jnp.mean(f)
    assert jnp.linalg.norm(g - op.mv(sol.value)) <= 1e-8 * jnp.linalg.norm(g)
    assert abs(float(jnp.mean(sol.value))) < 1e-10


def test_scipy_reference_solution():
    op = mg.diffusion(jnp.asarray(np.random.default_rng(3).uniform(0.5, 2.0, (20, 17))), c=0.3)
    f = _rhs((20, 17), 4)
    A = np.asarray(op.as_matrix())
    ref = np.linalg.solve(A, np.asarray(f).reshape(-1))
    u = mg.solve(op, f, rtol=1e-12).value
    np.testing.assert_allclose(np.asarray(u).reshape(-1), ref, rtol=1e-9, atol=1e-11)
    import scipy.sparse as sp

    ref2 = spla.spsolve(sp.csr_matrix(A), np.asarray(f).reshape(-1))
    np.testing.assert_allclose(np.asarray(u).reshape(-1), ref2, rtol=1e-9, atol=1e-11)


def test_max_steps_reported():
    op = mg.poisson((31, 31))
    sol = mg.solve(op, _rhs((31, 31)), rtol=1e-12, max_steps=2, throw=False)
    assert sol.result == RESULTS.max_steps_reached
    h = np.asarray(sol.stats["residual_history"])
    assert h.shape == (3,) and int(sol.stats["num_steps"]) == 2 and np.all(np.isfinite(h))


def test_jit_vmap_consistency():
    n = 31
    op = mg.poisson((n, n))
    fs = jnp.stack([_rhs((n, n), s) for s in range(3)])
    solve = lambda f: mg.solve(op, f, rtol=1e-10)
    eager = jnp.stack([solve(f).value for f in fs])
    jitted = jax.jit(lambda f: solve(f).value)(fs[1])
    batched = jax.jit(jax.vmap(lambda f: solve(f).value))(fs)
    np.testing.assert_allclose(jitted, eager[1], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(batched, eager, rtol=1e-8, atol=1e-11)
    # vmap over coefficient fields
    a = jnp.exp(0.5 * fs)
    batched = jax.vmap(lambda a, f: mg.solve(mg.diffusion(a), f, rtol=1e-10).value)(a, fs)
    for i in range(3):
        op_i = mg.diffusion(a[i])
        assert jnp.linalg.norm(fs[i] - op_i.mv(batched[i])) <= 1e-9 * jnp.linalg.norm(fs[i])


def test_sharded_batch():
    if len(jax.devices()) < 8:
        pytest.skip("needs 8 (fake) devices")
    n = 15
    op = mg.poisson((n, n))
    mesh = jax.make_mesh((8,), ("batch",), axis_types=(jax.sharding.AxisType.Auto,))
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("batch"))
    fs = jnp.stack([_rhs((n, n), s) for s in range(8)])
    fs_sharded = jax.device_put(fs, sharding)
    out = jax.jit(jax.vmap(lambda f: mg.solve(op, f, rtol=1e-10).value))(fs_sharded)
    assert out.sharding.is_equivalent_to(sharding, out.ndim)
    ref = jax.vmap(lambda f: mg.solve(op, f, rtol=1e-10).value)(fs)
    np.testing.assert_allclose(out, ref, rtol=1e-8, atol=1e-12)


def test_gradients_through_solve():
    n = 7
    key_a, key_f, key_w = jax.random.split(jax.random.key(0), 3)
    a = jnp.exp(0.3 * jax.random.normal(key_a, (n, n)))
    f = jax.random.normal(key_f, (n, n))
    w = jax.random.normal(key_w, (n, n))

    def loss(a, f):
        return jnp.sum(w * mg.solve(mg.diffusion(a), f, rtol=1e-13).value)

    def loss_ref(a, f):
        A = mg.diffusion(a).as_matrix()
        return jnp.sum(w.reshape(-1) * jnp.linalg.solve(A, f.reshape(-1)))

    ga, gf = jax.grad(loss, argnums=(0, 1))(a, f)
    ra, rf = jax.grad(loss_ref, argnums=(0, 1))(a, f)
    np.testing.assert_allclose(gf, rf, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(ga, ra, rtol=1e-7, atol=1e-12)
    # forward mode too
    check_grads(lambda f: loss(a, f), (f,), order=1, modes=("fwd", "rev"))
    # through pcg
    gpcg = jax.grad(lambda f: jnp.sum(w * mg.pcg(mg.diffusion(a), f, rtol=1e-13).value))(f)
    np.testing.assert_allclose(gpcg, rf, rtol=1e-8, atol=1e-12)

    # with Galerkin coarse operators (a 3-level hierarchy on this small grid), w.r.t. f and a
    def loss_g(a, f):
        sol = mg.pcg(mg.diffusion(a), f, rtol=1e-13, coarse="galerkin", coarse_max=4)
        return jnp.sum(w * sol.value)

    ga_g, gf_g = jax.grad(loss_g, argnums=(0, 1))(a, f)
    np.testing.assert_allclose(gf_g, rf, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(ga_g, ra, rtol=1e-7, atol=1e-12)


def test_lineax_solver_and_module():
    n = 31
    op = mg.poisson((n, n))
    f = _rhs((n, n))
    sol = lx.linear_solve(op, f, solver=mg.MultigridSolver())
    assert sol.result == lx.RESULTS.successful
    assert jnp.linalg.norm(f - op.mv(sol.value)) <= 1e-8 * jnp.linalg.norm(f)
    module = mg.Multigrid(cycle="W", smoother="jacobi", method="pcg", rtol=1e-10)
    sol2 = jax.jit(lambda f: module.solve(module.init(op), f))(f)
    assert jnp.linalg.norm(f - op.mv(sol2.value)) <= 1e-10 * jnp.linalg.norm(f)
    with pytest.raises(ValueError, match="`operator`"):
        lx.linear_solve(
            lx.MatrixLinearOperator(jnp.eye(3)), jnp.ones(3), solver=mg.MultigridSolver()
        )


def test_float32_and_mixed_precision():
    n = 63
    op = mg.poisson((n, n))
    f = _rhs((n, n))
    sol = mg.solve(op, f.astype(jnp.float32), rtol=1e-5)
    assert sol.value.dtype == jnp.float32
    sol = mg.solve(op, f, rtol=1e-10, precision=jnp.float32)
    assert sol.value.dtype == jnp.float64
    assert jnp.linalg.norm(f - op.mv(sol.value)) <= 1e-10 * jnp.linalg.norm(f)


def test_bad_inputs():
    op = mg.poisson((15, 15))
    f = jnp.ones((15, 15))
    with pytest.raises(ValueError, match="`f`"):
        mg.solve(op, jnp.ones((15, 14)))
    with pytest.raises(ValueError, match="`smoother`"):
        mg.solve(op, f, smoother="sor")
    with pytest.raises(ValueError, match="`cycle`"):
        mg.solve(op, f, cycle="X")
    with pytest.raises(ValueError, match="`rtol`"):
        mg.solve(op, f, rtol=-1.0)
    with pytest.raises(ValueError, match="`max_steps`"):
        mg.solve(op, f, max_steps=0)
    with pytest.raises(ValueError, match="`omega`"):
        mg.solve(op, f, smoother="jacobi", omega=2.5)
    with pytest.raises(ValueError, match="`compatibility`"):
        mg.solve(op, f, compatibility="ignore")
    with pytest.raises(TypeError, match="op"):
        mg.solve(jnp.eye(3), jnp.ones(3))
    # Under the test suite's jaxtyping hook the annotation (shared `*grid`) catches it first.
    with pytest.raises((ValueError, TypeError), match="x0"):
        mg.solve(op, f, x0=jnp.ones(3))
    with pytest.raises(ValueError, match="`cycle`"):
        mg.pcg(op, f, cycle="fmg")
    with pytest.raises(ValueError, match="`smoother`"):
        mg.Multigrid(smoother="sor")


def test_float32_below_rounding_floor_reports_stagnation():
    # rtol=1e-8 is out of float32's reach on 255^2 (cancellation in f - A u): stop early and say why,
    # rather than spend all max_steps; a reachable rtol still succeeds, and float64 is unaffected.
    op = mg.poisson((255, 255))
    f32 = jnp.ones((255, 255), jnp.float32)
    solve = jax.jit(lambda f, rtol: mg.solve(op, f, rtol=rtol, throw=False), static_argnums=1)
    sol = solve(f32, 1e-8)
    assert sol.result == RESULTS.stagnation and int(sol.stats["num_steps"]) < 20, sol.stats[
        "num_steps"
    ]
    assert sol.value.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(sol.value)))
    assert solve(f32, 1e-3).result == RESULTS.successful
    sol64 = solve(f32.astype(jnp.float64), 1e-8)
    assert sol64.result == RESULTS.successful and int(sol64.stats["num_steps"]) <= 10
    with pytest.raises(Exception, match="rounding floor"):
        jax.block_until_ready(mg.solve(op, f32, rtol=1e-8))
