"""Sharded spectral operators on the 8 fake CPU devices: the slab-decomposed FFT Poisson solve and
the Fourier layer equal their one-device versions, keep the input's sharding, and communicate
by all-to-all transposes (solve) or one all-reduce of the retained modes (convolution), never by
gathering the field."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

import jaxsci.spectral as sp
from jaxsci.multigrid._sharding import collectives, summarize

MESH = jax.sharding.Mesh(np.asarray(jax.devices()[:8]), ("x",))


def _field(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("stencil, k", [("spectral", 0.0), ("fd", 3.0)])
def test_sharded_poisson_2d_equals_unsharded_and_analytic(stencil, k):
    n = 32
    x = np.arange(n) / n
    u_true = np.sin(2 * np.pi * x)[:, None] * np.cos(6 * np.pi * x)[None, :]
    lam = (2 * np.pi) ** 2 * (1 + 9) if stencil == "spectral" else None
    f = _field((n, n)) - 0.0
    if stencil == "spectral":
        f = (lam + k) * u_true
    sharding = NamedSharding(MESH, P("x", None))
    f_s = jax.device_put(f, sharding)
    u = sp.solve_periodic_sharded(f_s, k=k, stencil=stencil)
    ref = sp.solve_periodic(jnp.asarray(f), k=k, stencil=stencil, compatibility="project").value
    assert u.sharding.is_equivalent_to(sharding, 2)
    np.testing.assert_allclose(u, ref, rtol=0, atol=1e-13 * np.abs(ref).max())
    if stencil == "spectral":  # exact for a trigonometric polynomial
        np.testing.assert_allclose(u, u_true, rtol=0, atol=1e-12)


def test_sharded_poisson_3d_under_jit_communicates_by_transposes_only():
    f = _field((16, 16, 8), 1)
    sharding = NamedSharding(MESH, P("x", None, None))
    f_s = jax.device_put(f, sharding)
    run = jax.jit(lambda f: sp.solve_periodic_sharded(f, sharding=sharding, k=1.0))
    u = run(f_s)
    ref = sp.solve_periodic(jnp.asarray(f), k=1.0).value
    np.testing.assert_allclose(u, ref, rtol=0, atol=1e-13 * np.abs(ref).max())
    assert u.sharding.is_equivalent_to(sharding, 3)
    traffic = summarize(collectives(run.lower(f_s).compile().as_text()))
    assert traffic["all-to-all"]["count"] == 2
    assert traffic["all-to-all"]["bytes"] == 2 * 16 * f.size // 8  # complex128, N/p per device
    assert traffic["all-gather"]["count"] == 0
    # the naive route, for contrast: XLA's own FFT gathers the whole field
    naive = jax.jit(lambda f: sp.solve_periodic(f, k=1.0).value)
    gathered = summarize(collectives(naive.lower(f_s).compile().as_text()))["all-gather"]
    assert gathered["bytes"] >= 8 * f.size


def test_sharded_poisson_gradient_matches_unsharded():
    f = _field((32, 16), 2)
    sharding = NamedSharding(MESH, P("x", None))
    target = np.cos(np.arange(f.size).reshape(f.shape))

    def loss(f, solve):
        return jnp.sum((solve(f) - target) ** 2)

    g = jax.jit(
        jax.grad(
            lambda f: loss(f, lambda f: sp.solve_periodic_sharded(f, sharding=sharding, k=2.0))
        )
    )(jax.device_put(f, sharding))
    g_ref = jax.grad(lambda f: loss(f, lambda f: sp.solve_periodic(f, k=2.0).value))(jnp.asarray(f))
    np.testing.assert_allclose(g, g_ref, rtol=0, atol=1e-13 * np.abs(g_ref).max())


@pytest.mark.parametrize("axis", [1, 2])
def test_sharded_spectral_conv_equals_unsharded_with_one_small_all_reduce(axis):
    c_in, c_out, n, modes = 3, 4, 32, (6, 5)
    x = _field((c_in, n, n), 3)
    w_re, w_im = _field((2, c_in, c_out, *modes), 4), _field((2, c_in, c_out, *modes), 5)
    spec = P(None, "x", None) if axis == 1 else P(None, None, "x")
    sharding = NamedSharding(MESH, spec)
    x_s = jax.device_put(x, sharding)
    run = jax.jit(lambda x: sp.spectral_conv_sharded(x, w_re, w_im, modes, sharding=sharding))
    y = run(x_s)
    ref = sp.spectral_conv(jnp.asarray(x), w_re, w_im, modes)
    assert y.shape == (c_out, n, n)
    assert y.sharding.is_equivalent_to(sharding, 3)
    np.testing.assert_allclose(y, ref, rtol=0, atol=1e-13 * np.abs(ref).max())
    items = collectives(run.lower(x_s).compile().as_text())
    assert [c.kind for c in items] == ["all-reduce"]
    assert items[0].nbytes == 16 * c_in * 2 * modes[0] * modes[1]  # the retained spectrum only


def test_sharded_spectral_conv_gradient_and_resolution_change():
    c, n, modes = 2, 32, (4, 4)
    x = _field((c, n, n), 6)
    w_re, w_im = _field((2, c, c, *modes), 7), _field((2, c, c, *modes), 8)
    sharding = NamedSharding(MESH, P(None, "x", None))
    x_s = jax.device_put(x, sharding)
    up = sp.spectral_conv_sharded(x_s, w_re, w_im, modes, out_shape=(64, 48))
    ref_up = sp.spectral_conv(jnp.asarray(x), w_re, w_im, modes, out_shape=(64, 48))
    np.testing.assert_allclose(up, ref_up, rtol=0, atol=1e-13 * np.abs(ref_up).max())

    def loss(w_re, x, conv):
        return jnp.sum(conv(x, w_re, w_im, modes) ** 2)

    conv_s = lambda x, wr, wi, m: sp.spectral_conv_sharded(x, wr, wi, m, sharding=sharding)  # noqa: E731
    g = jax.jit(jax.grad(loss, argnums=(0, 1)), static_argnums=2)(w_re, x_s, conv_s)
    g_ref = jax.grad(loss, argnums=(0, 1))(w_re, jnp.asarray(x), sp.spectral_conv)
    for a, b in zip(g, g_ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12 * np.abs(b).max())
