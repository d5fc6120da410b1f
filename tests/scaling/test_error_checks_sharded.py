"""``jaxsci._checks.error_if_not``: the run-time value check survives ``jit``, returns its input
bit for bit, and on a sharded array communicates one scalar (it used to pass the whole array
through ``eqx.error_if``'s one-device ``lax.cond``, which gathered it)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from jaxsci._checks import error_if_not
from jaxsci.multigrid._sharding import collectives

# an always-true condition that depends on the data (so it is not folded away)
_check = jax.jit(lambda x: error_if_not(x, (x == x) | (x != x), "`x` is bad."))


@pytest.mark.parametrize(
    "x",
    [
        np.array([-0.0, 1.5, np.inf, -np.inf, np.nan]),
        np.array([1 + 2j, complex(np.inf, -0.0), complex(-0.0, np.inf)]),
        np.array([-3, 0, 7], np.int32),
        np.array([True, False]),
    ],
    ids=["float", "complex", "int", "bool"],
)
def test_returns_its_input_bit_for_bit(x):
    out = np.asarray(_check(jnp.asarray(x)))
    assert out.dtype == x.dtype
    assert out.tobytes() == x.tobytes()


def test_raises_under_jit():
    check = jax.jit(lambda x: error_if_not(x, x > 0, "`x` must be > 0."))
    assert float(check(jnp.ones(3)).sum()) == 3.0
    with pytest.raises(Exception, match="`x` must be > 0"):
        jax.block_until_ready(check(jnp.array([1.0, -1.0, 2.0])))


def test_a_sharded_check_communicates_a_scalar():
    mesh = jax.sharding.Mesh(
        np.asarray(jax.devices()[:8]), ("x",), axis_types=(jax.sharding.AxisType.Auto,)
    )
    x = jax.device_put(np.ones((64, 16)), NamedSharding(mesh, P("x", None)))
    run = jax.jit(lambda x: 2 * error_if_not(x, x > 0, "`x` must be > 0."))
    items = collectives(run.lower(x).compile().as_text())
    assert items, "the check was removed from the program"
    assert all(int(np.prod(c.largest)) <= 1 for c in items), items
    y = run(x)
    assert y.sharding.is_equivalent_to(x.sharding, 2)
    np.testing.assert_array_equal(y, 2 * np.ones((64, 16)))
