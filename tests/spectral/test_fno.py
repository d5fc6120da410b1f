"""FNO and SpectralConv modules: shapes at two resolutions, 1D/2D/3D, finite gradients, parameter count
formula, resolution transfer of a band-limited layer, padding, jit/vmap, ensembles under filter_vmap,
the dtype rule, grid layouts, bad input."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxsci.spectral import FNO, SpectralConv, grid_coordinates, spectral_conv
from jaxsci.training import num_real_parameters


def _count(c_in, c_out, d, width, depth, proj, modes, grid=True):
    c = c_in + (d if grid else 0)
    M = int(np.prod(modes))
    return (
        (c + 1) * width
        + depth * (2 * 2 ** (d - 1) * width**2 * M + width**2 + width)
        + (width + 1) * proj
        + (proj + 1) * c_out
    )


def test_parameter_count_formula_and_darcy_reference(getkey):
    for modes, grid in [((4,), True), ((3, 4), False), ((2, 2, 3), True)]:
        d = len(modes)
        m = FNO(
            2,
            3,
            modes=modes,
            width=5,
            depth=2,
            projection_width=7,
            grid_features=grid,
            key=getkey(),
        )
        assert num_real_parameters(m) == _count(2, 3, d, 5, 2, 7, modes, grid)
    # the FNO paper's Darcy model (width 32, 12x12 modes, 4 layers, 128 projection, (x, y) features):
    # 2,368,001 real scalars (the papers' count_params; torch numel would give 1,188,353)
    darcy = jax.eval_shape(
        lambda k: FNO(1, 1, modes=(12, 12), width=32, depth=4, projection_width=128, key=k),
        jax.random.key(0),
    )
    assert num_real_parameters(darcy) == 2_368_001
    # a complex leaf counts twice
    assert num_real_parameters({"w": jnp.zeros(3, jnp.complex64), "b": jnp.zeros(2)}) == 8


def test_forward_two_resolutions_and_gradient(getkey):
    model = FNO(
        1, 2, modes=(4, 4), width=8, depth=2, projection_width=16, dtype=jnp.float32, key=getkey()
    )
    x16 = jax.random.normal(getkey(), (1, 16, 16), jnp.float32)
    call = eqx.filter_jit(lambda m, x: m(x))
    y16 = call(model, x16)
    assert y16.shape == (2, 16, 16) and y16.dtype == jnp.float32
    y_other = call(model, jax.random.normal(getkey(), (1, 24, 20)))
    assert y_other.shape == (2, 24, 20)
    assert jnp.all(jnp.isfinite(y16)) and jnp.all(jnp.isfinite(y_other))
    loss = eqx.filter_jit(lambda m, x: jnp.mean(m(x) ** 2))
    grads = eqx.filter_jit(eqx.filter_grad(loss))(model, x16)
    leaves = jax.tree.leaves(eqx.filter(grads, eqx.is_inexact_array))
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in leaves)
    assert float(jnp.abs(grads.spectral[0].w_re).max()) > 0
    # one small optax SGD step lowers the loss (the module trains; step below 2 loss / |g|^2)
    gnorm2 = sum(float(jnp.sum(g**2)) for g in leaves)
    opt = optax.sgd(0.1 * float(loss(model, x16)) / gnorm2)
    params = eqx.filter(model, eqx.is_inexact_array)
    state = opt.init(params)
    updates, state = opt.update(eqx.filter(grads, eqx.is_inexact_array), state, params)
    model2 = eqx.apply_updates(model, updates)
    assert loss(model2, x16) < loss(model, x16)


def test_1d_3d_padding_and_vmap(getkey):
    m1 = FNO(2, 1, modes=(5,), width=6, depth=2, projection_width=8, padding=0.25, key=getkey())
    xs = jax.random.normal(getkey(), (3, 2, 20))
    batched = eqx.filter_jit(lambda m, x: jax.vmap(lambda v: m(v))(x))(m1, xs)
    assert batched.shape == (3, 1, 20)
    np.testing.assert_allclose(batched[1], eqx.filter_jit(m1)(xs[1]), rtol=1e-5, atol=1e-6)
    assert jax.eval_shape(m1, xs[0, :, :12]).shape == (1, 12)  # 12 + 3 padding points fit 5 modes
    m3 = FNO(1, 1, modes=(2, 2, 2), width=4, depth=1, projection_width=4, key=getkey())
    y3 = eqx.filter_jit(m3)(jnp.ones((1, 6, 4, 5)))
    assert y3.shape == (1, 6, 4, 5) and bool(jnp.all(jnp.isfinite(y3)))


def test_grid_layouts():
    g = grid_coordinates((4, 2), jnp.float64, layout="periodic")
    np.testing.assert_allclose(g[0, :, 0], [0, 0.25, 0.5, 0.75])
    np.testing.assert_allclose(g[1, 0], [0, 0.5])
    g = grid_coordinates((3,))  # default "nodes": boundary included, the layout of data.darcy
    assert g.dtype == jnp.result_type(float)
    np.testing.assert_allclose(g[0], [0, 0.5, 1.0])
    np.testing.assert_allclose(
        grid_coordinates((4,), layout="cells")[0], [1, 3, 5, 7] / np.array(8)
    )
    # "interior" (multigrid's Dirichlet grid, h = 1/(n+1)) is the interior of "nodes" on n + 2 points
    nodes = grid_coordinates((7, 5))
    np.testing.assert_array_equal(grid_coordinates((5, 3), layout="interior"), nodes[:, 1:-1, 1:-1])
    with pytest.raises(ValueError, match="layout"):
        grid_coordinates((3,), layout="edges")


def test_default_grid_features_follow_the_data_layout(getkey):
    # the FNO's default coordinates are data.darcy's node grid: the same physical point has the same
    # feature at every resolution (node i of 9 is node 2i of 17)
    model = FNO(1, 1, modes=(2, 2), width=4, depth=1, projection_width=4, key=getkey())
    assert model.grid_layout == "nodes"
    coarse, fine = grid_coordinates((9, 9)), grid_coordinates((17, 17))
    np.testing.assert_array_equal(fine[:, ::2, ::2], coarse)
    # "periodic" (burgers data, x_j = j/n): the features of a model without grid features fed the
    # coordinates as an input channel
    kw = dict(modes=(2,), width=4, depth=1, projection_width=4, key=getkey())
    periodic = FNO(1, 1, grid_layout="periodic", **kw)
    plain = FNO(2, 1, grid_features=False, **kw)
    x = jax.random.normal(getkey(), (1, 8))
    feats = jnp.concatenate([x, grid_coordinates((8,), layout="periodic")])
    np.testing.assert_allclose(feats[1], np.arange(8) / 8)
    np.testing.assert_allclose(periodic(x), plain(feats), rtol=1e-12, atol=1e-12)


def test_dtype_rule_and_integer_inputs(getkey):
    model = FNO(1, 1, modes=(3,), width=4, depth=1, projection_width=4, key=getkey())
    assert model.lift_w.dtype == jnp.result_type(float)  # dtype=None: JAX's default float
    xi = jnp.arange(8)[None]
    np.testing.assert_array_equal(model(xi), model(xi.astype(model.lift_w.dtype)))
    layer = SpectralConv(1, 2, (3,), dtype=jnp.float32, key=getkey())
    assert layer.w_re.dtype == jnp.float32 and layer(xi).dtype == jnp.float32
    assert model(xi, key=getkey()).shape == (1, 8) and layer(xi, key=getkey()).shape == (2, 8)
    with pytest.raises(TypeError, match="dtype"):
        FNO(1, 1, modes=(3,), dtype=jnp.int32, key=getkey())


def test_ensembles_under_filter_vmap_and_jit(getkey):
    keys = jax.random.split(getkey(), 3)

    def make_fno(k):
        return FNO(1, 2, modes=(3, 3), width=4, depth=2, projection_width=6, key=k)

    def make_layer(k):
        return SpectralConv(2, 3, (3, 3), key=k)

    x = jax.random.normal(getkey(), (1, 8, 8))
    for make, inp in ((make_fno, x), (make_layer, jnp.concatenate([x, x]))):
        ensemble = eqx.filter_vmap(make)(keys)
        jitted = eqx.filter_jit(make)(keys[1])
        outs = eqx.filter_vmap(lambda m, inp=inp: m(inp))(ensemble)
        assert outs.shape[0] == 3
        assert not np.allclose(outs[0], outs[1])  # the members differ
        for i in range(3):
            np.testing.assert_allclose(outs[i], make(keys[i])(inp), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(jitted(inp), make(keys[1])(inp), rtol=1e-12, atol=1e-12)


def test_spectral_conv_layer_transfers_resolution(getkey):
    # A spectral layer applied to a band-limited field sampled at two resolutions gives the same
    # function (its output at 32 restricted to the 16 grid equals its output at 16).
    key = getkey()
    layer = SpectralConv(2, 3, (4, 4), dtype=jnp.float64, key=key)
    s = np.arange(32) / 32
    X, Y = np.meshgrid(s, s, indexing="ij")
    f = np.stack([np.sin(2 * np.pi * (X + 2 * Y)), np.cos(2 * np.pi * 3 * X) + X * 0])
    y32 = layer(jnp.asarray(f))
    y16 = layer(jnp.asarray(f[:, ::2, ::2]))
    np.testing.assert_allclose(y32[:, ::2, ::2], y16, atol=1e-12)
    # and zero-shot super-resolution from 16 to 32 reproduces the fine output exactly
    np.testing.assert_allclose(
        layer(jnp.asarray(f[:, ::2, ::2]), out_shape=(32, 32)), y32, atol=1e-12
    )
    # the DFT path computes the same map
    layer_dft = SpectralConv(2, 3, (4, 4), method="dft", dtype=jnp.float64, key=key)
    np.testing.assert_allclose(layer_dft(jnp.asarray(f)), y32, atol=1e-12)
    np.testing.assert_allclose(spectral_conv(f, layer.w_re, layer.w_im, (4, 4)), y32, atol=1e-12)
    assert layer.w_re.shape == (2, 2, 3, 4, 4)
    # init scale: complex weight variance 2 / (C_in + C_out)
    big = SpectralConv(16, 16, (8, 8), key=getkey())
    var = float(jnp.var(big.w_re) + jnp.var(big.w_im))
    assert abs(var - 2 / 32) < 0.01


def test_bad_inputs_name_the_argument(getkey):
    model = FNO(1, 1, modes=(4, 4), width=4, depth=1, projection_width=4, key=getkey())
    with pytest.raises(ValueError, match="modes"):
        model(jnp.ones((1, 6, 16)))  # 4 > 6 // 2
    with pytest.raises(ValueError, match="`x`"):
        model(jnp.ones((2, 16, 16)))
    with pytest.raises(ValueError, match="`x`"):
        model(jnp.ones((16, 16)))
    with pytest.raises(ValueError, match="modes"):
        FNO(1, 1, modes=(4, 4, 4, 4), key=getkey())
    with pytest.raises(TypeError, match="modes"):
        FNO(1, 1, modes=4, key=getkey())
    with pytest.raises(ValueError, match="width"):
        FNO(1, 1, modes=(4, 4), width=0, key=getkey())
    with pytest.raises(ValueError, match="padding"):
        FNO(1, 1, modes=(4, 4), padding=-0.1, key=getkey())
    with pytest.raises(ValueError, match="ndim"):
        SpectralConv(2, 2, 4, key=getkey())
    with pytest.raises(ValueError, match="method"):
        SpectralConv(2, 2, (4, 4), method="fast", key=getkey())
    with pytest.raises(ValueError, match="grid_layout"):
        FNO(1, 1, modes=(4, 4), grid_layout="endpoint", key=getkey())
    layer = SpectralConv(2, 2, (4, 4), key=getkey())
    with pytest.raises(ValueError, match="w_im"):  # invariants hold for every construction path
        eqx.tree_at(lambda m: m.w_im, layer, layer.w_im[:, :1]).__check_init__()
