"""Parameter counts in real scalars."""

import equinox as eqx
import jax
import jax.numpy as jnp

__all__ = ["num_real_parameters"]


def num_real_parameters(model) -> int:
    """The number of real scalars in the inexact array leaves of ``model`` (a complex leaf counts twice).

    This is the count to compare models by (a generic ``numel`` count undercounts complex FNO weights by
    half: FNO-2D Darcy is 2,368,001 real scalars but 1,188,353 by numel). Leaves inside a
    :class:`~jaxsci.training.Normalizer` (fixed data statistics) are not parameters and are not counted.
    """
    from ._normalize import trainable_mask

    params = eqx.filter(model, trainable_mask(model))
    total = 0
    for leaf in jax.tree.leaves(params):
        if eqx.is_inexact_array(leaf):
            total += leaf.size * (2 if jnp.iscomplexobj(leaf) else 1)
    return int(total)
