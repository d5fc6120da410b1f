"""The Flax NNX twins (issue 19): with converted weights each twin computes its Equinox model's output
to rounding (float64), under ``nnx.jit`` and ``nnx.vmap``, with equal gradients; the converters round-trip;
a twin initialised from ``nnx.Rngs`` holds the weights its Equinox model draws from the same key; the
streaming ``step`` and dropout behave as the Equinox ones; ``nnx.Optimizer`` trains a twin as optax trains
the Equinox model. Skipped (with the reason) when flax is not installed: it is the optional ``flax`` extra.
"""

import pytest

pytest.importorskip("flax", reason="jaxsci.nnx needs the optional `flax` extra (pip install flax)")
chex = pytest.importorskip("chex", reason="the NNX tests use chex (the `test` extra)")

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402
from flax import nnx  # noqa: E402

import jaxsci.multigrid as mg  # noqa: E402
import jaxsci.nnx as jn  # noqa: E402
import jaxsci.operators as op  # noqa: E402
import jaxsci.spectral as sp  # noqa: E402
import jaxsci.ssm as ssm  # noqa: E402

KEY = jax.random.key(0)
TOL = dict(rtol=1e-10, atol=1e-12)  # float64 rounding (jit may reassociate sums)

# name: (Equinox class, positional args, keyword args, one input of the batch-free call)
CASES = {
    "S4DLayer": (ssm.S4DLayer, (4, 8), {}, (10, 4)),
    "S5Layer": (ssm.S5Layer, (4, 8), {}, (10, 4)),
    "SSMModel": (
        ssm.SSMModel,
        (3, 2),
        dict(d_model=8, n_layers=1, state_size=8, dropout=0.1),
        (10, 3),
    ),
    "MambaBlock": (ssm.MambaBlock, (8,), dict(d_state=4), (10, 8)),
    "MambaModel": (ssm.MambaModel, (3, 2), dict(d_model=8, n_layers=1, d_state=4), (10, 3)),
    "CompanionSSM": (ssm.CompanionSSM, (4, 8), {}, (10, 4)),
    "SpaceTime": (
        ssm.SpaceTime,
        (3,),
        dict(
            H=4, d=4, kernel_repeat=2, n_blocks=2, dropout=0.25, diff_orders=(0, 1), ma_windows=(2,)
        ),
        (12,),
    ),
    "FNO": (sp.FNO, (1, 1), dict(modes=(3, 3), width=4, depth=2, projection_width=4), (1, 8, 8)),
    "MgNO": (
        mg.MgNO,
        (1, 1),
        dict(grid_shape=(8, 8), width=2, num_layers=1, num_iterations=((1, 0), (1, 0))),
        (1, 8, 8),
    ),
    "LSM": (
        op.LSM,
        (1, 1),
        dict(width=4, num_basis=2, num_tokens=2, num_heads=2, patch_size=2, projection_width=4),
        (1, 8, 8),
    ),
}
STREAMING = ("S4DLayer", "S5Layer", "SSMModel", "MambaBlock", "MambaModel", "CompanionSSM")


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    name = request.param
    cls, args, kwargs, shape = CASES[name]
    model = cls(*args, **kwargs, key=KEY)
    x = jax.random.normal(jax.random.key(1), (3, *shape))  # a batch of 3 inputs
    return name, model, x


def _arrays(tree):
    return eqx.filter(tree, eqx.is_array)


def test_every_model_has_a_twin():
    assert {n for n in jn.__all__ if n[0].isupper()} == set(CASES)


def test_converters_round_trip(case):
    name, model, _ = case
    twin = jn.to_nnx(model)
    assert type(twin) is getattr(jn, name)
    back = jn.to_equinox(twin)
    assert type(back) is type(model) and bool(eqx.tree_equal(back, model))
    chex.assert_trees_all_equal(_arrays(back), _arrays(model))
    # the per-class converter, and NNX -> Equinox -> NNX keeps the state
    twin2 = getattr(jn, name)(back)
    chex.assert_trees_all_equal(nnx.state(twin2, nnx.Param), nnx.state(twin, nnx.Param))
    # every float array of the Equinox model is one real nnx.Param, at the same path
    params = nnx.to_flat_state(nnx.state(twin, nnx.Param))
    assert len(params) == len(jax.tree.leaves(_arrays(model)))
    assert all(not jnp.iscomplexobj(v.get_value()) for _, v in params)


def test_rngs_init_equals_equinox_init(case):
    name, model, _ = case
    cls, args, kwargs, _ = CASES[name]
    twin = getattr(jn, name)(*args, **kwargs, rngs=nnx.Rngs(params=7))
    reference = cls(*args, **kwargs, key=nnx.Rngs(params=7).params())
    assert bool(eqx.tree_equal(jn.to_equinox(twin), reference))


