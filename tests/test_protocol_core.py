"""The shared protocol pieces: the stopping vocabulary, the one stationary loop, the one CG, the
grid-operator family and the progress meter (design.md, "One protocol")."""

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import pytest

from jaxsci import RESULTS
from jaxsci._grid import AbstractGridOperator, red_mask
from jaxsci._iterate import cg, stationary
from jaxsci._progress import NoProgress, progress_meter
from jaxsci._solution import DIVERGENCE_FACTOR, Solution, default_rtol, diverged, finalize, norm


class _Laplacian(AbstractGridOperator):
    """A toy member of the family: (2d + c) u - sum of neighbours, zero or periodic boundaries."""

    c: jax.Array
    shape: tuple[int, ...] = eqx.field(static=True)
    periodic: bool = eqx.field(static=True, default=False)

    @property
    def dtype(self):
        return self.c.dtype

    @property
    def periodic_axes(self):
        return (self.periodic,) * len(self.shape)

    def mv(self, vector):
        u = vector
        out = (2 * u.ndim + self.c) * u
        for d in range(u.ndim):
            if self.periodic:
                out = out - jnp.roll(u, 1, d) - jnp.roll(u, -1, d)
            else:
                pad = [(0, 0)] * u.ndim
                pad[d] = (1, 1)
                up = jnp.pad(u, pad)
                n = u.shape[d]
                lo = jax.lax.slice_in_dim(up, 0, n, axis=d)
                hi = jax.lax.slice_in_dim(up, 2, n + 2, axis=d)
                out = out - lo - hi
        return out

    def diagonal(self):
        return jnp.full(self.shape, 2 * len(self.shape) + self.c, self.dtype)


