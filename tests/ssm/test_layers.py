"""Equinox layers: conv == step, gradients, labels, and a data-parallel step on 8 fake CPU devices."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.test_util import check_grads

from jaxsci import ssm


@eqx.filter_jit
def call_and_stream(layer, u):
    """(layer(u), the same outputs from layer.step scanned over time): one compiled program."""

    def body(x, ut):
        yt, x = layer.step(x, ut)
        return x, yt

    _, ys = jax.lax.scan(body, layer.init_state(), u.T)
    return layer(u), ys.T


@pytest.mark.parametrize("transform,tied", [("exp", True), ("softplus", False), ("clip", True)])
def test_s4d_layer_call_equals_step(key, transform, tied):
    layer = ssm.S4DLayer(3, 8, real_transform=transform, dt_tied=tied, init="inv", key=key)
    A, _, _, dt = layer.ssm()
    assert np.all(np.asarray(A.real) < 0) and dt.shape == ((3,) if tied else (3, 4))
    u = jax.random.normal(jax.random.fold_in(key, 1), (3, 10))
    y, ys = call_and_stream(layer, u)
    np.testing.assert_allclose(np.asarray(ys), np.asarray(y), rtol=1e-10, atol=1e-10)
    A, B, C, dt = layer.ssm()
    y_scan, _ = jax.jit(ssm.s4d_scan)(A, B, C, dt, u, layer.D)
    np.testing.assert_allclose(np.asarray(y_scan), np.asarray(y), rtol=1e-10, atol=1e-10)


def test_s5_layer_call_equals_step(key):
    layer = ssm.S5Layer(3, 8, blocks=2, key=key)
    u = jax.random.normal(key, (3, 10))
    y, ys = call_and_stream(layer, u)
    np.testing.assert_allclose(np.asarray(ys), np.asarray(y), rtol=1e-10, atol=1e-10)


def test_bidirectional_layer(key):
    layer = ssm.S4DLayer(2, 4, bidirectional=True, key=key)
    u = jax.random.normal(key, (2, 7))
    call = eqx.filter_jit(lambda m, v: (m(v), m.kernel(7)))
    y, K = call(layer, u)
    assert K.shape == (2, 2, 7)
    np.testing.assert_allclose(
        np.asarray(y), np.asarray(ssm.causal_conv(u, K, layer.D, bidirectional=True)), atol=1e-12
    )
    # the future affects the past
    y2, _ = call(layer, u.at[:, -1].add(1.0))
    assert np.abs(np.asarray(y2 - y)[:, 0]).max() > 0


def test_layer_gradients(key):
    layer = ssm.S4DLayer(2, 4, key=key, dt_min=0.05, dt_max=0.2)
    u = jax.random.normal(key, (2, 9))
    params, static = eqx.partition(layer, eqx.is_inexact_array)
    leaves, treedef = jax.tree.flatten(params)
    f = jax.jit(lambda *ls: eqx.combine(jax.tree.unflatten(treedef, ls), static)(u))
    check_grads(f, tuple(leaves), order=1, modes=["rev"], atol=1e-5, rtol=1e-5, eps=1e-6)


def test_model_and_labels(key):
    model = ssm.SSMModel(3, 4, d_model=8, n_layers=2, state_size=4, dropout=0.1, key=key)
    x = jax.random.normal(key, (16, 3))

    @eqx.filter_jit
    def run(model, x):
        out = model(x, inference=True)
        out_v = jax.vmap(lambda xi: model(xi, inference=True))(jnp.stack([x, x]))
        return out, out_v, model(x, key=key)

    out, out_v, out_train = run(model, x)
    assert out.shape == (4,)
    np.testing.assert_allclose(np.asarray(out_v[0]), np.asarray(out), rtol=1e-12)
    assert not np.allclose(np.asarray(out_train), np.asarray(out))  # dropout active in training
    labels = ssm.ssm_param_labels(model)
    blk = labels.blocks[0]
    assert blk.layer.A_re == "ssm" and blk.layer.log_dt == "ssm" and blk.layer.B_im == "ssm"
    assert blk.layer.C_re == "other" and blk.layer.D == "other" and labels.encoder.weight == "other"
    m5 = ssm.SSMModel(3, 4, d_model=8, n_layers=1, state_size=4, layer="s5", pool="last", key=key)
    assert ssm.ssm_param_labels(m5).blocks[0].layer.Lambda_re == "ssm"


@pytest.mark.slow
def test_sharded_training_step_equals_unsharded(key):
    assert len(jax.devices()) == 8, "conftest should provide 8 fake CPU devices"
    model = ssm.SSMModel(5, 4, d_model=8, n_layers=1, state_size=4, pool="last", key=key)
    opt = optax.multi_transform(
        {"ssm": optax.adam(1e-3), "other": optax.adamw(3e-3, weight_decay=0.1)},
        ssm.ssm_param_labels,
    )
    state = opt.init(eqx.filter(model, eqx.is_inexact_array))
    step = ssm.make_train_step(opt)
    x, y = ssm.delayed_recall(key, 16, 32, 4)
    mesh = ssm.batch_mesh()
    xs, ys = ssm.shard_batch((x, y), mesh)
    assert len(xs.sharding.device_set) == 8
    k = jax.random.fold_in(key, 7)
    m1, s1, l1, _ = step(model, state, x, y, k)
    m2, s2, l2, _ = step(model, state, xs, ys, k)
    m1, s1, _, _ = step(m1, s1, x, y, k)
    m2, s2, _, _ = step(m2, s2, xs, ys, k)
    np.testing.assert_allclose(float(l1), float(l2), rtol=1e-10)
    for a, b in zip(
        jax.tree.leaves(eqx.filter(m1, eqx.is_inexact_array)),
        jax.tree.leaves(eqx.filter(m2, eqx.is_inexact_array)),
        strict=False,
    ):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-9, atol=1e-12)


def test_layer_bad_inputs(key):
    with pytest.raises(ValueError, match="`N`"):
        ssm.S4DLayer(4, 7, key=key)
    with pytest.raises(ValueError, match="`N`"):
        ssm.S4DLayer(4, 0, key=key)
    with pytest.raises(ValueError, match="`real_transform`"):
        ssm.S4DLayer(4, 8, real_transform="relu", key=key)
    with pytest.raises(ValueError, match="`P`"):
        ssm.S5Layer(4, 6, blocks=2, key=key)
    with pytest.raises(ValueError, match="`u`"):
        ssm.S4DLayer(4, 8, key=key)(jnp.ones((3, 5)))
    with pytest.raises(ValueError, match="`x`"):
        ssm.SSMModel(3, 2, d_model=4, n_layers=1, state_size=4, key=key)(jnp.ones((5, 2)))
    with pytest.raises(ValueError, match="`layer`"):
        ssm.SSMModel(3, 2, layer="lstm", key=key)
