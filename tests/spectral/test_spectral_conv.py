"""spectral_conv: direct-DFT float64 reference (1D/2D/3D, odd/even, C_in != C_out, resampling), both
methods, Hermitian correctness, band-limited super-resolution, gradients, jit/vmap, float32, bad input."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

from jaxsci.spectral import num_blocks, spectral_conv

# jitted once per static configuration: far cheaper in tests than op-by-op dispatch
conv = jax.jit(spectral_conv, static_argnames=("modes", "out_shape", "method"))


def reference(x, w_re, w_im, modes, out_shape=None):
    """float64 NumPy: full DFT by dense matrices, per-mode complex weights, synthesis by explicit sums.

    y(s) = Re sum_{retained k} c_k Yhat_k exp(2 pi i k.s), c = 1 for the input's DC/Nyquist bins on
    the last axis, 2 otherwise; s = j / n_out.
    """
    x = np.asarray(x, np.float64)
    spatial = x.shape[1:]
    d = len(spatial)
    out_shape = tuple(out_shape or spatial)
    W = np.asarray(w_re, np.float64) + 1j * np.asarray(w_im, np.float64)
    X = x.astype(complex)
    for a in range(d):
        n = spatial[a]
        F = np.exp(-2j * np.pi * np.outer(np.arange(n), np.arange(n)) / n) / n
        X = np.moveaxis(np.tensordot(X, F, axes=([1 + a], [1])), -1, 1 + a)
    c_out = W.shape[2]
    y = np.zeros((c_out, *out_shape))
    grids = np.meshgrid(*[np.arange(n) / n for n in out_shape], indexing="ij")
    nd = spatial[-1]
    for b, bits in enumerate(itertools.product((0, 1), repeat=d - 1)):
        for loc in itertools.product(*[range(m) for m in modes]):
            f = [loc[a] - (modes[a] if a < d - 1 and bits[a] else 0) for a in range(d)]
            idx = tuple(fa % n for fa, n in zip(f, spatial, strict=False))
            Yk = X[(slice(None), *idx)] @ W[(b, slice(None), slice(None), *loc)]
            c = 1.0 if (f[-1] == 0 or (nd % 2 == 0 and f[-1] == nd // 2)) else 2.0
            phase = np.exp(2j * np.pi * sum(fa * g for fa, g in zip(f, grids, strict=False)))
            y += c * np.real(Yk[:, None] * phase.reshape(1, -1)).reshape((c_out, *out_shape))
    return y


def _random(rng, c_in, c_out, spatial, modes):
    d = len(spatial)
    x = rng.standard_normal((c_in, *spatial))
    w_re = rng.standard_normal((num_blocks(d), c_in, c_out, *modes))
    w_im = rng.standard_normal(w_re.shape)
    return x, w_re, w_im


CASES = [
    # spatial, modes, out_shape
    ((8,), (5,), None),  # even, Nyquist retained
    ((9,), (5,), None),  # odd, all rfft bins
    ((8,), (5,), (16,)),  # super-resolution with the input Nyquist bin
    ((8, 6), (4, 4), None),  # even, negative block holds -n/2, last axis Nyquist
    ((7, 9), (3, 5), None),  # odd
    ((8, 6), (3, 4), (16, 12)),  # zero-padding
    ((8, 6), (3, 4), (6, 6)),  # truncation; output Nyquist is an interior input bin
    ((6, 5, 8), (2, 2, 5), None),  # 3D
    ((6, 5, 8), (3, 2, 3), (8, 10, 7)),  # 3D, mixed resampling
]


@pytest.mark.parametrize("spatial,modes,out_shape", CASES)
def test_against_direct_dft(spatial, modes, out_shape):
    rng = np.random.default_rng(len(spatial) * 100 + sum(spatial))
    x, w_re, w_im = _random(rng, 3, 2, spatial, modes)
    ref = reference(x, w_re, w_im, modes, out_shape)
    for method in ("fft", "dft"):
        y = conv(x, w_re, w_im, modes, out_shape=out_shape, method=method)
        assert y.dtype == jnp.float64
        assert y.shape == ref.shape
        np.testing.assert_allclose(np.asarray(y), ref, rtol=0, atol=1e-12 * np.abs(ref).max())


def test_modes_int_and_c_in_larger_than_c_out():
    rng = np.random.default_rng(1)
    x, w_re, w_im = _random(rng, 4, 1, (8, 8), (3, 3))
    np.testing.assert_allclose(conv(x, w_re, w_im, 3), reference(x, w_re, w_im, (3, 3)), atol=1e-12)


def test_single_mode_mapped_exactly_and_real():
    # x = cos(2 pi (k1 s1 + k2 s2) + phi) with k1 < 0 (negative block); weight = a e^{i theta} on that
    # mode only, identity on channels: output = a cos(2 pi k.s + phi + theta).
    n1, n2, m = 8, 10, (3, 4)
    s1, s2 = np.meshgrid(np.arange(n1) / n1, np.arange(n2) / n2, indexing="ij")
    k1, k2, phi, a, theta = -2, 3, 0.4, 1.7, -0.9
    x = np.cos(2 * np.pi * (k1 * s1 + k2 * s2) + phi)[None]
    w = np.zeros((2, 1, 1, *m), complex)
    w[1, 0, 0, k1 + m[0], k2] = a * np.exp(1j * theta)
    y = conv(x, w.real, w.imag, m)
    np.testing.assert_allclose(
        y[0], a * np.cos(2 * np.pi * (k1 * s1 + k2 * s2) + phi + theta), atol=1e-13
    )
    # A complex weight on the DC column must not produce a non-real or non-Hermitian output: the
    # imaginary part of a DC-column mode pair acts as the Hermitian projection irfft implies.
    rng = np.random.default_rng(2)
    x, w_re, w_im = _random(rng, 2, 2, (8, 8), (4, 5))
    y = conv(x, w_re, w_im, (4, 5))
    assert jnp.isrealobj(y)
    # y is the same as the real part of a full complex inverse of the Hermitian-symmetrised spectrum
    np.testing.assert_allclose(y, reference(x, w_re, w_im, (4, 5)), atol=1e-12)


def test_identity_weights_resample_band_limited_field_exactly():
    # A band-limited field (|k| < n/2 on the coarse grid) evaluated on a 2x and a 3x finer grid (and
    # an odd one) by identity weights equals the field sampled there: zero-padding with forward norm.
    def field(n1, n2):
        s1, s2 = np.meshgrid(np.arange(n1) / n1, np.arange(n2) / n2, indexing="ij")
        return (
            1.0
            + np.sin(2 * np.pi * (2 * s1 - 3 * s2))
            + 0.5 * np.cos(2 * np.pi * 3 * s1)
            + 0.25 * np.sin(2 * np.pi * (s1 + 4 * s2))
        )

    m = (4, 5)
    w_re = np.zeros((2, 1, 1, *m))
    w_re[:, 0, 0] = 1.0
    w_im = np.zeros_like(w_re)
    x = field(8, 10)[None]
    for out in [(16, 20), (24, 30), (9, 11), (8, 10)]:
        y = conv(x, w_re, w_im, m, out_shape=out)
        np.testing.assert_allclose(y[0], field(*out), atol=1e-12)
    # the input's Nyquist content (cos(pi n s)) is carried as that cosine on the finer grid, so the
    # coarse points of the fine output reproduce the input exactly when all modes are kept
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 8, 8))
    m = (4, 5)
    w_re = np.zeros((2, 1, 1, *m))
    w_re[:, 0, 0] = 1.0
    y = conv(x, w_re, np.zeros_like(w_re), m, out_shape=(16, 16))
    # every frequency on the non-last axis is kept (-4..3), all 5 rfft bins on the last one
    np.testing.assert_allclose(y[0, ::2, ::2], x[0], atol=1e-12)


def test_jit_vmap_consistency():
    rng = np.random.default_rng(4)
    xs = rng.standard_normal((3, 2, 8, 8))
    _, w_re, w_im = _random(rng, 2, 3, (8, 8), (3, 4))
    f = jax.jit(jax.vmap(lambda x: conv(x, w_re, w_im, (3, 4))))
    batched = f(xs)
    for i in range(3):
        np.testing.assert_allclose(batched[i], spectral_conv(xs[i], w_re, w_im, (3, 4)), atol=1e-13)


def test_gradients_wrt_x_and_weights():
    rng = np.random.default_rng(5)
    x, w_re, w_im = _random(rng, 2, 2, (6, 5), (2, 3))
    for method in ("fft", "dft"):
        # jitted so each finite-difference evaluation is one compiled call, not op-by-op dispatch
        f = jax.jit(lambda x, a, b, method=method: spectral_conv(x, a, b, (2, 3), method=method))
        check_grads(f, (x, w_re, w_im), order=1, modes=("fwd", "rev"), atol=1e-6, rtol=1e-6)
    # 1D with resampling, reverse mode (the transpose of the zero-padding assembly)
    x, w_re, w_im = _random(rng, 2, 1, (8,), (5,))
    check_grads(
        jax.jit(lambda x, a, b: spectral_conv(x, a, b, (5,), out_shape=(12,))),
        (x, w_re, w_im),
        order=1,
        modes=("rev",),
        atol=1e-6,
        rtol=1e-6,
    )


def test_linear_transpose_is_the_adjoint():
    # spectral_conv is linear in x: jax.linear_transpose works and satisfies <ct, A x> = <A^T ct, x>
    rng = np.random.default_rng(9)
    x, w_re, w_im = _random(rng, 2, 3, (8, 6), (3, 4))
    ct = rng.standard_normal((3, 12, 10))
    for method in ("fft", "dft"):
        f = lambda v, method=method: spectral_conv(
            v, w_re, w_im, (3, 4), out_shape=(12, 10), method=method
        )
        (xt,) = jax.jit(jax.linear_transpose(f, x))(ct)
        np.testing.assert_allclose(np.vdot(ct, jax.jit(f)(x)), np.vdot(xt, x), rtol=1e-12)


def test_float32():
    rng = np.random.default_rng(6)
    x, w_re, w_im = _random(rng, 3, 2, (16, 12), (5, 4))
    ref = reference(x, w_re, w_im, (5, 4))
    for method in ("fft", "dft"):
        y = conv(
            x.astype(np.float32),
            w_re.astype(np.float32),
            w_im.astype(np.float32),
            (5, 4),
            method=method,
        )
        assert y.dtype == jnp.float32
        np.testing.assert_allclose(y, ref, atol=2e-5 * np.abs(ref).max())


def test_half_precision_inputs():
    rng = np.random.default_rng(8)
    x, w_re, w_im = _random(rng, 2, 2, (8, 8), (3, 3))
    ref = reference(x, w_re, w_im, (3, 3))
    for method in ("fft", "dft"):
        y = conv(
            jnp.asarray(x, jnp.bfloat16),
            jnp.asarray(w_re, jnp.bfloat16),
            jnp.asarray(w_im, jnp.bfloat16),
            (3, 3),
            method=method,
        )
        assert y.dtype == jnp.bfloat16
        np.testing.assert_allclose(np.asarray(y, np.float32), ref, atol=0.05 * np.abs(ref).max())


def test_bad_inputs_name_the_argument():
    rng = np.random.default_rng(7)
    x, w_re, w_im = _random(rng, 2, 2, (8, 8), (3, 3))
    with pytest.raises(ValueError, match="modes"):
        spectral_conv(x, w_re, w_im, (5, 3))  # 5 > 8 // 2
    big = np.zeros((2, 2, 2, 3, 6))
    with pytest.raises(ValueError, match="modes"):
        spectral_conv(x, big, big, (3, 6))  # 6 > 8 // 2 + 1
    with pytest.raises(ValueError, match="out_shape"):
        spectral_conv(x, w_re, w_im, (3, 3), out_shape=(4, 8))
    with pytest.raises(ValueError, match="out_shape"):
        spectral_conv(x, w_re, w_im, (3, 3), out_shape=(8,))
    with pytest.raises(ValueError, match="w_re"):
        spectral_conv(x, w_re[:1], w_im[:1], (3, 3))  # one block instead of two
    # shape mismatches the annotations express are caught by the type checker when it runs
    with pytest.raises((ValueError, TypeError), match="w_re"):
        spectral_conv(x[:1], w_re, w_im, (3, 3))  # C_in mismatch
    with pytest.raises((ValueError, TypeError), match="w_re|w_im"):
        spectral_conv(x, w_re, w_im[..., :2], (3, 3))
    with pytest.raises((ValueError, TypeError), match="`x`|w_re"):
        spectral_conv(x[0, 0], w_re, w_im, (3, 3))  # no channel axis (c_in = 8 then mismatches)
    with pytest.raises(ValueError, match="modes"):
        spectral_conv(x, w_re, w_im, (3, 3, 3))  # wrong number of modes for a 2D field
    with pytest.raises(TypeError, match="w_re"):
        spectral_conv(x, w_re.astype(complex), w_im, (3, 3))
    with pytest.raises(ValueError, match="method"):
        spectral_conv(x, w_re, w_im, (3, 3), method="matmul")


def test_peak_memory_is_linear_in_the_field():
    # docstring: O(C_in N + C_out N_out + 2^(d-1)(C_in + C_out) M) temporaries; no dense per-mode weight
    # or full-spectrum contraction is materialised (XLA's compiled memory analysis, float32)
    c, n, m = 8, 64, 8
    x = jnp.zeros((c, n, n), jnp.float32)
    w = jnp.zeros((2, c, c, m, m), jnp.float32)
    for method in ("fft", "dft"):
        compiled = (
            jax.jit(lambda x, a, b, method=method: spectral_conv(x, a, b, (m, m), method=method))
            .trace(x, w, w)
            .lower()
            .compile()
        )
        analysis = compiled.memory_analysis()
        if analysis is None:  # pragma: no cover - backend without memory analysis
            pytest.skip("no memory analysis on this backend")
        # rfft spectrum + output spectrum, each ~ (n/2+1)/n * 2 * field bytes
        assert analysis.temp_size_in_bytes <= 4 * x.nbytes, (method, analysis.temp_size_in_bytes)


@st.composite
def _conv_case(draw):
    d = draw(st.integers(1, 3))
    spatial = tuple(draw(st.integers(2, 7)) for _ in range(d))
    modes = tuple(
        draw(st.integers(1, n // 2 + 1 if a == d - 1 else max(n // 2, 1)))
        for a, n in enumerate(spatial)
    )
    if any(m > n // 2 for m, n in zip(modes[:-1], spatial[:-1], strict=False)):
        spatial = (
            tuple(max(n, 2 * m) for n, m in zip(spatial[:-1], modes[:-1], strict=False))
            + spatial[-1:]
        )
    out = draw(
        st.one_of(
            st.none(),
            st.tuples(
                *[
                    st.integers(2 * m if a < d - 1 else max(2 * m - 2, 1), 9)
                    for a, m in enumerate(modes)
                ]
            ),
        )
    )
    return spatial, modes, out, draw(st.integers(1, 3)), draw(st.integers(1, 3))


@settings(max_examples=4, deadline=None, derandomize=True)
@given(_conv_case())
def test_property_random_shapes_match_reference(case):
    # odd/even grids, modes up to the limits, random output resolutions, any C_in/C_out
    spatial, modes, out_shape, c_in, c_out = case
    rng = np.random.default_rng(0)
    x, w_re, w_im = _random(rng, c_in, c_out, spatial, modes)
    ref = reference(x, w_re, w_im, modes, out_shape)
    for method in ("fft", "dft"):
        y = conv(x, w_re, w_im, modes, out_shape=out_shape, method=method)
        np.testing.assert_allclose(np.asarray(y), ref, atol=1e-12 * max(np.abs(ref).max(), 1.0))
