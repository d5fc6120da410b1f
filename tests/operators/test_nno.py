"""Neural operators from standard architectures: the resolution-aware convolution and U-Net, the
kernel-integral attention, the input-output interpolation wrapper."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads
from scipy.signal import correlate2d

from jaxsci.operators import (
    InterpolatedOperator,
    KernelIntegralAttention,
    ResolutionAwareConv,
    ResolutionAwareUNet,
)


def _smooth(n, channels=2):
    """A smooth field on the node grid x_i = i/(n-1) that vanishes to second order at the boundary."""
    x = np.linspace(0, 1, n)
    X, Y = np.meshgrid(x, x, indexing="ij")
    bump = np.sin(np.pi * X) ** 2 * np.sin(np.pi * Y) ** 2
    fields = [bump * np.cos(2 * np.pi * X), bump * np.sin(np.pi * (X + 2 * Y))]
    return np.stack(fields[:channels])


@pytest.mark.parametrize("interpolation", ["cell", "linear"])
def test_resolution_aware_conv_is_an_ordinary_conv_at_the_base_grid(getkey, interpolation):
    conv = ResolutionAwareConv(
        2, 3, 5, base_resolution=17, interpolation=interpolation, key=getkey()
    )
    x = np.asarray(jax.random.normal(getkey(), (2, 17, 17)))
    w, b = np.asarray(conv.weight), np.asarray(conv.bias)
    ref = np.stack(
        [sum(correlate2d(x[i], w[o, i], mode="same") for i in range(2)) + b[o] for o in range(3)]
    )
    np.testing.assert_allclose(conv(x), ref, rtol=1e-12, atol=1e-12)
    k2 = np.asarray(conv.kernel((33, 33)))  # the grid refined twice
    if interpolation == "linear":  # s (k - 1) + 1 taps, the base taps divided by the area ratio
        assert k2.shape == (3, 2, 9, 9)
        np.testing.assert_allclose(k2[:, :, ::2, ::2], w / 4, rtol=1e-12)
    else:  # 2k + 1 taps over the same cells, the kernel's integral kept exactly
        assert k2.shape == (3, 2, 11, 11)
        np.testing.assert_allclose(k2.sum((2, 3)), w.sum((2, 3)), rtol=1e-12)
        np.testing.assert_allclose(k2[:, :, 1::2, 1::2], w / 4, rtol=1e-12)


def test_resolution_aware_conv_converges_as_the_grid_refines(getkey):
    key = getkey()
    for interpolation, rate in (("cell", 3.0), ("linear", 1.7)):
        conv = ResolutionAwareConv(
            2, 1, 5, base_resolution=17, bias=False, interpolation=interpolation, key=key
        )
        out = {n: np.asarray(conv(_smooth(n))) for n in (17, 33, 65, 129)}
        ref = out[129][:, ::8, ::8]
        err = [
            np.abs(out[n][:, :: (n - 1) // 16, :: (n - 1) // 16] - ref).max() for n in (17, 33, 65)
        ]
        assert err[1] > rate * err[2], (interpolation, err)
        assert err[0] > err[1]
        if interpolation == "cell":  # the base grid is already close to the limit operator
            assert err[0] < 0.05 * np.abs(ref).max()
    # a periodic layout with circular padding
    pconv = ResolutionAwareConv(
        1, 1, 3, base_resolution=16, grid_layout="periodic", padding_mode="circular", key=getkey()
    )
    x = np.arange(64) / 64
    f = np.sin(2 * np.pi * x)[:, None] * np.cos(2 * np.pi * x)[None, :]
    fine, coarse = np.asarray(pconv(f[None])), np.asarray(pconv(f[None, ::4, ::4]))
    assert np.abs(fine[:, ::4, ::4] - coarse).max() < 0.05 * np.abs(coarse).max()


def test_resolution_aware_unet_is_one_operator_on_every_grid(getkey):
    model = ResolutionAwareUNet(
        2,
        1,
        base_resolution=17,
        width=4,
        channel_multipliers=(1, 2),
        kernel_size=3,
        projection_width=8,
        key=getkey(),
    )
    f = eqx.filter_jit(model)
    out = {n: np.asarray(f(_smooth(n))) for n in (17, 33, 65)}
    assert all(o.shape == (1, n, n) for n, o in out.items())
    # the outputs on nested grids converge: the differences at the common nodes shrink (about 5x)
    d = [np.abs(out[2 * n - 1][:, ::2, ::2] - out[n]).max() for n in (17, 33)]
    assert d[1] < 0.5 * d[0], d
    for hw in ((24, 40), (9, 9), (100, 31)):  # traced only: any grid, output on the input grid
        assert jax.eval_shape(model, jax.ShapeDtypeStruct((2, *hw), jnp.float64)).shape == (1, *hw)


def _softmax_attention(x, layer):
    """Multi-head softmax attention over the N points, in NumPy (float64)."""
    c = x.shape[0]
    h = layer.num_heads
    d = c // h
    flat = x.reshape(c, -1)
    lin = lambda m, z: np.asarray(m.weight) @ z + np.asarray(m.bias)[:, None]
    q, k, v = (lin(m, flat).reshape(h, d, -1) for m in (layer.query, layer.key_proj, layer.value))
    logits = np.einsum("hdi,hdj->hij", q, k) / np.sqrt(d)
    logits -= logits.max(-1, keepdims=True)
    a = np.exp(logits)
    a /= a.sum(-1, keepdims=True)
    y = np.einsum("hij,hdj->hdi", a, v).reshape(c, -1)
    return lin(layer.out, y).reshape(x.shape)


def test_kernel_integral_attention_is_softmax_attention_with_uniform_weights(getkey):
    layer = KernelIntegralAttention(4, num_heads=2, key=getkey())
    x = np.asarray(jax.random.normal(getkey(), (4, 5, 6)))
    ref = _softmax_attention(x, layer)
    np.testing.assert_allclose(layer(x), ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer(x, weights=np.full((5, 6), 3.0)), ref, rtol=1e-10, atol=1e-12)
    # 1D sequences and gradients
    seq = jax.random.normal(getkey(), (4, 7))
    check_grads(jax.jit(lambda z: layer(z, weights="trapezoid")), (seq,), order=1, modes=("rev",))
    with pytest.raises(ValueError, match="`weights`"):
        layer(x, weights=np.ones((5, 5)))
    with pytest.raises(ValueError, match="`x`"):
        layer(np.ones((3, 5, 6)))
    with pytest.raises(ValueError, match="`channels`"):
        KernelIntegralAttention(6, num_heads=4, key=getkey())


def test_kernel_integral_attention_converges_with_trapezoid_weights(getkey):
    layer = KernelIntegralAttention(2, num_heads=1, key=getkey())
    out = {n: np.asarray(layer(_smooth(n), weights="trapezoid")) for n in (9, 17, 33)}
    ref = out[33][:, ::4, ::4]
    err = [np.abs(out[n][:, :: (n - 1) // 8, :: (n - 1) // 8] - ref).max() for n in (9, 17)]
    # the trapezoid rule: second order (against the 33 grid the ratio would be 5; measured ~17)
    assert err[0] > 3.0 * err[1], err
    uniform = {n: np.asarray(layer(_smooth(n))) for n in (9, 17)}
    assert (
        np.abs(uniform[17][:, ::2, ::2] - uniform[9]).max() > 0
    )  # uniform weights: grid-dependent


def test_interpolated_operator(getkey):
    conv = ResolutionAwareConv(2, 1, 3, base_resolution=17, key=getkey())
    plain = lambda x, key=None: conv(x)
    wrapped = InterpolatedOperator(plain, 17)
    x = _smooth(17)
    np.testing.assert_array_equal(wrapped(x), conv(x))  # exactly the model at its resolution
    fine = wrapped(_smooth(33))
    assert fine.shape == (1, 33, 33)
    np.testing.assert_allclose(fine[:, ::2, ::2], conv(x), rtol=1e-12, atol=1e-12)  # nested grids
    assert InterpolatedOperator(plain, (17, 9))(_smooth(33)).shape == (1, 33, 33)
    with pytest.raises(ValueError, match="`x`"):
        InterpolatedOperator(plain, (17, 17))(np.ones((2, 9, 9, 9)))
    with pytest.raises(TypeError, match="`model`|'model'"):
        InterpolatedOperator(3, 17)
