import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg as sl
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.experimental import sparse

import jaxsci.relax as R
from jaxsci import RESULTS
from jaxsci._grid import red_mask

OMEGAS = np.array([0.6, 1.0, 1.4, 1.8])


def np_sor(A, b, w, *, symmetric=False, rtol=1e-8, max_steps=10000):
    """float64 reference: x += (D/ω + L)⁻¹ r (and the backward half for SSOR)."""
    d = np.diag(A)
    Wl = np.tril(A, -1) + np.diag(d / w)
    Wu = np.triu(A, 1) + np.diag(d / w)
    x = np.zeros_like(b)
    r = b - A @ x
    n0 = np.linalg.norm(r)
    k = 0
    while np.linalg.norm(r) > rtol * n0 and k < max_steps:
        x = x + sl.solve_triangular(Wl, r, lower=True)
        if symmetric:
            x = x + sl.solve_triangular(Wu, b - A @ x, lower=False)
        r = b - A @ x
        k += 1
    return k, x


def np_pcg(A, b, w, x0, ordering, rtol=1e-8):
    d = np.diag(A)
    Wl = np.tril(A, -1) + np.diag(d / w)
    Wu = np.triu(A, 1) + np.diag(d / w)
    fac = (2 - w) / w
    if ordering == "matlab":  # M = (D+ωU)D⁻¹(D+ωL)/(ω(2−ω))
        M = (np.diag(d) + w * np.triu(A, 1)) @ np.diag(1 / d) @ (np.diag(d) + w * np.tril(A, -1))
    else:
        M = (np.diag(d) + w * np.tril(A, -1)) @ np.diag(1 / d) @ (np.diag(d) + w * np.triu(A, 1))
    M = M / (w * (2 - w))
    del Wl, Wu, fac
    x = x0.copy()
    r = b - A @ x
    z = np.linalg.solve(M, r)
    p = z.copy()
    rz = r @ z
    k = 0
    while np.linalg.norm(r) > rtol * np.linalg.norm(b):
        Ap = A @ p
        a = rz / (p @ Ap)
        x, r = x + a * p, r - a * Ap
        z = np.linalg.solve(M, r)
        rz, rz_old = r @ z, rz
        p = z + rz / rz_old * p
        k += 1
    return k, x


@pytest.fixture(scope="module")
def spd():
    rng = np.random.default_rng(0)
    B = rng.standard_normal((12, 12))
    A = B @ B.T + 12 * np.eye(12)
    return A, rng.standard_normal(12)


@pytest.fixture(scope="module")
def lap():
    G = R.numgrid("S", 7)  # 5×5 interior
    A = R.delsq(G) + 0.1 * np.eye(25)
    b = np.random.default_rng(1).standard_normal(25)
    return G, A, b


def test_sor_counts_equal_numpy_reference(spd, lap):
    for A, b in (spd, lap[1:]):
        got = jax.jit(jax.vmap(lambda w, A=A, b=b: R.sor(A, b, w).stats["num_steps"]))(OMEGAS)
        want = [np_sor(A, b, w)[0] for w in OMEGAS]
        np.testing.assert_array_equal(np.asarray(got), want)
        sol = R.sor(A, b, 1.4)
        np.testing.assert_allclose(sol.value, np.linalg.solve(A, b), rtol=1e-6, atol=1e-7)
        assert sol.result == RESULTS.successful


@settings(max_examples=12, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**16), omega=st.floats(0.15, 1.95), n=st.sampled_from([4, 7]))
def test_property_sor_converges_on_spd_and_counts_equal_reference(seed, omega, n):
    """For random SPD matrices (varied conditioning) and any ω in (0, 2): SOR converges, and its count
    equals the float64 reference's exactly."""
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((n, n))
    A = B @ B.T + rng.uniform(0.05, 2.0) * n * np.eye(n)
    b = rng.standard_normal(n)
    sol = R.sor(A, b, omega)
    assert sol.result == RESULTS.successful
    assert int(sol.stats["num_steps"]) == np_sor(A, b, omega)[0]
    np.testing.assert_allclose(A @ np.asarray(sol.value), b, atol=1e-6 * np.linalg.norm(b))