def test_forward_and_gradients_under_jit_and_vmap(case):
    """One program per front end: the batch through ``vmap`` (``nnx.vmap`` for the twin, under
    ``nnx.jit``) and the gradient of a loss of it; outputs and gradients agree to rounding."""
    name, model, x = case
    twin = jn.to_nnx(model)
    twin.eval()  # dropout off, as the Equinox call without a key

    def loss_eqx(m):
        y = jax.vmap(m)(x)
        return jnp.sum(jnp.sin(y)), y

    def loss_nnx(m):
        y = nnx.vmap(lambda m, u: m(u), in_axes=(None, 0))(m, x)
        return jnp.sum(jnp.sin(y)), y

    (_, want), want_grad = eqx.filter_jit(eqx.filter_value_and_grad(loss_eqx, has_aux=True))(model)
    (_, got), grads = nnx.jit(nnx.value_and_grad(loss_nnx, has_aux=True))(twin)
    chex.assert_trees_all_close(got, want, **TOL)
    graphdef, _, rest = nnx.split(twin, nnx.Param, ...)
    got_grad = jn.to_equinox(nnx.merge(graphdef, grads, rest))  # gradients in the Equinox layout
    chex.assert_trees_all_close(_arrays(got_grad), _arrays(want_grad), **TOL)


@pytest.mark.parametrize("name", STREAMING)
def test_streaming_step(name):
    cls, args, kwargs, shape = CASES[name]
    model = cls(*args, **{k: v for k, v in kwargs.items() if k != "dropout"}, key=KEY)
    twin = jn.to_nnx(model)
    x = jax.random.normal(jax.random.key(2), shape)

    @nnx.jit
    def stream(m, xs):
        def body(state, xt):
            y, state = m.step(state, xt)
            return state, y

        return jax.lax.scan(body, m.init_state(), xs)[1]

    def stream_eqx(m, xs):
        return jax.lax.scan(lambda s, xt: m.step(s, xt)[::-1], m.init_state(), xs)[1]

    chex.assert_trees_all_close(stream(twin, x), stream_eqx(model, x), **TOL)


class SplitMergeVariantsTest(chex.TestCase):
    """One twin evaluated through nnx.split/merge with and without jax.jit (chex variants)."""

    @chex.variants(with_jit=True, without_jit=True)
    def test_split_merge_call(self):
        model = ssm.S4DLayer(3, 4, key=KEY)
        graphdef, state = nnx.split(jn.to_nnx(model))
        u = jax.random.normal(KEY, (6, 3))
        y = self.variant(lambda s, u: nnx.merge(graphdef, s)(u))(state, u)
        chex.assert_trees_all_close(y, eqx.filter_jit(model)(u), **TOL)


def test_dropout_rngs_and_eval():
    cls, args, kwargs, shape = CASES["SSMModel"]
    model = cls(*args, **kwargs, key=KEY)
    twin = jn.SSMModel(model, rngs=nnx.Rngs(dropout=5))
    x = jax.random.normal(KEY, shape)
    call = nnx.jit(lambda m, u: m(u))
    call_key = nnx.jit(lambda m, u, k: m(u, key=k))
    reference = eqx.filter_jit(lambda m, u, k: m(u, key=k))
    y1, y2 = call(twin, x), call(twin, x)  # training mode: a fresh dropout key per call
    assert not jnp.allclose(y1, y2)
    k = jax.random.key(9)  # an explicit key: the Equinox model's dropout mask
    chex.assert_trees_all_close(call_key(twin, x, k), reference(model, x, k), **TOL)
    twin.eval()
    chex.assert_trees_all_close(call(twin, x), reference(model, x, None), **TOL)
    assert not jnp.allclose(y1, reference(model, x, None))
    twin.train()
    assert twin.deterministic is False


def test_optimizer_step_equals_optax_on_equinox():
    cls, args, kwargs, shape = CASES["S5Layer"]
    model = cls(*args, **kwargs, key=KEY)
    twin = jn.to_nnx(model)
    u = jax.random.normal(KEY, shape)
    tx = optax.adam(1e-2)
    optimizer = nnx.Optimizer(twin, tx, wrt=nnx.Param)

    @nnx.jit
    def train_step(m, opt):
        loss, grads = nnx.value_and_grad(lambda m: jnp.mean(m(u) ** 2))(m)
        opt.update(m, grads)
        return loss

    @eqx.filter_jit
    def train_step_eqx(m, state):
        grads = eqx.filter_grad(lambda m: jnp.mean(m(u) ** 2))(m)
        updates, state = tx.update(grads, state)
        return eqx.apply_updates(m, updates), state

    state = tx.init(eqx.filter(model, eqx.is_array))
    for _ in range(2):
        train_step(twin, optimizer)
        model, state = train_step_eqx(model, state)
    chex.assert_trees_all_close(_arrays(jn.to_equinox(twin)), _arrays(model), **TOL)


def test_conversion_errors():
    with pytest.raises(TypeError, match="`model` must be one of"):
        jn.to_nnx(ssm.RMSNorm(3))
    with pytest.raises(TypeError, match="`model` must be a jaxsci.nnx model|parameter 'model'"):
        jn.to_equinox(ssm.S4DLayer(2, 4, key=KEY))
    with pytest.raises(TypeError, match="`rngs` must be an nnx.Rngs"):
        jn.S4DLayer(2, 4)
    with pytest.raises(TypeError, match="not `key`"):
        jn.S4DLayer(2, 4, key=KEY, rngs=nnx.Rngs(0))
    with pytest.raises(TypeError, match="converts a jaxsci.ssm"):
        jn.S5Layer(ssm.S4DLayer(2, 4, key=KEY))
    with pytest.raises(ValueError, match="`N`"):  # the Equinox constructor's own checks
        jn.S4DLayer(2, 3, rngs=nnx.Rngs(0))
