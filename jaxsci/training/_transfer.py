"""Resolution transfer: evaluate a model trained on one grid on other (finer) grids."""

from __future__ import annotations

from typing import Any

from ._fit import evaluate

__all__ = ["resolution_transfer"]


def resolution_transfer(model, datasets: dict[Any, tuple], *, batch_size: int = 20,
                        h1_method: str = "fd") -> dict[Any, dict[str, float]]:
    """Evaluate one trained ``model`` on data sets at several resolutions, with no retraining.

    ``datasets`` maps a resolution label (e.g. 32, 64) to ``(x, y)`` with shapes ``(N, C, *spatial)``
    on that grid; returns ``{label: evaluate(model, data)}`` (relative L2, H1, MSE). The model must
    accept any grid size: :class:`jaxsci.spectral.FNO` truncates to the same Fourier modes at every
    resolution (discretisation-invariant by construction), :class:`jaxsci.multigrid.MgNO` applies the
    same 3x3 stencils on every grid, i.e. a different operator per grid spacing, so expect its error to
    grow on grids other than the training one. Normalisers inside the model must be resolution-free
    (``Normalizer.from_data(..., pointwise=False)``).
    """
    if not isinstance(datasets, dict) or not datasets:
        raise TypeError("`datasets` must be a non-empty dict {resolution: (x, y)}.")
    return {res: evaluate(model, data, batch_size=batch_size, h1_method=h1_method)
            for res, data in datasets.items()}
