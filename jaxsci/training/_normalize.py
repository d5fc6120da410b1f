"""Gaussian normalisation of inputs and outputs with fixed (non-trainable) statistics."""

from __future__ import annotations

from collections.abc import Callable
from typing import final

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray, Real

from .._checks import check_choice, check_positive, error_if_not
from ..spectral._inputs import as_real

__all__ = ["Normalized", "Normalizer", "trainable_mask"]

_LAYOUTS = ("nodes", "periodic")


@final
class Normalizer(eqx.Module):
    """``encode(x) = (x - mean) / (std + eps)``, ``decode`` its inverse (FNO's ``UnitGaussianNormalizer``),
    for one channels-first sample ``x`` of shape ``(C, *spatial)`` on any grid.

    Built by :meth:`from_data` from training samples of shape ``(N, C, *spatial)``:

    - ``pointwise=False`` (the default): one mean and one standard deviation per channel, shape
      ``(C, 1, ..., 1)``, broadcast over any grid. This keeps "any resolution" true: the statistics
      of a field (a GRF coefficient, a PDE solution) do not depend on the grid it is sampled on, so a
      model trained on 32² grids normalises its 64² inputs exactly as it did in training.
    - ``pointwise=True``: per-point statistics, shape ``(C, *spatial)``, as in the FNO scripts. On
      another grid they are resampled to it by linear interpolation in the data's ``layout``
      (``"nodes"``: ``x_i = i/(n-1)``, ``jaxsci.data.darcy``; ``"periodic"``: ``x_j = j/n``; see
      :func:`jaxsci.training.resample`), so the statistics of a physical point stay those of that
      point. On the training grid nothing is resampled.

    Its arrays are data statistics, not parameters: :func:`jaxsci.training.make_train_step` and
    :func:`~jaxsci.training.fit` never update them and :func:`num_real_parameters` does not count them.
    """

    mean: Float[Array, " c *grid"]
    std: Float[Array, " c *grid"]
    eps: float = eqx.field(static=True, default=1e-5)
    layout: str = eqx.field(static=True, default="nodes")

    def __check_init__(self):
        if jnp.shape(self.mean) != jnp.shape(self.std):
            raise ValueError(
                f"`mean` and `std` must have the same shape, got {jnp.shape(self.mean)} and "
                f"{jnp.shape(self.std)}."
            )
        if jnp.ndim(self.mean) < 1:
            raise ValueError(f"`mean` must have shape (C, *grid), got {jnp.shape(self.mean)}.")
        check_choice(self.layout, "layout", _LAYOUTS)
        check_positive(self.eps, "eps", strict=False)

    @classmethod
    def from_data(
        cls,
        data: Real[ArrayLike, " n c *spatial"],
        *,
        pointwise: bool = False,
        layout: str = "nodes",
        eps: float = 1e-5,
    ) -> Normalizer:
        """Statistics of ``data`` (shape ``(N, C, *spatial)``, ``N >= 1``): per channel (default) or
        per point. Computed on ``data`` scaled by its largest magnitude per channel (or point), so
        they neither overflow nor underflow. A NaN or inf in ``data`` raises at run time
        (``eqx.error_if``): one bad sample would make every statistic NaN."""
        check_choice(layout, "layout", _LAYOUTS)
        check_positive(eps, "eps", strict=False)
        data = as_real(data, "data", integers=True)
        if data.ndim < 2:
            raise ValueError(f"`data` must have shape (N, C, *spatial), got {data.shape}.")
        if data.size == 0:
            raise ValueError(f"`data` must not be empty, got shape {data.shape}.")
        axes = (0,) if pointwise else (0,) + tuple(range(2, data.ndim))
        scale = jnp.max(jnp.abs(data), axis=axes, keepdims=True)
        scale = jnp.where((scale > 0) & jnp.isfinite(scale), scale, jnp.ones_like(scale))
        scaled = data / scale
        mean = (jnp.mean(scaled, axis=axes, keepdims=True) * scale)[0]
        std = (jnp.std(scaled, axis=axes, keepdims=True) * scale)[0]
        std = error_if_not(
            std,
            jnp.isfinite(mean).all() & jnp.isfinite(std).all(),
            "Normalizer.from_data: `data` contains NaN or inf (drop or repair those samples).",
        )
        return cls(mean, std, eps=eps, layout=layout)

    @property
    def pointwise(self) -> bool:
        """Whether the statistics are per point (else per channel)."""
        return any(n != 1 for n in jnp.shape(self.mean)[1:])

    def _stats(self, x) -> tuple[Array, Array]:
        mean, std = jax.lax.stop_gradient(self.mean), jax.lax.stop_gradient(self.std)
        if jnp.ndim(x) != mean.ndim:
            raise ValueError(
                f"`x` must have shape (C, *spatial) with {mean.ndim - 1} spatial axes (statistics of "
                f"shape {mean.shape}), got {jnp.shape(x)}."
            )
        spatial = tuple(jnp.shape(x)[1:])
        if self.pointwise and tuple(mean.shape[1:]) != spatial:
            from ._transfer import resample

            periodic = self.layout == "periodic"
            mean = resample(mean, spatial, periodic=periodic)
            std = resample(std, spatial, periodic=periodic)
        return mean, std

    def encode(self, x: Real[ArrayLike, " c *spatial"]) -> Float[Array, " c *spatial"]:
        """``(x - mean) / (std + eps)`` on the grid of ``x``."""
        mean, std = self._stats(x)
        return (jnp.asarray(x).astype(mean.dtype) - mean) / (std + self.eps)

    def decode(self, x: Real[ArrayLike, " c *spatial"]) -> Float[Array, " c *spatial"]:
        """``x * (std + eps) + mean`` on the grid of ``x``."""
        mean, std = self._stats(x)
        return jnp.asarray(x).astype(mean.dtype) * (std + self.eps) + mean


@final
class Normalized(eqx.Module):
    """``x -> y_normalizer.decode(model(x_normalizer.encode(x), key=key))``: train on raw data, with
    the model seeing normalised fields (either normalizer may be ``None``). ``key`` is passed on to
    the model (dropout); the normalisers are deterministic."""

    model: Callable
    x_normalizer: Normalizer | None = None
    y_normalizer: Normalizer | None = None

    def __check_init__(self):
        for name in ("x_normalizer", "y_normalizer"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Normalizer):
                raise TypeError(
                    f"`{name}` must be a Normalizer or None, got {type(value).__name__}."
                )

    def __call__(
        self, x: Real[ArrayLike, " c_in *spatial"], *, key: PRNGKeyArray | None = None
    ) -> Float[Array, " c_out *out_spatial"]:
        if self.x_normalizer is not None:
            x = self.x_normalizer.encode(x)
        y = self.model(x, key=key)
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
