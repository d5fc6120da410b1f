"""Parameter counts in real scalars."""

import math
from typing import Any

import jax
import jax.numpy as jnp

__all__ = ["num_real_parameters"]


def _is_inexact_array_like(leaf: Any) -> bool:
    # arrays, and ShapeDtypeStructs so that `jax.eval_shape(make_model, key)` can be counted
    dtype = getattr(leaf, "dtype", None)
    return (
        dtype is not None
        and hasattr(leaf, "shape")
        and not isinstance(leaf, (int, float, complex, bool))
        and jnp.issubdtype(dtype, jnp.inexact)
    )


def num_real_parameters(model: Any) -> int:
    """The number of trainable real scalars in ``model``: the sizes of its inexact array leaves, a
    complex leaf counted twice. The one parameter count of jaxsci.

    jaxsci stores every complex weight as two real arrays (``w_re``, ``w_im``), so this is the count
    to compare models by, as the FNO papers' ``count_params`` does (a PyTorch ``numel`` sum over complex
    tensors counts them once: the Darcy FNO-2D has 2,368,001 real scalars but 1,188,353 "numel").
    Leaves inside a :class:`~jaxsci.training.Normalizer` (fixed data statistics) are not parameters
    and are not counted; static fields and integer leaves neither. Works on ``jax.eval_shape``
    outputs (no allocation): ``num_real_parameters(jax.eval_shape(make_model, key))``.
    """
    from ._normalize import Normalizer

    leaves = jax.tree.leaves(
        model, is_leaf=lambda node: isinstance(node, Normalizer) or _is_inexact_array_like(node)
    )
    total = 0
    for leaf in leaves:
        if isinstance(leaf, Normalizer) or not _is_inexact_array_like(leaf):
            continue
        size = math.prod(leaf.shape)
        total += size * (2 if jnp.issubdtype(leaf.dtype, jnp.complexfloating) else 1)
    return int(total)