def test_vmap_over_instances_every_solver():
    """Stacked systems (different matrices and right-hand sides) under vmap equal the loop."""
    shifts = jnp.array([0.0, 0.3, 1.0])
    bs = jnp.asarray(np.random.default_rng(6).standard_normal((3, 5, 5)))
    dense = lambda c: R.laplacian_stencil((5, 5), shift=c).as_dense()
    vec = lambda b: b.T.ravel()  # column-major, as as_dense numbers the unknowns
    cases = {
        "sor dense": lambda c, b: R.sor(dense(c), vec(b), 1.1),
        "ssor_pcg dense": lambda c, b: R.ssor_pcg(dense(c), vec(b), 1.1),
        "sor stencil": lambda c, b: R.sor(R.laplacian_stencil((5, 5), shift=c), b, 1.1),
        "redblack_sor": lambda c, b: R.redblack_sor(R.laplacian_stencil((5, 5), shift=c), b, 1.1),
        "ssor_pcg stencil": lambda c, b: R.ssor_pcg(R.laplacian_stencil((5, 5), shift=c), b, 1.1),
    }
    for name, f in cases.items():
        got = jax.vmap(lambda c, b, f=f: f(c, b).stats["num_steps"])(shifts, bs)
        want = [int(f(float(shifts[i]), bs[i]).stats["num_steps"]) for i in range(3)]
        np.testing.assert_array_equal(got, want, err_msg=name)
        assert len(set(want)) > 1, name  # the instances really differ


def test_sor_sparse_and_stencil_match_dense(lap):
    G, A, b = lap
    As = sparse.BCOO.fromdense(A)
    op = R.numgrid_stencil(G, shift=0.1)
    bg = R.vector_to_grid(G, b)
    f_sp = jax.jit(jax.vmap(lambda w: R.sor(As, b, w).stats["num_steps"]))
    f_st = jax.jit(jax.vmap(lambda w: R.sor(op, bg, w).stats["num_steps"]))
    want = [np_sor(A, b, w)[0] for w in OMEGAS]
    np.testing.assert_array_equal(np.asarray(f_sp(OMEGAS)), want)
    np.testing.assert_array_equal(np.asarray(f_st(OMEGAS)), want)
    x = R.grid_to_vector(G, R.sor(op, bg, 1.5).value)
    np.testing.assert_allclose(x, np.linalg.solve(A, b), atol=1e-7)


def test_sor_l_shaped_stencil_matches_delsq():
    G = R.numgrid("L", 7)
    A = R.delsq(G)
    op = R.numgrid_stencil(G)
    np.testing.assert_array_equal(np.asarray(op.as_dense()), A)
    b = np.random.default_rng(2).standard_normal(A.shape[0])
    got = R.sor(op, R.vector_to_grid(G, b), 1.5).stats["num_steps"]
    assert int(got) == np_sor(A, b, 1.5)[0]


def test_ssor_counts_equal_reference(spd, lap):
    G, A, b = lap
    got = jax.jit(jax.vmap(lambda w: R.ssor(A, b, w).stats["num_steps"]))(OMEGAS)
    np.testing.assert_array_equal(
        np.asarray(got), [np_sor(A, b, w, symmetric=True)[0] for w in OMEGAS]
    )
    op = R.numgrid_stencil(G, shift=0.1)
    st = R.ssor(op, R.vector_to_grid(G, b), 1.4).stats["num_steps"]
    sp = R.ssor(sparse.BCOO.fromdense(A), b, 1.4).stats["num_steps"]
    assert int(st) == int(sp) == np_sor(A, b, 1.4, symmetric=True)[0]


def test_ssor_pcg_matches_reference(lap):
    G, A, b = lap
    x0 = np.full_like(b, 0.1)
    for ordering in ("matlab", "textbook"):
        sol = R.ssor_pcg(A, b, 1.3, x0=x0, ordering=ordering)
        k, x = np_pcg(A, b, 1.3, x0, ordering)
        assert int(sol.stats["num_steps"]) == k
        np.testing.assert_allclose(sol.value, x, rtol=1e-6, atol=1e-8)
    sp = R.ssor_pcg(sparse.BCOO.fromdense(A), b, 1.3, x0=x0, ordering=ordering)
    assert int(sp.stats["num_steps"]) == k
    # warm start at the solution: zero iterations
    exact = np.linalg.solve(A, b)
    assert int(R.ssor_pcg(A, b, 1.3, x0=exact).stats["num_steps"]) == 0
    assert int(R.cg(A, b).stats["num_steps"]) >= k


