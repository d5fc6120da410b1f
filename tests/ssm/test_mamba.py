"""MambaBlock and MambaModel: a float64 NumPy reference of the block, streaming == parallel, init (issue 13)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from badinputs import arg
from jax.test_util import check_grads

from jaxsci import ssm


def _silu(x):
    return x / (1 + np.exp(-x))


def _softplus(x):
    return np.log1p(np.exp(x))


def ref_block(blk, u, zoh=False):
    """The Mamba mixer written out in float64 NumPy loops from the block's parameters."""
    p = lambda a: np.asarray(a, np.float64)
    u = p(u)
    L = u.shape[0]
    Win = p(blk.in_proj.weight)
    xz = u @ Win.T
    di = blk.d_inner
    x, z = xz[:, :di], xz[:, di:]
    w, b = p(blk.conv_weight), p(blk.conv_bias)
    K = w.shape[1]
    xc = np.zeros_like(x)
    for t in range(L):
        for k in range(K):
            s = t - (K - 1) + k
            if s >= 0:
                xc[t] += w[:, k] * x[s]
    xc = _silu(xc + b)
    W = p(blk.x_proj_weight())
    R, N = blk.dt_rank, blk.d_state
    proj = xc @ W.T
    delta = _softplus(proj[:, :R] @ p(blk.dt_proj.weight).T + p(blk.dt_proj.bias))
    B, C = proj[:, R : R + N], proj[:, R + N :]
    A = -np.exp(p(blk.A_log))
    h = np.zeros((di, N))
    y = np.zeros((L, di))
    for t in range(L):
        dA = delta[t][:, None] * A
        bbar = (np.expm1(dA) / A if zoh else delta[t][:, None]) * B[t]
        h = np.exp(dA) * h + bbar * xc[t][:, None]
        y[t] = h @ C[t] + p(blk.D) * xc[t]
    return (y * _silu(z)) @ p(blk.out_proj.weight).T


@pytest.fixture(scope="module")
def u():
    return jax.random.normal(jax.random.key(1), (9, 8))


@pytest.mark.parametrize("discretization, io", [("euler", None), ("zoh", "positive")])
def test_block_against_numpy_and_streaming(u, discretization, io):
    blk = ssm.MambaBlock(8, d_state=4, io=io, discretization=discretization, key=jax.random.key(0))
    y = blk(u)
    assert y.shape == (9, 8) and y.dtype == jnp.float64
    np.testing.assert_allclose(
        y, ref_block(blk, u, discretization == "zoh"), rtol=1e-10, atol=1e-12
    )
    state = blk.init_state()
    step = eqx.filter_jit(lambda b, s, x: b.step(s, x))
    for t in range(u.shape[0]):
        yt, state = step(blk, state, u[t])
        np.testing.assert_allclose(yt, y[t], rtol=1e-11, atol=1e-13)


def test_init_values():
    blk = ssm.MambaBlock(32, d_state=16, dt_min=1e-3, dt_max=1e-1, key=jax.random.key(0))
    assert blk.d_inner == 64 and blk.dt_rank == 2
    assert blk.x_proj.weight.shape == (2 + 32, 64) and blk.x_proj.bias is None
    np.testing.assert_allclose(blk.A(), -np.tile(np.arange(1.0, 17.0), (64, 1)), rtol=1e-12)
    np.testing.assert_array_equal(blk.D, np.ones(64))
    dt = jax.nn.softplus(blk.dt_proj.bias)  # the inverse-softplus bias gives back dt
    assert np.all((dt >= 1e-3 * (1 - 1e-9)) & (dt <= 1e-1 * (1 + 1e-9)))
    assert np.max(np.abs(blk.dt_proj.weight)) <= 2**-0.5
    assert blk.conv_weight.shape == (64, 4)


def test_init_under_jit_and_vmap_matches_eager():
    keys = jax.random.split(jax.random.key(3), 3)
    make = lambda k: ssm.MambaBlock(8, d_state=4, io="mixed", reorder=True, key=k)
    batched = eqx.filter_jit(eqx.filter_vmap(make))(keys)
    jitted = eqx.filter_jit(make)(keys[1])
    eager = make(keys[1])
    for a, b, c in zip(
        jax.tree.leaves(eqx.filter(batched, eqx.is_array)),
        jax.tree.leaves(eqx.filter(jitted, eqx.is_array)),
        jax.tree.leaves(eqx.filter(eager, eqx.is_array)),
        strict=True,
    ):
        np.testing.assert_allclose(a[1], c, rtol=1e-12)
        np.testing.assert_allclose(b, c, rtol=1e-12)
    m = eqx.filter_jit(
        eqx.filter_vmap(lambda k: ssm.MambaModel(3, 2, d_model=8, d_state=4, key=k))
    )(keys)
    assert m.head.weight.shape == (3, 2, 8)


