"""Property-based bad-input tests (Hypothesis) where the input space is too wide for fixed probes.

The bad-input matrix (``tests/<sub>/test_bad_inputs_<sub>.py``) pins one example per category; here
Hypothesis draws magnitudes over the whole float64 exponent range, shapes and signs, and checks the
invariants that the sweep of issue 11 found broken at particular points: scaled norms that neither
underflow nor overflow, the simplex projection on the simplex at any magnitude, solvers whose answer
scales with the right-hand side (and stays ``successful`` only when it is right), and error measures
that are scale-invariant. Every function is compiled once per shape (the scale is a traced value), and
the number of examples is kept small so that the file runs in seconds.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import jaxsci.monotone as mono  # noqa: E402
import jaxsci.multigrid as mg  # noqa: E402
import jaxsci.relax as relax  # noqa: E402
import jaxsci.spectral as spectral  # noqa: E402
import jaxsci.training as training  # noqa: E402
from jaxsci import RESULTS  # noqa: E402
from jaxsci._solution import norm  # noqa: E402

# Decimal exponents over (almost) the whole float64 range; the solvers scale by powers of two, so any
# exponent whose square would under- or overflow is a case that used to fail.
EXPONENTS = st.integers(min_value=-300, max_value=300)
SETTINGS = settings(max_examples=20, deadline=None, derandomize=True)


def _vector(seed: int, n: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)


@SETTINGS
@given(seed=st.integers(0, 2**16), n=st.integers(1, 64), e=EXPONENTS)
def test_norm_is_homogeneous_at_every_magnitude(seed, n, e):
    x = _vector(seed, n)
    got = float(norm(jnp.asarray(x * 10.0**e)))
    want = np.linalg.norm(x) * 10.0**e  # NumPy's norm scales too (LAPACK dnrm2)
    assert np.isfinite(got) and got > 0
    np.testing.assert_allclose(got, want, rtol=1e-13)


_project = {
    method: jax.jit(lambda z, r, method=method: mono.project_simplex(z, r, method=method))
    for method in ("sort", "pivot")
}


def _simplex_reference(z: np.ndarray, radius: float) -> np.ndarray:
    """Euclidean projection onto {x >= 0, sum x = radius} by sorting, on z - max z (no cancellation)."""
    u = np.sort(z - z.max())[::-1]
    css = np.cumsum(u) - radius
    k = np.nonzero(u - css / np.arange(1, len(z) + 1) > 0)[0][-1]
    return np.maximum(z - z.max() - css[k] / (k + 1), 0.0)


@SETTINGS
@given(
    seed=st.integers(0, 2**16),
    n=st.sampled_from([2, 7, 32]),
    e=st.integers(-30, 30),
    radius_exp=st.integers(-3, 3),
    method=st.sampled_from(["sort", "pivot"]),
)
def test_simplex_projection_lands_on_the_simplex_at_any_magnitude(seed, n, e, radius_exp, method):
    z = _vector(seed, n) * 10.0**e
    radius = 10.0**radius_exp
    x = np.asarray(_project[method](jnp.asarray(z), jnp.asarray(radius)))
    assert np.all(np.isfinite(x)) and np.all(x >= 0)
    np.testing.assert_allclose(x.sum(), radius, rtol=1e-12)
    np.testing.assert_allclose(x, _simplex_reference(z, radius), rtol=1e-9, atol=1e-12 * radius)


_POISSON = mg.poisson((15, 15))
_F = jnp.asarray(np.random.default_rng(0).standard_normal((15, 15)))
_mg_solve = jax.jit(lambda f: mg.solve(_POISSON, f, rtol=1e-10, throw=False))
_U = _mg_solve(_F).value


@SETTINGS
@given(e=EXPONENTS)
def test_multigrid_solution_scales_with_the_right_hand_side(e):
    scale = 10.0**e
    sol = _mg_solve(_F * scale)
    assert sol.result == RESULTS.successful
    np.testing.assert_allclose(np.asarray(sol.value) / scale, np.asarray(_U), rtol=1e-8, atol=1e-10)


_A = np.diag(np.full(12, 4.0)) + np.diag(np.full(11, -1.0), 1) + np.diag(np.full(11, -1.0), -1)
_B = jnp.asarray(_vector(1, 12))
_sor = jax.jit(lambda b, omega: relax.sor(jnp.asarray(_A), b, omega, rtol=1e-10, throw=False))


@SETTINGS
@given(e=EXPONENTS, omega=st.floats(0.5, 1.6))
def test_sor_solution_scales_with_the_right_hand_side(e, omega):
    scale = 10.0**e
    sol = _sor(_B * scale, omega)
    assert sol.result == RESULTS.successful
    x = np.asarray(sol.value) / scale
    np.testing.assert_allclose(_A @ x, np.asarray(_B), rtol=1e-8, atol=1e-9)


_dirichlet = jax.jit(lambda f: spectral.solve_dirichlet(f))
_FD = jnp.asarray(np.random.default_rng(2).standard_normal((15, 15)))
_UD = _dirichlet(_FD)


@SETTINGS
@given(e=EXPONENTS)
def test_dirichlet_solve_is_linear_at_every_magnitude(e):
    scale = 10.0**e
    u = np.asarray(_dirichlet(_FD * scale))
    assert np.all(np.isfinite(u))
    np.testing.assert_allclose(u / scale, np.asarray(_UD), rtol=1e-10, atol=1e-12)


_rel_l2 = jax.jit(training.relative_l2)


@SETTINGS
@given(seed=st.integers(0, 2**16), e=EXPONENTS, noise=st.floats(1e-3, 1.0))
def test_relative_l2_is_scale_invariant(seed, e, noise):
    rng = np.random.default_rng(seed)
    target = rng.standard_normal((1, 8, 8))
    pred = target + noise * rng.standard_normal((1, 8, 8))
    want = np.linalg.norm(pred - target) / np.linalg.norm(target)
    scale = 10.0**e
    got = float(_rel_l2(jnp.asarray(pred * scale), jnp.asarray(target * scale)))
    np.testing.assert_allclose(got, want, rtol=1e-10)
