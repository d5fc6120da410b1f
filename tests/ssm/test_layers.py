"""Equinox layers: conv == step, ensembles under filter_vmap, dtype rule, dropout keys, model streaming,
and the one training step on a sharded batch."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
from jax.test_util import check_grads

from jaxsci import data, ssm, training


@eqx.filter_jit
def call_and_stream(layer, u):
    """(layer(u), the same outputs from layer.step scanned over time): one compiled program."""

    def body(x, ut):
        yt, x = layer.step(x, ut)
        return x, yt

    _, ys = jax.lax.scan(body, layer.init_state(), u)
    return layer(u), ys


@pytest.mark.parametrize("transform,tied", [("exp", True), ("softplus", False), ("clip", True)])
def test_s4d_layer_call_equals_step(key, transform, tied):
    layer = ssm.S4DLayer(3, 8, real_transform=transform, dt_tied=tied, init="inv", key=key)
    A, _, _, dt = layer.ssm()
    assert np.all(np.asarray(A.real) < 0) and dt.shape == ((3,) if tied else (3, 4))
    u = jax.random.normal(jax.random.fold_in(key, 1), (10, 3))  # time-first (L, H)
    y, ys = call_and_stream(layer, u)
    assert y.shape == (10, 3)
    np.testing.assert_allclose(np.asarray(ys), np.asarray(y), rtol=1e-10, atol=1e-10)
    A, B, C, dt = layer.ssm()
    y_scan, _ = jax.jit(ssm.s4d_scan)(A, B, C, dt, u, layer.D)
    np.testing.assert_allclose(np.asarray(y_scan), np.asarray(y), rtol=1e-10, atol=1e-10)


def test_s5_layer_call_equals_step(key):
    layer = ssm.S5Layer(3, 8, blocks=2, key=key)
    u = jax.random.normal(key, (10, 3))
    y, ys = call_and_stream(layer, u)
    assert y.shape == (10, 3)
    np.testing.assert_allclose(np.asarray(ys), np.asarray(y), rtol=1e-10, atol=1e-10)


def test_bidirectional_layer(key):
    layer = ssm.S4DLayer(2, 4, bidirectional=True, key=key)
    u = jax.random.normal(key, (7, 2))
    call = eqx.filter_jit(lambda m, v: (m(v), m.kernel(7)))
    y, K = call(layer, u)
    assert K.shape == (2, 2, 7)
    np.testing.assert_allclose(
        np.asarray(y), np.asarray(ssm.causal_conv(u, K, layer.D, bidirectional=True)), atol=1e-12
    )
    # the future affects the past
    y2, _ = call(layer, u.at[-1].add(1.0))
    assert np.abs(np.asarray(y2 - y)[0]).max() > 0
    with pytest.raises(ValueError, match="bidirectional"):
        layer.init_state()


def test_layer_gradients(key):
    layer = ssm.S4DLayer(2, 4, key=key, dt_min=0.05, dt_max=0.2)
    u = jax.random.normal(key, (9, 2))
    params, static = eqx.partition(layer, eqx.is_inexact_array)
    leaves, treedef = jax.tree.flatten(params)
    f = jax.jit(lambda *ls: eqx.combine(jax.tree.unflatten(treedef, ls), static)(u))
    check_grads(f, tuple(leaves), order=1, modes=["fwd", "rev"], atol=1e-5, rtol=1e-5, eps=1e-6)


call = eqx.filter_jit(lambda m, u, **kw: m(u, **kw))


def test_ensembles_under_filter_vmap_and_jit(key):
    """Every module initialises under jit and eqx.filter_vmap over keys: randomness from jax.random only."""
    keys = jax.random.split(key, 3)
    makers = {
        "s4d": lambda k: ssm.S4DLayer(4, 8, dt_tied=False, bidirectional=True, key=k),
        "s5": lambda k: ssm.S5Layer(4, 8, blocks=2, key=k),
        "model": lambda k: ssm.SSMModel(3, 2, d_model=4, n_layers=2, state_size=4, key=k),
    }
    x = jax.random.normal(key, (6, 4))
    for name, make in makers.items():
        ens = eqx.filter_vmap(make)(keys)
        member = jax.tree.map(lambda a: a[1] if eqx.is_array(a) else a, ens)
        eager = make(keys[1])
        for a, b in zip(jax.tree.leaves(member), jax.tree.leaves(eager), strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, err_msg=name)
        inp = x[:, :3] if name == "model" else x
        out = eqx.filter_jit(
            eqx.filter_vmap(lambda m, inp: m(inp), in_axes=(eqx.if_array(0), None))
        )(ens, inp)
        assert out.shape[0] == 3 and not np.allclose(np.asarray(out[0]), np.asarray(out[1])), name
    jitted = eqx.filter_jit(makers["model"])(keys[1])
    for a, b in zip(
        jax.tree.leaves(jitted), jax.tree.leaves(makers["model"](keys[1])), strict=True
    ):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12)


def test_dtype_rule(key):
    """dtype=None is JAX's default float; integer inputs are converted to the parameters' dtype."""
    layer = ssm.S4DLayer(3, 4, key=key)
    assert layer.C_re.dtype == jnp.float64  # the suite runs with x64
    y_int = call(layer, jnp.ones((5, 3), jnp.int32))
    assert y_int.dtype == jnp.float64
    np.testing.assert_allclose(np.asarray(y_int), np.asarray(call(layer, jnp.ones((5, 3)))))
    assert call(layer, jnp.ones((5, 3), bool)).dtype == jnp.float64
    l32 = ssm.S4DLayer(3, 4, dtype=jnp.float32, key=key)
    assert all(a.dtype == jnp.float32 for a in jax.tree.leaves(l32))
    assert call(l32, jnp.ones((5, 3), jnp.int32)).dtype == jnp.float32
    s5 = ssm.S5Layer(3, 4, dtype=jnp.float32, key=key)
    assert all(a.dtype == jnp.float32 for a in jax.tree.leaves(s5))
    m = ssm.SSMModel(
        3, 2, d_model=4, n_layers=1, state_size=4, layer="s5", dtype="float32", key=key
    )
    assert all(a.dtype == jnp.float32 for a in jax.tree.leaves(eqx.filter(m, eqx.is_array)))
    assert call(m, jnp.ones((5, 3), jnp.int8)).dtype == jnp.float32


def test_model_dropout_and_labels(key):
    model = ssm.SSMModel(3, 4, d_model=8, n_layers=2, state_size=4, dropout=0.1, key=key)
    x = jax.random.normal(key, (16, 3))

    @eqx.filter_jit
    def run(model, x):
        out = model(x)
        out_v = jax.vmap(lambda xi: model(xi))(jnp.stack([x, x]))
        return out, out_v, model(x, key=key), model(x, key=jax.random.fold_in(key, 1))

    out, out_v, out_train, out_train2 = run(model, x)
    assert out.shape == (4,)
    np.testing.assert_allclose(np.asarray(out_v[0]), np.asarray(out), rtol=1e-12)
    # dropout: active with a key, different per key, off without one and in inference mode
    assert not np.allclose(np.asarray(out_train), np.asarray(out))
    assert not np.allclose(np.asarray(out_train), np.asarray(out_train2))
    inf = eqx.nn.inference_mode(model)
    np.testing.assert_allclose(np.asarray(call(inf, x, key=key)), np.asarray(out), rtol=1e-12)
    labels = ssm.ssm_param_labels(model)
    blk = labels.blocks[0]
    assert blk.layer.A_re == "ssm" and blk.layer.log_dt == "ssm" and blk.layer.B_im == "ssm"
    assert blk.layer.C_re == "other" and blk.layer.D == "other" and labels.encoder.weight == "other"
    m5 = ssm.SSMModel(3, 4, d_model=8, n_layers=1, state_size=4, layer="s5", pool="last", key=key)
    assert ssm.ssm_param_labels(m5).blocks[0].layer.Lambda_re == "ssm"


@pytest.mark.parametrize("layer,pool", [("s4d", "mean"), ("s4d", None), ("s5", "last")])
def test_model_streaming_equals_forward(key, layer, pool):
    """SSMModel.step, scanned over a sequence, equals the full forward on every prefix."""
    model = ssm.SSMModel(
        3, 2, d_model=6, n_layers=2, state_size=4, layer=layer, pool=pool, dropout=0.3, key=key
    )
    x = jax.random.normal(jax.random.fold_in(key, 2), (12, 3))

    @eqx.filter_jit
    def stream(model, x):
        def body(state, xt):
            y, state = model.step(state, xt)
            return state, y

        return jax.lax.scan(body, model.init_state(), x)[1]

    ys = stream(model, x)
    full = eqx.filter_jit(lambda m, v: m(v))
    if pool is None:
        np.testing.assert_allclose(
            np.asarray(ys), np.asarray(full(model, x)), rtol=1e-9, atol=1e-10
        )
    else:
        for t in (0, 5, 11):
            np.testing.assert_allclose(
                np.asarray(ys[t]), np.asarray(full(model, x[: t + 1])), rtol=1e-9, atol=1e-10
            )


def test_layer_bad_inputs(key):
    with pytest.raises(ValueError, match="`N`"):
        ssm.S4DLayer(4, 7, key=key)
    with pytest.raises(ValueError, match="`N`"):
        ssm.S4DLayer(4, 0, key=key)
    with pytest.raises(ValueError, match="`H`"):
        ssm.S4DLayer(0, 8, key=key)
    with pytest.raises(ValueError, match="`real_transform`"):
        ssm.S4DLayer(4, 8, real_transform="relu", key=key)
    with pytest.raises(ValueError, match="`method`"):
        ssm.S5Layer(4, 8, method="euler", key=key)
    with pytest.raises(ValueError, match="`init`"):
        ssm.S4DLayer(4, 8, init="hippo", key=key)
    with pytest.raises(ValueError, match="`P`"):
        ssm.S5Layer(4, 6, blocks=2, key=key)
    with pytest.raises((ValueError, TypeError), match="u"):
        ssm.S4DLayer(4, 8, key=key)(jnp.ones((5, 3)))
    with pytest.raises((ValueError, TypeError), match="x"):
        ssm.SSMModel(3, 2, d_model=4, n_layers=1, state_size=4, key=key)(jnp.ones((5, 2)))
    with pytest.raises(ValueError, match="`layer`"):
        ssm.SSMModel(3, 2, layer="lstm", key=key)
    # errors name the user's argument, not the sub-layer's
    with pytest.raises(ValueError, match="`d_model`"):
        ssm.SSMModel(3, 2, d_model=0, key=key)
    with pytest.raises(ValueError, match="`state_size`"):
        ssm.SSMModel(3, 2, state_size=5, key=key)
    with pytest.raises(ValueError, match="`n_layers`"):
        ssm.SSMModel(3, 2, n_layers=0, key=key)
    with pytest.raises(ValueError, match="`dropout`"):
        ssm.SSMModel(3, 2, dropout=1.0, key=key)
    # the field invariants, checked on a module edited by tree surgery
    layer = eqx.tree_at(lambda m: m.D, ssm.S4DLayer(4, 8, key=key), jnp.ones(3))
    with pytest.raises(ValueError, match="`D`"):
        layer.__check_init__()


@pytest.mark.slow
def test_sharded_training_step_equals_unsharded(key):
    """SSMModel with the one training step (jaxsci.training.make_train_step): a batch sharded over 8 fake
    CPU devices (the mesh built here, as a user would) gives the unsharded step's loss and update, and the
    per-sample keys drive dropout."""
    assert len(jax.devices()) == 8, "conftest should provide 8 fake CPU devices"
    model = ssm.SSMModel(
        5, 4, d_model=8, n_layers=1, state_size=4, pool="last", dropout=0.2, key=key
    )
    opt = optax.multi_transform(
        {"ssm": optax.adam(1e-3), "other": optax.adamw(3e-3, weight_decay=0.1)},
        ssm.ssm_param_labels,
    )
    state = opt.init(eqx.filter(model, eqx.is_inexact_array))
    step = training.make_train_step(optax.softmax_cross_entropy, opt)
    x, y = data.delayed_recall(key, 16, 32, 4)
    y = jax.nn.one_hot(y, 4)
    mesh = jax.make_mesh((8,), ("batch",), axis_types=(jax.sharding.AxisType.Auto,))
    xs, ys = jax.device_put((x, y), NamedSharding(mesh, P("batch")))
    assert len(xs.sharding.device_set) == 8
    k = jax.random.fold_in(key, 7)
    m1, s1, l1 = step(model, state, x, y, k)
    m2, s2, l2 = step(model, state, xs, ys, k)
    _, _, l3 = step(model, state, x, y, jax.random.fold_in(key, 8))
    assert float(l1) != float(l3)  # dropout follows the key
    m1, s1, _ = step(m1, s1, x, y, k)
    m2, s2, _ = step(m2, s2, xs, ys, k)
    np.testing.assert_allclose(float(l1), float(l2), rtol=1e-10)
    for a, b in zip(
        jax.tree.leaves(eqx.filter(m1, eqx.is_inexact_array)),
        jax.tree.leaves(eqx.filter(m2, eqx.is_inexact_array)),
        strict=True,
    ):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-9, atol=1e-12)