def test_float32_block(u):
    blk = ssm.MambaBlock(8, d_state=4, dtype=jnp.float32, key=jax.random.key(0))
    y = blk(u.astype(jnp.float32))
    assert y.dtype == jnp.float32
    np.testing.assert_allclose(y, ref_block(blk, u.astype(jnp.float32)), rtol=1e-4, atol=1e-5)


def test_vmap_over_batch(u):
    blk = ssm.MambaBlock(8, d_state=4, key=jax.random.key(0))
    batch = jnp.stack([u, 2 * u, -u])
    yb = eqx.filter_jit(jax.vmap(blk))(batch)
    one = eqx.filter_jit(lambda b, x: b(x))
    for i in range(3):
        np.testing.assert_allclose(yb[i], one(blk, batch[i]), rtol=1e-12, atol=1e-13)


def test_gradients_through_the_block(u):
    blk = ssm.MambaBlock(8, d_state=4, key=jax.random.key(0), chunk=4)
    G = jax.random.normal(jax.random.key(7), u.shape)

    def f(A_log, dt_bias):
        b = eqx.tree_at(lambda m: (m.A_log, m.dt_proj.bias), blk, (A_log, dt_bias))
        return jnp.sum(b(u) * G)

    check_grads(
        jax.jit(f), (blk.A_log, blk.dt_proj.bias), order=1, modes=("rev",), atol=1e-6, rtol=1e-6
    )


@pytest.mark.parametrize("embedding, pool", [(True, None), (False, "mean")])
def test_model_streaming_equals_parallel(embedding, pool):
    m = ssm.MambaModel(
        5, 3, d_model=8, n_layers=2, d_state=4, embedding=embedding, pool=pool,
        key=jax.random.key(2),
    )  # fmt: skip
    if embedding:
        x = jnp.array([1, 4, 0, 2, 2, 3, 1])
    else:
        x = jax.random.normal(jax.random.key(5), (7, 5))
    y = m(x)
    state = m.init_state()
    step = eqx.filter_jit(lambda m, s, x: m.step(s, x))
    outs = []
    for t in range(7):
        yt, state = step(m, state, x[t])
        outs.append(yt)
    if pool is None:
        assert y.shape == (7, 3)
        np.testing.assert_allclose(jnp.stack(outs), y, rtol=1e-10, atol=1e-12)
    else:
        assert y.shape == (3,)
        np.testing.assert_allclose(outs[-1], y, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(outs[3], m(x[:4]), rtol=1e-10, atol=1e-12)


def test_reorder_block():
    blk = ssm.MambaBlock(8, d_state=4, reorder=True, key=jax.random.key(0))
    u = jax.random.normal(jax.random.key(1), (6, 8))
    P = blk.permutation(u)
    np.testing.assert_allclose(P.sum(axis=1), np.ones(6), rtol=1e-12)
    assert blk(u).shape == (6, 8)
    # reordering happens in the first block only; it is not causal: no streaming
    m = ssm.MambaModel(8, 2, d_model=8, n_layers=2, d_state=4, reorder=True, key=jax.random.key(0))
    assert m.blocks[0].mixer.reorder and not m.blocks[1].mixer.reorder
    with pytest.raises(ValueError, match="reorder"):
        blk.step(blk.init_state(), u[0])
    # permuting the input tokens permutes nothing in the scores' set: P sorts the same scores
    blk_plain = ssm.MambaBlock(8, d_state=4, key=jax.random.key(0))
    assert not np.allclose(blk(u), blk_plain(u))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"d_state": 0}, "d_state"),
        ({"io": "psd"}, "io"),
        ({"d_conv": 0}, "d_conv"),
        ({"dt_min": 1.0}, "dt_min"),
        ({"discretization": "x"}, "discretization"),
        ({"io": "positive", "d_state": 64}, "d_state"),
        ({"reorder": 1}, "reorder"),
    ],  # fmt: skip
)
def test_block_bad_arguments(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=arg(name)):
        ssm.MambaBlock(8, key=jax.random.key(0), **kwargs)
