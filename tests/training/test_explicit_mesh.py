"""`make_train_step` on a mesh with ``Explicit`` axes (the default of ``jax.make_mesh`` in jax 0.10).

``vmap`` needs every mapped input sharded alike along the mapped axis; the per-sample keys used to be
unsharded and the step failed with "Mapped away dimension of inputs passed to vmap should be sharded the
same". The keys now take the batch sharding of ``x``.
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