def _redblack_permutation(op):
    """Column-major indices of the red unknowns, then the black ones (the red-black ordering)."""
    red = red_mask(op.shape).ravel(order="F")
    return np.concatenate([np.flatnonzero(red), np.flatnonzero(~red)])


@pytest.mark.parametrize("region", ["S", "L"])
def test_ssor_pcg_stencil_orderings_match_reference(region):
    """Stencil SSOR-PCG: the lexicographic (default) sweep equals the dense reference in numgrid order;
    the red-black sweep equals the reference on the red-black permuted matrix (same counts, same x)."""
    G = R.numgrid(region, 8)
    op = R.numgrid_stencil(G, shift=0.05)
    A = np.asarray(op.as_dense())
    rng = np.random.default_rng(4)
    b = rng.standard_normal(A.shape[0])
    x0 = 0.1 * rng.standard_normal(A.shape[0])
    bg, xg = R.vector_to_grid(G, b), R.vector_to_grid(G, x0)
    for ordering in ("matlab", "textbook"):
        for w in (1.0, 1.6):
            k, x = np_pcg(A, b, w, x0, ordering)
            lex = R.ssor_pcg(op, bg, w, x0=xg, ordering=ordering)
            assert int(lex.stats["num_steps"]) == k, (ordering, w)
            np.testing.assert_allclose(R.grid_to_vector(G, lex.value), x, atol=1e-9)
    if region == "S":  # red-black: permute the unknowns, red first
        perm = _redblack_permutation(op)
        Ap = A[np.ix_(perm, perm)]
        for w in (1.0, 1.6):
            k, x = np_pcg(Ap, b[perm], w, x0[perm], "matlab")
            rb = R.ssor_pcg(op, bg, w, x0=xg, sweep="redblack")
            assert int(rb.stats["num_steps"]) == k, w
            np.testing.assert_allclose(R.grid_to_vector(G, rb.value)[perm], x, atol=1e-9)
    # vmap over ω equals the loop
    ws = jnp.array([1.0, 1.4, 1.8])
    many = jax.vmap(lambda w: R.ssor_pcg(op, bg, w, x0=xg).stats["num_steps"])(ws)
    np.testing.assert_array_equal(
        many, [int(R.ssor_pcg(op, bg, float(w), x0=xg).stats["num_steps"]) for w in ws]
    )


def test_redblack_sor_counts_equal_reference_in_redblack_order(lap):
    """Red-black SOR/SSOR = the float64 reference run on the matrix permuted to red-black order."""
    G, A, b = lap
    op = R.numgrid_stencil(G, shift=0.1)
    perm = _redblack_permutation(op)
    Ap, bp = A[np.ix_(perm, perm)], b[perm]
    bg = R.vector_to_grid(G, b)
    got = jax.vmap(lambda w: R.redblack_sor(op, bg, w).stats["num_steps"])(jnp.asarray(OMEGAS))
    np.testing.assert_array_equal(got, [np_sor(Ap, bp, w)[0] for w in OMEGAS])
    k, x = np_sor(Ap, bp, 1.4, symmetric=True)
    sol = R.redblack_ssor(op, bg, 1.4)
    assert int(sol.stats["num_steps"]) == k
    np.testing.assert_allclose(R.grid_to_vector(G, sol.value)[perm], x, atol=1e-9)


