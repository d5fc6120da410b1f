"""jaxsci.operators.LSM and UNet: shapes, padding, the spectral block against a NumPy transcription of
the reference, vmapped initialisation, gradients, bad inputs."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsci
from jaxsci.operators import FNO, LSM, MgNO, UNet
from jaxsci.operators._lsm import _auto_padding, _SpectralBlock
from jaxsci.training import num_real_parameters

SMALL = dict(width=8, num_basis=3, num_tokens=2, num_heads=4, patch_size=2, projection_width=8)


def test_old_import_paths_are_the_same_classes():
    assert FNO is jaxsci.spectral.FNO
    assert MgNO is jaxsci.multigrid.MgNO


def test_auto_padding_matches_the_reference_settings():
    assert _auto_padding(85, 6) == 11  # Darcy: 85 + 11 = 96 = 6 * 16
    assert _auto_padding(64, 4) == 0  # Navier-Stokes: no padding
    assert _auto_padding(20, 1) == 0 and _auto_padding(10, 1) == 6  # the U-Net: >= 16 points


def test_output_shapes_at_several_resolutions(getkey):
    # traced, not compiled: the padding, scale and crop logic is all static (shape) code
    lsm = LSM(2, 3, key=getkey(), **SMALL)
    unet = UNet(2, 3, width=4, projection_width=8, key=getkey())
    for model, shapes in (
        (lsm, [(32, 32), (19, 27), (64, 48), (8, 8)]),  # 19 x 27 padded to 32 x 32
        (unet, [(21, 17), (16, 16), (40, 33), (5, 7)]),  # odd sizes; < 16 padded to 16
    ):
        for hw in shapes:
            out = jax.eval_shape(model, jax.ShapeDtypeStruct((2, *hw), jnp.float64))
            assert out.shape == (3, *hw) and out.dtype == jnp.float64, (type(model), hw)
    # the paper's Darcy model: 85 x 85 padded by 11 to 96, cropped back
    darcy = jax.eval_shape(lambda k: LSM(1, 1, key=k), jax.random.key(0))
    out = jax.eval_shape(lambda m, x: m(x), darcy, jax.ShapeDtypeStruct((1, 85, 85), jnp.float32))
    assert out.shape == (1, 85, 85)
    # one real run (one compilation): odd sizes, integer input
    assert eqx.filter_jit(unet)(jnp.ones((2, 21, 17), int)).shape == (3, 21, 17)


def _reference_block(x, blk):
    """A literal NumPy transcription of NeuralSpectralBlock2d.forward (batch of 1, float64)."""
    latent = np.asarray(blk.latent)
    heads, T, d = latent.shape
    C, H, W = x.shape
    p = blk.patch
    x = x[None].reshape(1, C, H // p, p, W // p, p).transpose(0, 2, 4, 1, 3, 5)
    B = (H // p) * (W // p)
    x = x.reshape(B, C, p, p)
    L = p * p

    def softmax(a):
        a = a - a.max(-1, keepdims=True)
        e = np.exp(a)
        return e / e.sum(-1, keepdims=True)

    def conv1x1(w, b, x):
        return np.einsum("oc,bchw->bohw", w, x) + b[None, :, None, None]

    # encoder
    lt = np.repeat(latent[None], B, 0)
    xt = conv1x1(np.asarray(blk.enc_w), np.asarray(blk.enc_b), x).reshape(B, 2 * C, L)
    xt = xt.transpose(0, 2, 1).reshape(B, L, heads, C // heads, 2).transpose(4, 0, 2, 1, 3)
    attn = softmax(np.einsum("bhlc,bhsc->bhls", lt, xt[0]))
    lt = np.einsum("bhls,bhsc->bhlc", attn, xt[1]) + lt
    lt = lt.transpose(0, 1, 3, 2).reshape(B, C, T)
    # transition
    nb = blk.num_basis
    modes = np.arange(nb) / nb
    basis = np.concatenate(
        [np.sin(modes * lt[..., None] * np.pi), np.cos(modes * lt[..., None] * np.pi)], -1
    )
    lt = np.einsum("bilm,im->bil", basis, np.asarray(blk.basis_weights)) + lt
    # decoder
    lt = lt.reshape(B, heads, C // heads, T).transpose(0, 1, 3, 2)
    xq = conv1x1(np.asarray(blk.dec_w), np.asarray(blk.dec_b), x).reshape(B, C, L)
    xq = xq.transpose(0, 2, 1).reshape(B, L, heads, C // heads).transpose(0, 2, 1, 3)
    attn = softmax(np.einsum("bhlc,bhsc->bhls", xq, lt))
    out = np.einsum("bhls,bhsc->bhlc", attn, lt)
    out = out.transpose(0, 1, 3, 2).reshape(B, C, p, p) + x
    out = out.reshape(1, H // p, W // p, C, p, p).transpose(0, 3, 1, 4, 2, 5).reshape(C, H, W)
    return out


def test_spectral_block_matches_the_reference_transcription(getkey):
    model = LSM(1, 1, key=getkey(), **SMALL)
    blk = model.core.blocks[1]
    assert isinstance(blk, _SpectralBlock)
    c = blk.enc_w.shape[1]
    x = np.asarray(jax.random.normal(getkey(), (c, 6, 4)))
    np.testing.assert_allclose(
        eqx.filter_jit(blk)(jnp.asarray(x)), _reference_block(x, blk), rtol=1e-10, atol=1e-12
    )
    # the initialisation of the reference: tokens and basis weights U(0, 1) / C
    assert 0 <= float(blk.latent.min()) and float(blk.latent.max()) <= 1 / c


def test_parameter_count_of_the_darcy_model():
    # LSM at the paper's Darcy defaults (width 64): counted without allocating
    shapes = jax.eval_shape(lambda k: LSM(1, 1, key=k), jax.random.key(0))
    n = num_real_parameters(shapes)
    assert 18_000_000 < n < 20_000_000, n


def test_init_under_filter_vmap_and_gradients(getkey):
    keys = jax.random.split(getkey(), 2)
    models = eqx.filter_vmap(lambda k: LSM(1, 1, key=k, **SMALL))(keys)
    assert models.core.lift.weight.shape[0] == 2
    single = LSM(1, 1, key=keys[1], **SMALL)
    for a, b in zip(jax.tree.leaves(models), jax.tree.leaves(single), strict=True):
        np.testing.assert_array_equal(a[1], b)
    assert not np.allclose(models.core.lift.weight[0], models.core.lift.weight[1])
    # the input gradient against a central difference (one compiled value_and_grad)
    tiny = dict(SMALL, width=4, num_heads=2, patch_size=1, projection_width=4)
    model = LSM(1, 1, key=getkey(), **tiny)
    vg = eqx.filter_jit(jax.value_and_grad(lambda z: jnp.sum(jnp.sin(model(z)))))
    z = jax.random.normal(getkey(), (1, 16, 16))
    dz = jax.random.normal(getkey(), z.shape)
    eps = 1e-5
    fd = (vg(z + eps * dz)[0] - vg(z - eps * dz)[0]) / (2 * eps)
    np.testing.assert_allclose(jnp.vdot(vg(z)[1], dz), fd, rtol=1e-6)


def test_bad_inputs_name_the_argument(getkey):
    key = getkey()
    model = LSM(1, 1, padding=0, key=key, **SMALL)
    with pytest.raises(ValueError, match="`padding`") as e:
        model(jnp.ones((1, 20, 20)))  # 20 -> 10 -> 5: not divisible by the 2 x 2 patch
    assert "`patch_size`" in str(e.value) and "`x`" in str(e.value)
    with pytest.raises(ValueError, match="`x`"):
        model(jnp.ones((2, 32, 32)))  # mismatched channels
    with pytest.raises((ValueError, TypeError), match="`x`|'x'"):
        model(jnp.ones((32, 32)))
    with pytest.raises(ValueError, match="`width`"):
        LSM(1, 1, width=6, num_heads=4, key=key)
    with pytest.raises(ValueError, match="`padding`"):
        UNet(1, 1, padding=-1, key=key)
