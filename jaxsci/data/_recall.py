"""Delayed recall (copy-the-first-token): a synthetic long-memory sequence-classification task."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int, PRNGKeyArray

from .._checks import check_positive_int, check_range

__all__ = ["delayed_recall"]


def delayed_recall(
    key: PRNGKeyArray, batch: int, L: int, n_classes: int = 8, *, distractor_prob: float = 0.1
) -> tuple[Float[Array, " batch l c1"], Int[Array, " batch"]]:
    """Copy-the-first-token: the label is the token at position 0; it must be recalled after ``L - 1`` steps.

    Inputs are one-hot over ``n_classes + 1`` symbols (the last is "blank"); position 0 holds the label token,
    later positions are blank or, with probability ``distractor_prob``, a random distractor token.
    Chance accuracy is ``1 / n_classes``. Sequences are time-first: returns ``(x, y)`` with ``x`` of shape
    ``(batch, L, n_classes + 1)`` in JAX's default float dtype and integer labels ``y`` ``(batch,)``.
    Seeded by ``key`` (works under ``jax.jit`` with the sizes static). This is the long-memory regime of the
    S4 paper's synthetic memory tasks; ``notebooks/ssm_training.py`` trains an ``SSMModel`` on it.
    """
    batch = check_positive_int(batch, "batch")
    L = check_positive_int(L, "L", minimum=2)
    n_classes = check_positive_int(n_classes, "n_classes", minimum=2)
    check_range(distractor_prob, "distractor_prob", 0.0, 1.0, closed="both")
    k1, k2, k3 = jax.random.split(key, 3)
    y = jax.random.randint(k1, (batch,), 0, n_classes)
    noise = jax.random.randint(k2, (batch, L), 0, n_classes)
    mask = jax.random.bernoulli(k3, distractor_prob, (batch, L))
    tokens = jnp.where(mask, noise, n_classes).at[:, 0].set(y)
    return jax.nn.one_hot(tokens, n_classes + 1), y