def test_redblack_and_lexicographic_share_asymptotic_rate():
    op = R.laplacian_stencil((8, 8))
    b = jnp.asarray(np.random.default_rng(3).standard_normal((8, 8)))
    beta = np.cos(np.pi / 9)

    def rate(solver, w):
        k1 = int(solver(op, b, w, rtol=1e-4).stats["num_steps"])
        k2 = int(solver(op, b, w, rtol=1e-10).stats["num_steps"])
        return 10 ** (-6 / (k2 - k1))

    for w in (1.0, 1.3):
        rho = float(R.sor_spectral_radius(beta, w))
        lex, rb = rate(R.sor, w), rate(R.redblack_sor, w)
        assert abs(lex - rho) < 0.02 and abs(rb - rho) < 0.02, (w, lex, rb, rho)
    x = R.redblack_ssor(op, b, 1.5).value
    np.testing.assert_allclose(op.mv(x), b, atol=1e-6)


def test_redblack_3d_seven_point():
    op = R.laplacian_stencil((4, 3, 3), shift=0.5)
    b = jnp.ones((4, 3, 3))
    sol = R.redblack_sor(op, b, 1.2)
    np.testing.assert_allclose(op.mv(sol.value), b, atol=1e-7)
    A = np.asarray(op.as_dense())
    np.testing.assert_allclose(A, A.T)
    assert A[0, 0] == 6.5


def test_young_omega_against_brute_force():
    A = R.delsq(R.numgrid("S", 10))
    d = np.diag(A)
    grid = np.linspace(1.0, 1.99, 199)

    def rho(w):
        W = np.tril(A, -1) + np.diag(d / w)
        return np.max(np.abs(np.linalg.eigvals(np.eye(len(d)) - np.linalg.solve(W, A))))

    brute = grid[np.argmin([rho(w) for w in grid])]
    ystar = float(R.young_omega(A))
    assert abs(ystar - brute) < 0.01
    assert abs(ystar - 2 / (1 + np.sin(np.pi / 9))) < 1e-10


def test_vmap_over_instances_and_jvp(lap):
    _, A, b = lap
    B = np.stack([b, 2 * b, -b])
    many = jax.vmap(lambda bb: R.sor(A, bb, 1.5).value)(B)
    for i in range(3):
        np.testing.assert_allclose(many[i], R.sor(A, B[i], 1.5).value, rtol=1e-12)
    # forward-mode derivative through the while loop: d x / d b · v = A⁻¹ v
    v = np.ones_like(b)
    _, tangent = jax.jvp(lambda bb: R.sor(A, bb, 1.5, rtol=1e-12).value, (b,), (v,))
    np.testing.assert_allclose(tangent, np.linalg.solve(A, v), rtol=1e-6)


def test_failure_reporting(lap):
    _, A, b = lap
    sol = R.sor(A, b, 1.0, max_steps=3, throw=False)
    assert sol.result == RESULTS.max_steps_reached and int(sol.stats["num_steps"]) == 3
    with pytest.raises(Exception, match="max_steps"):
        R.sor(A, b, 1.0, max_steps=3)
    # a traced ω outside (0, 2) is not caught at trace time: the iteration reports divergence
    res = jax.vmap(lambda w: R.sor(A, b, w, throw=False).result._value)(jnp.array([1.0, 2.5]))
    assert int(res[0]) == RESULTS.successful._value and int(res[1]) == RESULTS.diverged._value
    with pytest.raises(Exception, match="omega"):
        R.sor(A, b, jnp.asarray(2.5))  # the advice names the argument to change
    assert int(R.sor(A, np.zeros_like(b), 1.3).stats["num_steps"]) == 0


@pytest.mark.parametrize("solver", [R.sor, R.ssor, R.ssor_pcg])
def test_bad_inputs(solver, lap):
    _, A, b = lap
    for w in (0.0, 2.0, -1.0, 2.5):
        with pytest.raises(ValueError, match="omega"):
            solver(A, b, w)
    with pytest.raises(ValueError, match="`A`.*square"):
        solver(A[:, :-1], b, 1.0)
    bad = A.copy()
    bad[3, 3] = -1.0
    with pytest.raises(ValueError, match="`A`.*positive diagonal"):
        solver(bad, b, 1.0)  # NumPy: checked statically
    with pytest.raises(Exception, match="`A`.*positive diagonal"):
        solver(sparse.BCOO.fromdense(bad), b, 1.0)  # device values: checked at run time
    with pytest.raises(Exception, match="`A`.*positive diagonal"):
        solver(jnp.asarray(bad), b, 1.0)
    with pytest.raises(ValueError, match="`b`"):
        solver(A, b[:-1], 1.0)
    # x0's shape must equal b's: the signature says so (a type-check error under the test hook,
    # the solver's own ValueError without it)
    with pytest.raises((ValueError, TypeError), match="x0"):
        solver(A, b, 1.0, x0=b[:-2])
    with pytest.raises(ValueError, match="rtol"):
        solver(A, b, 1.0, rtol=-1.0)


