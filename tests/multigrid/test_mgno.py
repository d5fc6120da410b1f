"""MgNO: shapes at several resolutions (odd included), parameter count, padding modes, transfers, grads,
ensembles under filter_vmap, the dtype rule, the required training grid."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxsci.multigrid import MgNO
from jaxsci.multigrid._mgno import MgConv, _conv, _prolong, mgno_num_parameters

ITS = ((1, 1), (1, 0), (2, 0))  # 3 levels, one post-smoothing step on the finest


def _count(model):
    return sum(x.size for x in jax.tree.leaves(eqx.filter(model, eqx.is_inexact_array)))


@pytest.fixture(scope="module")
def small():
    return MgNO(
        2, 1, width=4, num_layers=1, num_iterations=ITS, grid_shape=None, key=jax.random.key(0)
    )


_apply = eqx.filter_jit(lambda m, x: m(x))


def test_darcy_configuration_has_the_papers_parameter_count():
    # width 24, 4 layers, 6 levels: the paper's Darcy model
    model = MgNO(1, 1, grid_shape=(64, 64), key=jax.random.key(0))
    assert _count(model) == mgno_num_parameters(1, 1) == 572_661


@pytest.mark.parametrize("nd,use_res", [(1, True), (2, False), (3, True)])
def test_parameter_formula(nd, use_res):
    kw = dict(width=3, num_layers=2, num_iterations=ITS, num_spatial_dims=nd, use_res=use_res)
    model = MgNO(2, 3, grid_shape=None, key=jax.random.key(1), **kw)
    assert _count(model) == mgno_num_parameters(2, 3, **kw)


def test_shapes_at_several_resolutions(small):
    for shape in [(16, 16), (17, 11)]:  # even and odd sizes (restriction n -> ceil(n/2), crop back)
        x = jax.random.normal(jax.random.key(2), (2, *shape))
        y = _apply(small, x)
        assert y.shape == (1, *shape)
        assert bool(jnp.all(jnp.isfinite(y)))


def test_vmap_and_jit_match_single_sample(small):
    xs = jax.random.normal(jax.random.key(4), (2, 2, 16, 16))
    batched = eqx.filter_jit(lambda m, x: jax.vmap(m)(x))(small, xs)
    for i in range(2):
        np.testing.assert_allclose(batched[i], _apply(small, xs[i]), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "edge", "circular"])
def test_vcycle_is_linear(mode):
    conv = MgConv(
        2, 3, ITS, num_spatial_dims=1, padding_mode=mode, use_res=True, key=jax.random.key(5)
    )
    f, g = jax.random.normal(jax.random.key(6), (2, 2, 11))
    np.testing.assert_allclose(conv(2.0 * f - g), 2.0 * conv(f) - conv(g), rtol=1e-10, atol=1e-10)


def test_circular_padding_is_shift_equivariant():
    """Periodic boundary: shifting the input by a multiple of 2^(levels-1) shifts the output."""
    kw = dict(
        width=3,
        num_layers=2,
        num_iterations=ITS,
        num_spatial_dims=1,
        grid_shape=(16,),
        key=jax.random.key(7),
    )
    model = MgNO(1, 2, padding_mode="circular", **kw)
    x = jax.random.normal(jax.random.key(8), (1, 16))
    assert model(x).shape == (2, 16)
    np.testing.assert_allclose(
        model(jnp.roll(x, -8, axis=1)), jnp.roll(model(x), -8, axis=1), atol=1e-12
    )
    zeros = MgNO(1, 2, padding_mode="zeros", **kw)
    assert not np.allclose(zeros(jnp.roll(x, 4, axis=1)), jnp.roll(zeros(x), 4, axis=1))


def test_use_res_restricts_the_residual():
    a = MgConv(1, 2, ITS, num_spatial_dims=1, use_res=False, key=jax.random.key(9))
    b = MgConv(1, 2, ITS, num_spatial_dims=1, use_res=True, key=jax.random.key(9))
    assert len(b.residual_op) == 2 and not a.residual_op
    x = jnp.ones((1, 8))
    assert not np.allclose(a(x), b(x))


def test_convolutions_match_numpy_references():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 9))
    w = rng.standard_normal((3, 2, 3))
    # zero-padded 3-point correlation, stride 1 and stride 2 (n -> ceil(n/2))
    xp = np.pad(x, ((0, 0), (1, 1)))
    ref = np.einsum("oik,ink->on", w, np.stack([xp[:, j : j + 3] for j in range(9)], axis=1))
    np.testing.assert_allclose(_conv(jnp.asarray(x), jnp.asarray(w), "zeros"), ref, atol=1e-12)
    np.testing.assert_allclose(
        _conv(jnp.asarray(x), jnp.asarray(w), "zeros", 2), ref[:, ::2], atol=1e-12
    )
    # prolongation = PyTorch ConvTranspose1d(k=4, stride=2, padding=1) with the flipped kernel, m -> 2m
    wt = rng.standard_normal((3, 2, 4))  # (out, in, k) used as a correlation kernel
    m = 5
    xc = rng.standard_normal((2, m))
    full = np.zeros((3, 2 * m + 2))
    for i in range(m):
        for k in range(4):
            full[:, 2 * i + k] += wt[:, :, 3 - k] @ xc[:, i]
    ref_t = full[:, 1 : 1 + 2 * m]  # PyTorch padding=1 crops one entry on each side
    np.testing.assert_allclose(
        _prolong(jnp.asarray(xc), jnp.asarray(wt), "zeros", (2 * m,)), ref_t, atol=1e-12
    )
    np.testing.assert_allclose(
        _prolong(jnp.asarray(xc), jnp.asarray(wt), "zeros", (2 * m - 1,)), ref_t[:, :-1], atol=1e-12
    )


def test_gradients_are_finite_and_match_finite_differences():
    model = MgNO(
        1,
        1,
        width=2,
        num_layers=1,
        num_iterations=((1, 0), (1, 0)),
        num_spatial_dims=1,
        padding_mode="reflect",
        grid_shape=(8,),
        key=jax.random.key(10),
    )
    x = jax.random.normal(jax.random.key(11), (1, 8))
    check_grads(lambda x: jnp.sum(model(x) ** 2), (x,), order=1, modes=["rev"])
    grads = eqx.filter_grad(lambda m: jnp.sum(m(x) ** 2))(model)
    leaves = jax.tree.leaves(grads)
    assert leaves and all(bool(jnp.all(jnp.isfinite(g))) for g in leaves)
    assert any(float(jnp.abs(g).max()) > 0 for g in leaves)


def test_bad_inputs_name_the_argument(small):
    with pytest.raises(ValueError, match="padding_mode"):
        MgNO(1, 1, padding_mode="mirror", grid_shape=None, key=jax.random.key(0))
    with pytest.raises(ValueError, match="width"):
        MgNO(1, 1, width=0, grid_shape=None, key=jax.random.key(0))
    with pytest.raises(ValueError, match="num_iterations"):
        MgNO(1, 1, num_iterations=((0, 1),), grid_shape=None, key=jax.random.key(0))
    with pytest.raises(ValueError, match="num_spatial_dims"):
        MgNO(1, 1, num_spatial_dims=4, grid_shape=None, key=jax.random.key(0))
    with pytest.raises(ValueError, match="`x`"):
        small(jnp.ones((3, 8, 8)))


@pytest.mark.parametrize("mode", ["zeros", "circular"])
def test_subpixel_prolongation_matches_the_input_dilated_convolution(mode):
    from jaxsci.multigrid._mgno import _pad

    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.standard_normal((2, 4, 3)))
    w = jnp.asarray(rng.standard_normal((3, 2, 4, 4)))
    ref = jax.lax.conv_general_dilated(
        _pad(x, 1, mode)[None], w, (1, 1), [(0, 0)] * 2, lhs_dilation=(2, 2)
    )[0][:, :7, :5]
    np.testing.assert_allclose(_prolong(x, w, mode, (7, 5)), ref, atol=1e-12)


def test_grid_shape_anchors_the_vcycles_to_the_training_grid():
    """On a nested finer grid (2s - 1 nodes), a grid-anchored MgNO reproduces, at the training grid's
    nodes, its own output on the injected input; on the training grid it is the plain model."""
    kw = dict(width=3, num_layers=2, num_iterations=ITS, key=jax.random.key(12))
    plain = MgNO(1, 2, grid_shape=None, **kw)
    anchored = MgNO(1, 2, grid_shape=(9, 8), **kw)
    coarse = jax.random.normal(jax.random.key(13), (1, 9, 8))
    np.testing.assert_array_equal(_apply(anchored, coarse), _apply(plain, coarse))
    fine = jax.random.normal(jax.random.key(14), (1, 17, 15))
    fine = fine.at[:, ::2, ::2].set(coarse)
    y = _apply(anchored, fine)
    assert y.shape == (2, 17, 15)
    np.testing.assert_allclose(y[:, ::2, ::2], _apply(plain, coarse), rtol=1e-12, atol=1e-12)
    # the fine nodes in between still see the fine input through the pointwise path
    moved = _apply(anchored, fine.at[0, 1, 1].add(1.0))
    assert float(jnp.abs(moved - y).max()) > 0 and np.allclose(moved[:, ::2, ::2], y[:, ::2, ::2])
    # the plain V-cycles on the fine grid compute a different operator
    assert not np.allclose(_apply(plain, fine)[:, ::2, ::2], y[:, ::2, ::2], atol=1e-3)
    # switching on a trained model shares the weights
    switched = plain.with_grid_shape((9, 8))
    assert (
        switched.grid_shape == (9, 8) and switched.convs is plain.convs and plain.grid_shape is None
    )
    np.testing.assert_array_equal(_apply(switched, fine), y)
    np.testing.assert_array_equal(_apply(anchored.with_grid_shape(None), fine), _apply(plain, fine))


def test_grid_shape_periodic_and_gradients():
    kw = dict(
        width=3,
        num_layers=1,
        num_iterations=((1, 0), (2, 0)),
        num_spatial_dims=1,
        padding_mode="circular",
        key=jax.random.key(15),
    )
    model = MgNO(1, 1, grid_shape=(8,), **kw)
    x = jax.random.normal(jax.random.key(16), (1, 16))
    np.testing.assert_allclose(
        model(x)[:, ::2], MgNO(1, 1, grid_shape=None, **kw)(x[:, ::2]), rtol=1e-12, atol=1e-12
    )
    # periodic: shifting by 4 fine points (2 = 2^(levels-1) of the training grid) shifts the output
    np.testing.assert_allclose(
        model(jnp.roll(x, 4, axis=1)), jnp.roll(model(x), 4, axis=1), atol=1e-12
    )
    check_grads(lambda x: jnp.sum(model(x) ** 2), (x,), order=1, modes=["rev"])


def test_grid_shape_bad_inputs():
    with pytest.raises(ValueError, match="grid_shape"):
        MgNO(1, 1, grid_shape=(8,), key=jax.random.key(0))
    with pytest.raises(ValueError, match="grid_shape"):
        MgNO(1, 1, grid_shape=(8, 1), key=jax.random.key(0))
    with pytest.raises((ValueError, TypeError), match="grid_shape"):
        MgNO(1, 1, grid_shape=None, key=jax.random.key(0)).with_grid_shape(8)
    with pytest.raises(TypeError, match="grid_shape"):  # the training grid must be stated
        MgNO(1, 1, key=jax.random.key(0))


def test_ensembles_under_filter_vmap_and_jit():
    kw = dict(width=3, num_layers=2, num_iterations=ITS, grid_shape=(8, 8))
    keys = jax.random.split(jax.random.key(20), 3)
    make = lambda k: MgNO(1, 2, key=k, **kw)  # noqa: E731
    ensemble = eqx.filter_vmap(make)(keys)
    x = jax.random.normal(jax.random.key(21), (1, 8, 8))
    outs = eqx.filter_vmap(lambda m: m(x))(ensemble)
    assert outs.shape == (3, 2, 8, 8) and not np.allclose(outs[0], outs[1])
    for i in range(3):
        np.testing.assert_allclose(outs[i], make(keys[i])(x), rtol=1e-12, atol=1e-12)
    jitted = eqx.filter_jit(make)(keys[2])
    np.testing.assert_allclose(jitted(x), outs[2], rtol=1e-12, atol=1e-12)
    conv = eqx.filter_vmap(lambda k: MgConv(1, 2, ITS, key=k))(keys)
    assert conv.init_smoother.shape == (3, 2, 1, 3, 3)


def test_dtype_rule_and_integer_inputs():
    model = MgNO(
        1, 1, width=2, num_layers=1, num_iterations=ITS, grid_shape=None, key=jax.random.key(0)
    )
    assert model.projection.dtype == jnp.result_type(float)
    xi = jnp.arange(64).reshape(1, 8, 8)
    np.testing.assert_array_equal(model(xi), model(xi.astype(model.projection.dtype)))
    assert model(xi, key=jax.random.key(1)).shape == (1, 8, 8)
    f32 = MgNO(
        1,
        1,
        width=2,
        num_layers=1,
        num_iterations=ITS,
        grid_shape=None,
        dtype=jnp.float32,
        key=jax.random.key(0),
    )
    assert f32(xi).dtype == jnp.float32
