"""`make_train_step` on a mesh with ``Explicit`` axes (the default of ``jax.make_mesh`` in jax 0.10).

``vmap`` needs every mapped input sharded alike along the mapped axis; the per-sample keys used to be
unsharded and the step failed with "Mapped away dimension of inputs passed to vmap should be sharded the
same". The keys now take the batch sharding of ``x``. Model code (an FNO: FFTs, reshapes and
concatenations of one sample under ``vmap``) failed on ``Explicit`` axes ("Resource axis: batch ... is
not found in mesh"); the loss and gradient now run under ``jax.sharding.auto_axes``.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from jaxsci import training
from jaxsci.spectral import FNO


class _Scale(eqx.Module):
    w: jax.Array

    def __call__(self, x, *, key=None):
        return self.w * x


@pytest.mark.skipif(jax.device_count() < 4, reason="needs 4 (fake) devices")
def test_train_step_on_an_explicit_mesh_equals_the_unsharded_step():
    mesh = jax.make_mesh((4,), ("batch",), axis_types=(jax.sharding.AxisType.Explicit,))
    x = jax.random.normal(jax.random.key(1), (8, 1, 4, 4))
    y = 3.0 * x
    model = _Scale(jnp.ones(()))
    opt = optax.sgd(0.1)
    step = training.make_train_step(lambda p, t: jnp.mean((p - t) ** 2), opt)
    state = opt.init(eqx.filter(model, eqx.is_inexact_array))
    xs, ys = (jax.device_put(a, NamedSharding(mesh, P("batch"))) for a in (x, y))
    m_sharded, _, loss_sharded = step(model, state, xs, ys, jax.random.key(2))
    m_plain, _, loss_plain = step(model, state, x, y, jax.random.key(2))
    np.testing.assert_allclose(float(loss_sharded), float(loss_plain), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(m_sharded.w), np.asarray(m_plain.w), rtol=1e-12)
    assert float(m_plain.w) > 1.0  # the step moved the weight towards 3


@pytest.mark.skipif(jax.device_count() < 4, reason="needs 4 (fake) devices")
def test_fno_train_step_on_an_explicit_mesh_equals_the_unsharded_step():
    mesh = jax.make_mesh((4,), ("batch",), axis_types=(jax.sharding.AxisType.Explicit,))
    k_model, k_x, k_y, k_step = jax.random.split(jax.random.key(0), 4)
    model = FNO(1, 1, modes=(2, 2), width=4, key=k_model)
    x = jax.random.normal(k_x, (4, 1, 8, 8))
    y = jax.random.normal(k_y, (4, 1, 8, 8))
    opt = optax.adam(1e-2)
    state = opt.init(eqx.filter(model, eqx.is_inexact_array))
    step = training.make_train_step(training.relative_l2, opt)
    xs, ys = (jax.device_put(a, NamedSharding(mesh, P("batch"))) for a in (x, y))
    m_sharded, _, loss_sharded = step(model, state, xs, ys, k_step)
    m_plain, _, loss_plain = step(model, state, x, y, k_step)
    np.testing.assert_allclose(float(loss_sharded), float(loss_plain), rtol=1e-12)
    leaves = jax.tree_util.tree_leaves(eqx.filter(m_sharded, eqx.is_inexact_array))
    ref = jax.tree_util.tree_leaves(eqx.filter(m_plain, eqx.is_inexact_array))
    before = jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_inexact_array))
    assert len(leaves) == len(ref) > 2
    for a, b in zip(leaves, ref, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-12)
    assert any(not np.allclose(a, b) for a, b in zip(ref, before, strict=True))  # it moved