def _spd(n, cond, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    q = np.linalg.qr(rng.normal(size=(n, n)))[0]
    a = q @ np.diag(np.logspace(0, np.log10(cond), n)) @ q.T
    return a.astype(dtype), rng.normal(size=n).astype(dtype)


# ---------------------------------------------------------------------------------- vocabulary
def test_norm_neither_underflows_nor_overflows():
    x = jnp.full(100, 1e-300)
    assert float(norm(x)) == pytest.approx(1e-299)
    assert float(norm(jnp.full(4, 1e300))) == pytest.approx(2e300)
    assert float(norm(jnp.full(4, 1e-20, jnp.float32))) == pytest.approx(2e-20, rel=1e-5)
    assert float(norm(jnp.zeros(3))) == 0.0
    assert np.isnan(float(norm(jnp.array([1.0, jnp.nan]))))
    assert np.isinf(float(norm(jnp.array([1.0, jnp.inf]))))


def test_default_rtol_fits_the_dtype():
    assert default_rtol(jnp.float64) == 1e-8
    assert default_rtol(jnp.float32) == 1e-5
    assert default_rtol(jnp.bfloat16) == 1e-2


def test_divergence_rule():
    assert bool(diverged(2 * DIVERGENCE_FACTOR, 1.0, 1.0))
    assert not bool(diverged(10.0, 0.5, 1.0))
    assert bool(diverged(1.5, 1.5, 1.0))  # ended above where it started
    assert not bool(diverged(10.0, 0.5, 1.0, b_norm=1e3))


def test_results_interoperate_with_lineax():
    assert issubclass(RESULTS, lx.RESULTS)
    assert RESULTS.promote(lx.RESULTS.breakdown) == RESULTS.breakdown
    assert RESULTS.promote(lx.RESULTS.successful) == RESULTS.successful
    assert "GMRES" not in RESULTS[RESULTS.breakdown]


def test_finalize_advice_names_the_argument():
    sol = Solution(jnp.zeros(2), RESULTS.diverged, {})
    f = eqx.filter_jit(
        lambda s: finalize(s, True, solver="toy", advice={"diverged": "Reduce `step_size`."})
    )
    with pytest.raises(eqx.EquinoxRuntimeError, match=r"toy failed \(diverged\).*`step_size`"):
        jax.block_until_ready(f(sol))
    ok = Solution(jnp.zeros(2), RESULTS.successful, {})
    assert f(ok).result == RESULTS.successful


# ------------------------------------------------------------------------------ stationary loop
def _jacobi(a, b, x0, **kw):
    a = jnp.asarray(a)
    d = jnp.diag(a)
    return stationary(lambda x, r, k: x + r / d, lambda x: b - a @ x, b, x0, **kw)


def test_stationary_matches_a_numpy_loop():
    rng = np.random.default_rng(1)
    a = 4 * np.eye(20) + 0.1 * rng.normal(size=(20, 20))
    a = a + a.T
    b = rng.normal(size=20)
    x, result, stats = jax.jit(
        lambda b: _jacobi(a, b, jnp.zeros(20), rtol=1e-10, atol=0.0, max_steps=100)
    )(jnp.asarray(b))
    # NumPy reference: the same iteration and stopping rule in float64
    xr, k = np.zeros(20), 0
    while np.linalg.norm(b - a @ xr) > 1e-10 * np.linalg.norm(b):
        xr = xr + (b - a @ xr) / np.diag(a)
        k += 1
    assert result == RESULTS.successful
    assert int(stats["num_steps"]) == k
    np.testing.assert_allclose(x, xr, rtol=1e-12)
    hist = np.asarray(stats["residual_history"])
    assert hist.shape == (101,)
    assert np.all(np.isfinite(hist[: k + 1])) and np.all(np.isnan(hist[k + 1 :]))


def test_stationary_warm_start_and_divergence():
    a = np.diag([1.0, 2.0, 3.0])
    b = jnp.ones(3)
    x_star = jnp.asarray(np.linalg.solve(a, b))
    _, result, stats = _jacobi(a, b, x_star, rtol=1e-8, atol=0.0, max_steps=50)
    assert result == RESULTS.successful and int(stats["num_steps"]) == 0
    d = jnp.diag(jnp.asarray(a))
    _, result, stats = stationary(
        lambda x, r, k: x + 3 * r / d, lambda x: b - a @ x, b, jnp.zeros(3),
        rtol=1e-8, atol=0.0, max_steps=500,
    )  # fmt: skip
    assert result == RESULTS.diverged and int(stats["num_steps"]) < 500
    # a short budget that ends above the start is divergence too, not "budget used up"
    _, result, _ = stationary(
        lambda x, r, k: x + 2.5 * r / d, lambda x: b - a @ x, b, jnp.zeros(3),
        rtol=1e-8, atol=0.0, max_steps=3,
    )  # fmt: skip
    assert result == RESULTS.diverged


def test_stationary_stagnates_at_the_float32_floor():
    a, b = _spd(30, 10.0, dtype=np.float32)
    a = jnp.asarray(a)
    b = jnp.asarray(b)
    lam = float(np.linalg.eigvalsh(np.asarray(a, np.float64)).max())
    eps = float(jnp.finfo(jnp.float32).eps)
    _, result, stats = stationary(
        lambda x, r, k: x + r / lam,
        lambda x: b - a @ x,
        b,
        jnp.zeros(30, jnp.float32),
        rtol=1e-12,
        atol=0.0,
        max_steps=2000,
        floor=lambda x: eps * norm(jnp.abs(a) @ jnp.abs(x)),
    )
    assert result == RESULTS.stagnation
    assert int(stats["num_steps"]) < 2000


def test_stationary_vmaps_each_member_on_its_own():
    a = jnp.diag(jnp.array([1.0, 2.0, 3.0]))
    bs = jnp.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, jnp.nan, 1.0]])
    run = jax.vmap(lambda b: _jacobi(a, b, jnp.zeros(3), rtol=1e-8, atol=0.0, max_steps=10))
    _, results, stats = run(bs)
    ok = np.asarray(results == RESULTS.successful)
    assert ok.tolist() == [True, True, False]
    assert int(stats["num_steps"][1]) == 0
    assert bool((results == RESULTS.nonfinite)[2])


# ------------------------------------------------------------------------------------------ CG
@pytest.mark.parametrize("precondition", [False, True])
def test_cg_matches_scipy(precondition):
    from scipy.sparse.linalg import cg as scipy_cg

    a, b = _spd(40, 1e3, seed=2)
    m = (lambda r: r / jnp.diag(jnp.asarray(a))) if precondition else None
    x, result, stats = jax.jit(
        lambda b: cg(lambda v: a @ v, b, jnp.zeros(40), rtol=1e-10, atol=0.0, max_steps=400,
                     precondition=m)
    )(jnp.asarray(b))  # fmt: skip
    xs, info = scipy_cg(a, b, rtol=1e-12, maxiter=2000)
    assert info == 0
    assert result == RESULTS.successful
    assert np.linalg.norm(b - a @ np.asarray(x)) <= 1e-10 * np.linalg.norm(b)
    np.testing.assert_allclose(x, xs, rtol=1e-6, atol=1e-8)
    assert 0 < int(stats["num_steps"]) <= 400


