"""Stable AR(p) generator (issue 14)."""

import jax
import numpy as np
import pytest

from jaxsci.data import ar_coefficients, ar_process

KEY = jax.random.key(0)


@pytest.mark.parametrize("p", [1, 2, 3, 8])
def test_coefficients_are_stable(p):
    # five draws at once: jit-able with p static, vmap-able over keys
    draw = jax.jit(jax.vmap(lambda k: ar_coefficients(k, p, r_min=0.2, r_max=0.9)))
    for phi in np.asarray(draw(jax.random.split(KEY, 5))):
        roots = np.roots(np.concatenate([[1.0], -phi]))
        assert roots.shape == (p,)
        assert np.all(np.abs(roots) <= 0.9 + 1e-9) and np.all(np.abs(roots) >= 0.2 - 1e-9)


def test_process_follows_recurrence():
    phi = np.array([0.5, -0.3, 0.1])
    x = np.asarray(ar_process(KEY, phi, 50, batch=2, noise_std=0.0))
    assert x.shape == (2, 50)
    np.testing.assert_allclose(x[:, 3:], sum(phi[i] * x[:, 2 - i : 49 - i] for i in range(3)))
    # with noise the residual is the (unit-variance-scaled) innovation
    xn = np.asarray(ar_process(KEY, phi, 4000, noise_std=0.5, burn_in=10))[0]
    resid = xn[3:] - sum(phi[i] * xn[2 - i : -1 - i] for i in range(3))
    assert 0.45 < resid.std() < 0.55
    assert np.isfinite(xn).all()


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: ar_coefficients(KEY, 0), "`p`"),
        (lambda: ar_coefficients(KEY, 2, r_max=1.0), "`r_max`"),
        (lambda: ar_coefficients(KEY, 2, r_min=0.9, r_max=0.5), "`r_min`"),
        (lambda: ar_process(KEY, np.zeros((2, 2)), 5), "`phi`|parameter 'phi'"),
        (lambda: ar_process(KEY, np.ones(2), 0), "`length`"),
        (lambda: ar_process(KEY, np.ones(2), 5, noise_std=-1.0), "`noise_std`"),
    ],
)
def test_bad_arguments(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