def test_bad_stencil_inputs(lap):
    _, A, b = lap
    with pytest.raises(TypeError, match="[`']A[`']"):
        R.redblack_sor(A, b, 1.0)
    op = R.laplacian_stencil((4, 4))
    with pytest.raises(ValueError, match="`b`"):
        R.redblack_sor(op, jnp.ones((3, 4)), 1.0)
    with pytest.raises(ValueError, match="omega"):
        R.redblack_ssor(op, jnp.ones((4, 4)), 2.0)
    with pytest.raises(ValueError, match="diag"):
        R.LaplacianStencil((4, 4), -1.0, -1.0)
    with pytest.raises(ValueError, match="sweep"):
        R.SOR(sweep="zigzag")
    with pytest.raises(ValueError, match="max_steps"):
        R.SSOR(max_steps=-1)
    with pytest.raises(ValueError, match="ordering"):
        R.SSORPCG(ordering="reverse")
    with pytest.raises(ValueError, match="`state`.*sweep"):
        R.SOR().solve(R.SOR(sweep="redblack").init(op), jnp.ones((4, 4)), omega=1.0)
    with pytest.raises(ValueError, match="`A`.*2D"):
        R.sor(R.laplacian_stencil((3, 3, 3)), jnp.ones((3, 3, 3)), 1.0)
    with pytest.raises(ValueError, match="`A`.*2D"):
        R.ssor_pcg(R.laplacian_stencil((3, 3, 3)), jnp.ones((3, 3, 3)), 1.0)
    with pytest.raises(ValueError, match="sweep"):
        R.ssor_pcg(A, b, 1.0, sweep="redblack")
    with pytest.raises(ValueError, match="sweep"):
        R.ssor_pcg(op, jnp.ones((4, 4)), 1.0, sweep="zigzag")
    sol = R.ssor_pcg(R.laplacian_stencil((3, 3, 3)), jnp.ones((3, 3, 3)), 1.2, sweep="redblack")
    assert sol.result == RESULTS.successful


def test_float32(lap):
    """float32 inputs stay float32 and converge to a float32-attainable tolerance."""
    G, A, b = lap
    A32, b32 = jnp.asarray(A, jnp.float32), jnp.asarray(b, jnp.float32)
    x = np.linalg.solve(A, b)
    for sol in (
        R.sor(A32, b32, 1.4, rtol=1e-5),
        R.ssor_pcg(A32, b32, 1.4, rtol=1e-5),
        R.sor(sparse.BCOO.fromdense(A32), b32, 1.4, rtol=1e-5),
    ):
        assert sol.value.dtype == jnp.float32 and sol.result == RESULTS.successful
        np.testing.assert_allclose(sol.value, x, rtol=1e-3, atol=1e-4)
    op = R.numgrid_stencil(G, shift=jnp.float32(0.1))
    op = R.LaplacianStencil(op.shape, op.diag.astype(jnp.float32), op.offdiag.astype(jnp.float32))
    sol = R.redblack_sor(op, R.vector_to_grid(G, b32), 1.4, rtol=1e-5)
    assert sol.value.dtype == jnp.float32
    np.testing.assert_allclose(R.grid_to_vector(G, sol.value), x, rtol=1e-3, atol=1e-4)
    # the default tolerance fits the dtype (1e-5 in float32), and 1e-12 stops at the floor
    assert R.sor(A32, b32, 1.4).result == RESULTS.successful
    floor = R.sor(A32, b32, 1.4, rtol=1e-12, throw=False)
    assert floor.result == RESULTS.stagnation and int(floor.stats["num_steps"]) < 200
