"""Resolution transfer: evaluate a model trained on one grid on other (finer) grids."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ..spectral._inputs import as_real
from ._fit import evaluate

__all__ = ["resample", "resolution_transfer"]


def resample(
    x: Float[ArrayLike, " c *spatial"], shape: Sequence[int], *, periodic: bool = False
) -> Float[Array, " c *shape"]:
    """Separable linear interpolation of one channels-first field onto the grid ``shape``.

    Node grids ``x_i = i/(n-1)`` per axis (endpoints included, the Darcy layout), or with
    ``periodic=True`` periodic grids ``x_i = i/n``. On nested grids (``2s - 1 -> s`` nodes, ``2s -> s``
    periodic points) it is exact injection, and linear interpolation the other way; injecting an
    interpolated field gives it back. Cost O(C N n) for ``N`` points and ``n`` per axis. Batch-free
    (``jax.vmap`` over a batch ``(N, C, *spatial)``). Every axis of ``x`` and ``shape`` needs at least 2
    points.
    """
    from ..multigrid._mgno import _resample

    x = as_real(x, "x")
    if x.ndim < 2:
        raise ValueError(
            f"`x` must be one channels-first field of shape (C, *spatial), got shape {x.shape}."
        )
    if isinstance(shape, (int, float)) or not hasattr(shape, "__iter__"):
        raise TypeError(f"`shape` must be a sequence of grid sizes, got {shape!r}.")
    shape = tuple(shape)
    for n in shape:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"`shape` must hold ints, got {shape!r}.")
    if len(shape) != x.ndim - 1:
        raise ValueError(
            f"`shape` must have one entry per spatial axis of `x` ({x.ndim - 1} for `x` of shape "
            f"{x.shape}, channels first), got {shape}; for a batch (N, C, *spatial) use jax.vmap."
        )
    if min(shape) < 2:
        raise ValueError(f"`shape` entries must be >= 2, got {shape}.")
    if x.shape[0] == 0 or min(x.shape[1:]) < 2:
        raise ValueError(
            f"`x` must have at least one channel and 2 points per spatial axis, got shape {x.shape}."
        )
    return _resample(x, tuple(int(n) for n in shape), bool(periodic))


def resolution_transfer(
    model: Callable,
    datasets: dict[Any, tuple],
    *,
    batch_size: int = 20,
    h1_method: str = "fd",
) -> dict[Any, dict[str, float]]:
    """Evaluate one trained ``model`` on data sets at several resolutions, with no retraining.

    ``datasets`` maps a resolution label (e.g. 32, 64) to ``(x, y)`` with shapes ``(N, C, *spatial)``
    on that grid; returns ``{label: evaluate(model, data)}`` (relative L2, H1, MSE). The model must
    accept any grid size: :class:`jaxsci.spectral.FNO` truncates to the same Fourier modes at every
    resolution (discretisation-invariant by construction). :class:`jaxsci.multigrid.MgNO` built with
    ``grid_shape`` = its training grid runs its V-cycles on that grid and interpolates (the stencils
    keep their spacing); without it, it applies the same 3x3 stencils on every grid, i.e. a different
    operator per grid spacing, and its error grows sharply on other grids. Normalisers inside the model
    work at any resolution (:class:`~jaxsci.training.Normalizer` does: per-channel statistics by
    default, resampled per-point statistics with ``pointwise=True``).
    """
    if not isinstance(datasets, dict) or not datasets:
        raise TypeError("`datasets` must be a non-empty dict {resolution: (x, y)}.")
    return {
        res: evaluate(model, data, batch_size=batch_size, h1_method=h1_method)
        for res, data in datasets.items()
    }
