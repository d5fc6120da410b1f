"""vandermonde: float64 NumPy reference, tiling, float32 at long L, jvp/grad/hessian, jit/vmap, memory, bad input."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.extend import core as jex_core
from jax.test_util import check_grads

from jaxsci.ssm import vandermonde as _vandermonde
from jaxsci.ssm import vandermonde_naive, vandermonde_split

# one compiled program per shape (eager op-by-op dispatch of the tiled kernel is slow to start)
vandermonde = jax.jit(_vandermonde, static_argnums=2, static_argnames=("chunk", "tile_rows"))


def reference(W, z, L):
    """float64 NumPy, materialising exp(l z), one channel at a time."""
    W = np.asarray(W, np.complex128)
    z = np.asarray(z, np.complex128)
    l = np.arange(L)
    flatW, flatz = W.reshape(-1, W.shape[-1]), z.reshape(-1, z.shape[-1])
    out = np.stack(
        [2 * np.real(w @ np.exp(zz[:, None] * l)) for w, zz in zip(flatW, flatz, strict=False)]
    )
    return out.reshape(*W.shape[:-1], L)


def s4d_params(rng, H, N, dt_lo=1e-5, dt_hi=1.0):
    n = np.arange(N)
    A = -0.5 * rng.uniform(0.2, 2.0, size=(H, N)) + 1j * np.pi * n
    dt = np.exp(rng.uniform(np.log(dt_lo), np.log(dt_hi), size=(H, 1)))
    W = rng.normal(size=(H, N)) + 1j * rng.normal(size=(H, N))
    return W, dt * A


@pytest.mark.parametrize("H,N,L", [(2, 1024, 600), (5, 63, 777), (3, 1, 1)])
def test_matches_float64_reference(H, N, L):
    rng = np.random.default_rng(N + L)
    W, z = s4d_params(rng, H, N)
    K = vandermonde(jnp.asarray(W), jnp.asarray(z), L)
    assert K.dtype == jnp.float64 and K.shape == (H, L)
    R = reference(W, z, L)
    scale = np.abs(W).sum(-1, keepdims=True)
    np.testing.assert_allclose(np.asarray(K) / scale, R / scale, atol=1e-12)


def test_tiles_and_chunks_agree():
    rng = np.random.default_rng(1)
    W, z = s4d_params(rng, 3, 11, 1e-3, 1e-1)
    R = reference(W, z, 301)
    for chunk, rows in [(None, 2), (7, 5), (1, None), (1000, 3)]:
        K = vandermonde(W, z, 301, chunk=chunk, tile_rows=rows)
        np.testing.assert_allclose(np.asarray(K), R, rtol=1e-10, atol=1e-10 * np.abs(W).sum())


def test_unstable_and_leading_dims():
    rng = np.random.default_rng(2)
    W = rng.normal(size=(2, 3, 5)) + 1j * rng.normal(size=(2, 3, 5))
    z = 1e-3 * rng.normal(size=(2, 3, 5)) + 1j * rng.normal(size=(2, 3, 5))  # Re z > 0 allowed
    np.testing.assert_allclose(
        np.asarray(vandermonde(W, z, 50)), reference(W, z, 50), rtol=1e-10, atol=1e-10
    )
    # 1-D input (a single channel)
    np.testing.assert_allclose(
        np.asarray(vandermonde(W[0, 0], z[0, 0], 50)),
        reference(W[0, 0], z[0, 0], 50),
        rtol=1e-10,
        atol=1e-10,
    )


def test_float32_long_sequence():
    """float32 at L = 65536 against float64 NumPy on the same (rounded) inputs."""
    rng = np.random.default_rng(3)
    W, z = s4d_params(rng, 2, 64, 1e-4, 1e-2)
    W32, z32 = W.astype(np.complex64), z.astype(np.complex64)
    K = vandermonde(jnp.asarray(W32), jnp.asarray(z32), 65536)
    assert K.dtype == jnp.float32
    R = reference(W32, z32, 65536)
    err = np.abs(np.asarray(K, np.float64) - R).max() / np.abs(W32).sum(-1).max()
    assert err < 2e-5, err


def test_split_equals_complex():
    rng = np.random.default_rng(4)
    W, z = s4d_params(rng, 2, 5, 1e-2, 1e-1)
    a = vandermonde(W, z, 40)
    b = jax.jit(vandermonde_split, static_argnums=4)(W.real, W.imag, z.real, z.imag, 40)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-14, atol=1e-14)


def test_gradients():
    rng = np.random.default_rng(5)
    W, z = s4d_params(rng, 2, 5, 1e-2, 3e-1)
    W, z = jnp.asarray(W), jnp.asarray(z)
    f = lambda W, z: vandermonde(W, z, 37, chunk=4, tile_rows=3)  # several tiles and padding
    check_grads(f, (W, z), order=1, modes=["rev"], atol=1e-6, rtol=1e-6, eps=1e-6)
    loss = lambda fn: lambda W, z: jnp.sum(jnp.sin(fn(W, z)))
    g = jax.jit(jax.grad(loss(f), argnums=(0, 1)))(W, z)
    g_naive = jax.jit(jax.grad(loss(lambda W, z: vandermonde_naive(W, z, 37)), argnums=(0, 1)))(
        W, z
    )
    for a, b in zip(g, g_naive, strict=False):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-10)
    # split form: gradients with respect to the real parts
    fs = jax.jit(lambda a, b, c, d: vandermonde_split(a, b, c, d, 21))
    check_grads(
        fs, (W.real, W.imag, z.real, z.imag), order=1, modes=["rev"], atol=1e-6, rtol=1e-6, eps=1e-6
    )


def test_jit_vmap_consistency():
    rng = np.random.default_rng(6)
    W, z = s4d_params(rng, 4, 6, 1e-3, 1e-1)
    jitted = vandermonde(W, z, 33)
    eager = _vandermonde(W, z, 33)
    vmapped = jax.vmap(lambda w, zz: vandermonde(w, zz, 33))(jnp.asarray(W), jnp.asarray(z))
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(eager), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(np.asarray(vmapped), np.asarray(eager), rtol=1e-13, atol=1e-13)
    gv = jax.vmap(jax.grad(lambda w, zz: jnp.sum(vandermonde(w, zz, 33) ** 2), argnums=(0, 1)))(
        jnp.asarray(W), jnp.asarray(z)
    )
    gf = jax.grad(lambda w, zz: jnp.sum(vandermonde(w, zz, 33) ** 2), argnums=(0, 1))(
        jnp.asarray(W), jnp.asarray(z)
    )
    for a, b in zip(gv, gf, strict=False):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-12)


def test_jvp_and_hessian_match_naive_and_finite_differences():
    """Forward mode, reverse mode and the Hessian through the custom JVP, against the naive kernel
    (plain autodiff of the materialised exponentials) and central differences, float64."""
    rng = np.random.default_rng(7)
    W, z = s4d_params(rng, 2, 3, 1e-2, 3e-1)
    W, z = jnp.asarray(W), jnp.asarray(z)
    dW = jnp.asarray(rng.normal(size=W.shape) + 1j * rng.normal(size=W.shape))
    dz = jnp.asarray(rng.normal(size=z.shape) + 1j * rng.normal(size=z.shape))
    # several tiles and padding
    f = jax.jit(lambda W, z: _vandermonde(W, z, 29, chunk=4, tile_rows=2))
    fn = lambda W, z: vandermonde_naive(W, z, 29)
    K, dK = jax.jit(lambda *a: jax.jvp(f, a[:2], a[2:]))(W, z, dW, dz)
    _, dK_naive = jax.jvp(fn, (W, z), (dW, dz))
    np.testing.assert_allclose(np.asarray(dK), np.asarray(dK_naive), rtol=1e-11, atol=1e-11)
    h = 1e-6
    fd = (f(W + h * dW, z + h * dz) - f(W - h * dW, z - h * dz)) / (2 * h)
    np.testing.assert_allclose(np.asarray(dK), np.asarray(fd), rtol=1e-6, atol=1e-6)
    check_grads(f, (W, z), order=1, modes=["fwd", "rev"], atol=1e-6, rtol=1e-6, eps=1e-6)

    # Hessian of a scalar loss in the real parameters (Re W, Im W, Re z, Im z)
    def loss(kernel):
        def g(theta):
            a, b, c, d = theta.reshape(4, *W.shape)
            return jnp.sum(jnp.sin(kernel(a + 1j * b, c + 1j * d)))

        return g

    theta = jnp.concatenate([W.real.ravel(), W.imag.ravel(), z.real.ravel(), z.imag.ravel()])
    Hs = jax.jit(jax.hessian(loss(f)))(theta)
    Hn = jax.jit(jax.hessian(loss(fn)))(theta)
    np.testing.assert_allclose(np.asarray(Hs), np.asarray(Hn), rtol=1e-9, atol=1e-9)
    gfd = jax.jit(jax.grad(loss(f)))
    eye = np.eye(theta.size)
    H_fd = np.stack([(gfd(theta + h * e) - gfd(theta - h * e)) / (2 * h) for e in eye])
    np.testing.assert_allclose(np.asarray(Hs), H_fd, rtol=1e-5, atol=1e-5)


def _max_intermediate(jaxpr) -> int:
    """The largest number of elements of any value in a jaxpr, sub-jaxprs (scan, checkpoint, ...) included."""
    best = 0
    for eqn in jaxpr.eqns:
        for v in eqn.outvars:
            best = max(best, math.prod(getattr(v.aval, "shape", ())))
        for p in eqn.params.values():
            for sub in p if isinstance(p, (tuple, list)) else (p,):
                if isinstance(sub, jex_core.ClosedJaxpr):
                    best = max(best, _max_intermediate(sub.jaxpr))
                elif isinstance(sub, jex_core.Jaxpr):
                    best = max(best, _max_intermediate(sub))
    return best


def _peak_bytes(fn, H, N, L):
    spec = jax.ShapeDtypeStruct((H, N), jnp.complex64)
    m = jax.jit(fn).lower(spec, spec).compile().memory_analysis()
    return m.temp_size_in_bytes + m.output_size_in_bytes + m.argument_size_in_bytes


def test_memory_does_not_grow_like_N_times_L():
    H, N, L = 64, 1024, 65536
    fwd = lambda L: lambda W, z: vandermonde(W, z, L)
    rev = lambda L: jax.grad(lambda W, z: jnp.sum(vandermonde(W, z, L) ** 2), argnums=(0, 1))
    jvp = lambda L: lambda W, z: jax.jvp(fwd(L), (W, z), (W, z))[1]
    hvp = lambda L: lambda W, z: jax.jvp(lambda zz: rev(L)(W, zz)[1], (z,), (z,))[1]
    naive_bytes = H * N * L * 8  # one complex64 (H, N, L) array: 34 GB
    spec = jax.ShapeDtypeStruct((H, N), jnp.complex64)
    for make in (fwd, rev, jvp, hvp):
        assert _peak_bytes(make(L), H, N, L) < naive_bytes / 50
        # no value anywhere in the program (forward, tangent, transpose, second order) is (H, N, L)-sized
        assert _max_intermediate(jax.make_jaxpr(make(L))(spec, spec).jaxpr) < H * N * L / 100
    # 4x N and 4x L together: the naive kernel grows 16x, an O(H (N + L)) one about 4x
    a = _peak_bytes(fwd(16384), H, 256, 16384)
    b = _peak_bytes(fwd(65536), H, 1024, 65536)
    assert b < 6 * a, (a, b)


def test_bad_input_names_argument():
    # shape and dtype mistakes are caught by the jaxtyping annotations under the test suite's hook
    # (TypeError naming the parameter) or by our own checks (ValueError/TypeError naming the argument)
    W = jnp.ones((2, 4), jnp.complex128)
    with pytest.raises(ValueError, match="`L`"):
        vandermonde(W, W, 0)
    with pytest.raises(TypeError, match="L"):
        vandermonde(W, W, 3.0)
    with pytest.raises((ValueError, TypeError), match="z"):
        vandermonde(W, W[:, :3], 5)
    with pytest.raises((ValueError, TypeError), match="W"):
        vandermonde(jnp.asarray(1.0 + 0j), jnp.asarray(1.0 + 0j), 5)
    with pytest.raises(ValueError, match="modes N"):
        vandermonde(jnp.ones((2, 0), jnp.complex128), jnp.ones((2, 0), jnp.complex128), 5)
    with pytest.raises(ValueError, match="`chunk`"):
        vandermonde(W, W, 5, chunk=0)
    with pytest.raises(TypeError, match="W_re"):
        vandermonde_split(W, W.real, W.real, W.real, 5)
