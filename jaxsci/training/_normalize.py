"""Gaussian normalisation of inputs and outputs with fixed (non-trainable) statistics."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

__all__ = ["Normalized", "Normalizer", "trainable_mask"]


class Normalizer(eqx.Module):
    """``encode(x) = (x - mean) / (std + eps)``, ``decode`` its inverse (FNO's ``UnitGaussianNormalizer``).

    Built by :meth:`from_data` from training samples of shape ``(N, C, *spatial)``: ``pointwise=True``
    keeps per-point statistics (shape ``(C, *spatial)``, tied to the resolution, as in the FNO scripts);
    ``pointwise=False`` uses one mean/std per channel (works at any resolution). Its arrays are data
    statistics, not parameters: :func:`jaxsci.training.fit` never updates them.
    """

    mean: Array
    std: Array
    eps: float = eqx.field(static=True, default=1e-5)

    @classmethod
    def from_data(
        cls, data: Float[Array, " n c *spatial"], *, pointwise: bool = True
    ) -> Normalizer:
        data = jnp.asarray(data)
        if data.ndim < 3:
            raise ValueError(f"`data` must have shape (N, C, *spatial), got {data.shape}.")
        axes = (0,) if pointwise else (0,) + tuple(range(2, data.ndim))
        mean = jnp.mean(data, axis=axes, keepdims=True)[0]
        std = jnp.std(data, axis=axes, keepdims=True)[0]
        return cls(mean, std)

    def encode(self, x):
        return (x - jax.lax.stop_gradient(self.mean)) / (jax.lax.stop_gradient(self.std) + self.eps)

    def decode(self, x):
        return x * (jax.lax.stop_gradient(self.std) + self.eps) + jax.lax.stop_gradient(self.mean)


class Normalized(eqx.Module):
    """``x -> y_normalizer.decode(model(x_normalizer.encode(x)))``: train on raw data, with the model
    seeing normalised fields (either normalizer may be ``None``)."""

    model: eqx.Module
    x_normalizer: Normalizer | None = None
    y_normalizer: Normalizer | None = None

    def __call__(self, x, *, key=None):
        if self.x_normalizer is not None:
            x = self.x_normalizer.encode(x)
        y = self.model(x)
        if self.y_normalizer is not None:
            y = self.y_normalizer.decode(y)
        return y


def trainable_mask(model):
    """A pytree of bools: inexact arrays outside :class:`Normalizer` nodes are trainable."""
    return jax.tree.map(
        lambda leaf: False if isinstance(leaf, Normalizer) else eqx.is_inexact_array(leaf),
        model,
        is_leaf=lambda x: isinstance(x, Normalizer),
    )
