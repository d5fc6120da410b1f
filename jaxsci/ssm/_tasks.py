"""Synthetic long-range tasks and a data-parallel training step for SSM models (used by the examples)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
from jaxtyping import Array, Float, Int, PRNGKeyArray

from .._checks import check_positive_int, check_range

__all__ = ["batch_mesh", "delayed_recall", "make_train_step", "replicate", "shard_batch"]


def batch_mesh(axis: str = "batch", devices=None) -> jax.sharding.Mesh:
    """A 1-D mesh over all local devices (or ``devices``) for data parallelism.

    The axis type is ``Auto``: ``jit`` propagates the batch sharding and inserts the gradient all-reduce."""
    n = len(devices) if devices is not None else len(jax.devices())
    return jax.make_mesh((n,), (axis,), axis_types=(jax.sharding.AxisType.Auto,), devices=devices)


def delayed_recall(
    key: PRNGKeyArray, batch: int, L: int, n_classes: int = 8, *, distractor_prob: float = 0.1
) -> tuple[Float[Array, " b l c1"], Int[Array, " b"]]:
    """Copy-the-first-token: the label is the token at position 0; it must be recalled after ``L - 1`` steps.

    Inputs are one-hot over ``n_classes + 1`` symbols (the last is "blank"); position 0 holds the label token,
    later positions are blank or, with probability ``distractor_prob``, a random distractor token.
    Chance accuracy is ``1 / n_classes``. Returns ``(x (batch, L, n_classes + 1), y (batch,))``.
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


def shard_batch(batch, mesh: jax.sharding.Mesh, axis: str = "batch"):
    """Place every array of ``batch`` with its leading axis split over ``mesh`` axis ``axis``."""
    sharding = NamedSharding(mesh, P(axis))
    return jax.tree.map(lambda a: jax.device_put(a, sharding), batch)


def replicate(tree, mesh: jax.sharding.Mesh):
    """Place every array leaf of ``tree`` (a model, an optimiser state) fully replicated on ``mesh``.

    Doing this once before training keeps the input shardings of the train step identical from step to step,
    so it compiles once."""
    sharding = NamedSharding(mesh, P())
    return jax.tree.map(lambda a: jax.device_put(a, sharding) if eqx.is_array(a) else a, tree)


def make_train_step(optimizer: optax.GradientTransformation):
    """A jitted cross-entropy training step ``(model, opt_state, x, y, key) -> (model, opt_state, loss, acc)``.

    Data-parallel when ``x``/``y`` are sharded along the batch (see :func:`shard_batch`) and the model is
    replicated: ``jit`` follows the data shardings and inserts the gradient all-reduce itself (no pmap).
    """

    def loss_fn(model, x, y, key):
        keys = jax.random.split(key, x.shape[0])
        logits = jax.vmap(lambda xi, ki: model(xi, key=ki))(x, keys)
        loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
        return loss, jnp.mean(jnp.argmax(logits, -1) == y)

    @eqx.filter_jit
    def step(model, opt_state, x, y, key):
        (loss, acc), grads = eqx.filter_value_and_grad(loss_fn, has_aux=True)(model, x, y, key)
        updates, opt_state = optimizer.update(
            grads, opt_state, eqx.filter(model, eqx.is_inexact_array)
        )
        return eqx.apply_updates(model, updates), opt_state, loss, acc

    return step
