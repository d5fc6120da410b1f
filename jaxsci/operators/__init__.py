"""jaxsci.operators: the one home of jaxsci's operator-learning models (neural operators).

All models are Equinox modules on one channels-first sample ``(C, *spatial)`` (batch with
``jax.vmap``), ``model(x, *, key=None)``, initialisable under ``jax.jit`` / ``eqx.filter_vmap``; train
them with :mod:`jaxsci.training`.

- :class:`FNO` (Li et al., ICLR 2021) — re-exported from :mod:`jaxsci.spectral` (still importable there).
- :class:`MgNO` (He, Liu & Xu, ICLR 2024) — re-exported from :mod:`jaxsci.multigrid` (still there).
- :class:`LSM` — Latent Spectral Models (Wu et al., ICML 2023): a U-Net whose skip tensors pass
  through neural spectral blocks (patch-wise latent-token attention with a sin/cos transition).
- :class:`UNet` — the U-Net baseline of LSM's table (fixed-resolution stencils).
- Neural operators from standard architectures (Berner et al., 2025, arXiv 2506.10973):
  :class:`ResolutionAwareConv` (a convolution whose kernel lives on a fixed physical stencil,
  resampled to the input grid and rescaled by the quadrature weights, padding scaled with the
  resolution), :class:`ResolutionAwareUNet` (a U-Net built from it: the same operator on every grid, up
  to discretisation error), :class:`KernelIntegralAttention` (softmax attention as a
  quadrature-weighted kernel integral), :class:`InterpolatedOperator` (the input-output interpolation
  baseline: run a fixed network at its training resolution from any grid).
"""

__all__ = [
    "FNO",
    "LSM",
    "InterpolatedOperator",
    "KernelIntegralAttention",
    "MgNO",
    "ResolutionAwareConv",
    "ResolutionAwareUNet",
    "UNet",
]

from ..multigrid import MgNO as MgNO
from ..spectral import FNO as FNO
from ._lsm import LSM as LSM
from ._lsm import UNet as UNet
from ._nno import InterpolatedOperator as InterpolatedOperator
from ._nno import KernelIntegralAttention as KernelIntegralAttention
from ._nno import ResolutionAwareConv as ResolutionAwareConv
from ._nno import ResolutionAwareUNet as ResolutionAwareUNet
