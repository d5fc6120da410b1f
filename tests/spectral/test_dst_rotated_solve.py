"""solve_dirichlet with the rotated-layout DST-I (2(d−1) transposes) against SciPy's DST-I, to rounding,
in float32 and float64, odd and even sizes in every axis order, 1-3 dimensions (issue 17); the 1D DST-I
itself at odd and even n (the odd extension is one fused pad-difference).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.fft

from jaxsci.spectral import dirichlet_eigenvalues, dst1, solve_dirichlet


def _reference(f, k, length, stencil):
    lam = dirichlet_eigenvalues(f.shape, length, stencil=stencil)
    return scipy.fft.idstn(scipy.fft.dstn(f.astype(np.float64), type=1) / (lam + k), type=1)


@pytest.mark.parametrize(
    "shape", [(8,), (9, 6), (6, 9), (5, 4, 7)], ids=lambda s: "x".join(map(str, s))
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_solve_dirichlet_matches_scipy(shape, dtype):
    rng = np.random.default_rng(len(shape) * 10 + shape[0])
    f = rng.standard_normal(shape).astype(dtype)
    length = tuple(1.0 + 0.5 * a for a in range(len(shape)))
    for k, stencil in ((0.0, "spectral"), (3.5, "fd")):
        ref = _reference(f, k, length, stencil)
        got = jax.jit(
            lambda f, k=k, st=stencil: solve_dirichlet(f, k=k, length=length, stencil=st)
        )(jnp.asarray(f))
        assert got.dtype == dtype and got.shape == shape
        tol = 2e-6 if dtype == np.float32 else 1e-13
        np.testing.assert_allclose(np.asarray(got), ref, rtol=0, atol=tol * np.abs(ref).max())


@pytest.mark.parametrize("n", [1, 2, 5, 6])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dst1_matches_scipy(n, dtype):
    x = np.random.default_rng(n).standard_normal((3, n)).astype(dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-13
    for axis in (0, 1):
        ref = scipy.fft.dst(x.astype(np.float64), type=1, axis=axis)
        got = dst1(jnp.asarray(x), axis=axis)
        np.testing.assert_allclose(np.asarray(got), ref, rtol=0, atol=tol * np.abs(ref).max())


def test_solve_dirichlet_nonfinite_raises_under_jit():
    # the finiteness check is one reduction Σ 0·u (NaN exactly when some entry is NaN or inf): a NaN or an
    # inf at one point, and a finite float32 field whose transform overflows, all raise; large finite
    # fields do not
    solve = jax.jit(lambda f: solve_dirichlet(f, stencil="fd"))
    f = np.random.default_rng(1).standard_normal((6, 5)).astype(np.float32)
    for bad in (np.nan, np.inf, -np.inf):
        g = f.copy()
        g[2, 3] = bad
        with pytest.raises(Exception, match="not finite"):
            jax.block_until_ready(solve(jnp.asarray(g)))
    with pytest.raises(Exception, match="not finite"):
        jax.block_until_ready(solve(jnp.full((6, 5), 3e38, np.float32)))
    big = np.asarray(solve(jnp.asarray(f * 1e30)))
    np.testing.assert_allclose(big / 1e30, np.asarray(solve(jnp.asarray(f))), rtol=1e-5)