def test_cg_never_reports_a_drifted_residual_as_success():
    # float32, condition 1e5, rtol 1e-7: the recursive residual drifts below the tolerance long
    # before the true one does. Whatever the status, "successful" must mean the true residual.
    a, b = _spd(50, 1e5, seed=0, dtype=np.float32)
    x, result, stats = cg(
        lambda v: jnp.asarray(a) @ v, jnp.asarray(b), jnp.zeros(50, jnp.float32),
        rtol=1e-7, atol=0.0, max_steps=300,
    )  # fmt: skip
    true = np.linalg.norm(b.astype(np.float64) - a.astype(np.float64) @ np.asarray(x, np.float64))
    if result == RESULTS.successful:
        assert true <= 1.5e-7 * np.linalg.norm(b)
    else:
        assert result in (RESULTS.stagnation, RESULTS.max_steps_reached)
    assert float(stats["residual_norm"]) == pytest.approx(true, rel=0.05)


def test_cg_reports_breakdown_on_an_indefinite_matrix():
    a = jnp.diag(jnp.array([1.0, -1.0, 2.0]))
    _, result, _ = cg(lambda v: a @ v, jnp.array([1.0, 1.0, 0.0]), jnp.zeros(3), rtol=1e-8,
                      atol=0.0, max_steps=10)  # fmt: skip
    assert result == RESULTS.breakdown


def test_cg_warm_start_and_zero_rhs():
    a, b = _spd(10, 10.0)
    x_star = np.linalg.solve(a, b)
    _, result, stats = cg(lambda v: a @ v, b, x_star, rtol=1e-8, atol=0.0, max_steps=10)
    assert result == RESULTS.successful and int(stats["num_steps"]) == 0
    x, result, stats = cg(lambda v: a @ v, np.zeros(10), np.zeros(10), rtol=1e-8, atol=0.0,
                          max_steps=10)  # fmt: skip
    assert result == RESULTS.successful and int(stats["num_steps"]) == 0
    assert not np.any(np.asarray(x))


# ----------------------------------------------------------------------------- operator family
@pytest.mark.parametrize(
    "shape, periodic",
    [((5, 7), False), ((4, 6), True), ((3, 4, 5), False), ((7,), True), ((2,), True)],
)
def test_sparse_exports_equal_the_dense_matrix(shape, periodic):
    op = _Laplacian(jnp.asarray(0.5), shape, periodic)
    dense = np.asarray(op.as_matrix())
    np.testing.assert_array_equal(op.as_scipy().toarray(), dense)
    np.testing.assert_array_equal(np.asarray(op.as_bcoo().todense()), dense)
    assert np.allclose(dense, dense.T)


def test_grid_operator_is_a_lineax_operator():
    op = _Laplacian(jnp.asarray(0.1), (8, 9))
    assert lx.is_symmetric(op) and lx.is_positive_semidefinite(op)
    f = jnp.asarray(np.random.default_rng(0).normal(size=(8, 9)))
    sol = lx.linear_solve(op, f, solver=lx.CG(rtol=1e-12, atol=1e-12))
    np.testing.assert_allclose(op.mv(sol.value), f, atol=1e-9)
    np.testing.assert_allclose(lx.diagonal(op), np.diag(np.asarray(op.as_matrix())))
    assert op.T is op


def test_redblack_sweep_is_gauss_seidel_in_red_black_order():
    op = _Laplacian(jnp.asarray(0.3), (5, 6))
    rng = np.random.default_rng(3)
    u, f = rng.normal(size=(5, 6)), rng.normal(size=(5, 6))
    a = np.asarray(op.as_matrix())
    red = red_mask((5, 6)).ravel()
    x, b = u.ravel().copy(), f.ravel()
    for colour in (red, ~red):  # reference: point Gauss-Seidel, red points first, then black
        for i in np.flatnonzero(colour):
            x[i] += 1.2 * (b[i] - a[i] @ x) / a[i, i]
    out = op.redblack_sweep(jnp.asarray(u), jnp.asarray(f), 1.2)
    np.testing.assert_allclose(np.asarray(out).ravel(), x, rtol=1e-12)


def test_progress_meter_is_optional():
    assert isinstance(progress_meter(10, enabled=False), NoProgress)
    with progress_meter(3, enabled=False) as bar:
        bar.update(1)
        bar.set_postfix(loss=1.0)
