"""Neural-operator models refuse NaN/inf inputs at run time, naming ``x`` (issue 11).

A NaN in one input point of FNO or MgNO used to come back as a field of NaN (the Fourier modes and the
V-cycles spread it everywhere) with no error; the SSM layers already refuse it (their registry).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsci.multigrid import MgNO
from jaxsci.spectral import FNO

MODELS = {
    "FNO": lambda key: FNO(1, 1, modes=(4, 4), width=4, key=key),
    "MgNO": lambda key: MgNO(1, 1, width=4, grid_shape=None, key=key),
}


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_model_refuses_nonfinite_input(name, bad, key):
    model = MODELS[name](key)
    x = jnp.ones((1, 8, 8))
    assert bool(jnp.all(jnp.isfinite(model(x))))
    with pytest.raises(eqx.EquinoxRuntimeError, match="`x` must be finite"):
        jax.block_until_ready(model(x.at[0, 2, 3].set(bad)))
    # also under jit and for one bad member of a vmapped batch
    batch = jnp.stack([x, x.at[0, 1, 1].set(bad)])
    with pytest.raises(eqx.EquinoxRuntimeError, match="`x` must be finite"):
        jax.block_until_ready(eqx.filter_jit(lambda m, b: jax.vmap(m)(b))(model, batch))
