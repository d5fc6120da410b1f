"""jaxsci.spectral: spectral convolution, FFT/DST solves, spectral derivatives and the FNO.

Core functions (pure, one sample, jit/vmap/grad-able):

- :func:`spectral_conv` — the Fourier layer kernel: ``rfftn`` over the spatial axes, every retained
  corner block (``2^(d-1)`` blocks in ``d`` dimensions) multiplied by learned complex matrices stored as
  separate real and imaginary float arrays of shape ``(2^(d-1), C_in, C_out, *modes)``, Hermitian-correct
  inverse, output at another resolution (``out_shape=``), an FFT path and a truncated-DFT-as-matmul path.

- :func:`solve_periodic` — FFT solve of ``-Δu + k u = f`` (any real ``k``: Poisson, screened Poisson,
  indefinite Helmholtz) on a periodic grid (spectral or FD symbol), returning a :class:`jaxsci.Solution`;
  singular modes (the mean for ``k = 0``, resonances for ``k < 0``) are projected out or reported.
- :func:`solve_dirichlet` — DST-I solve of ``-Δu + k u = f`` with zero Dirichlet data on the interior
  nodes ``j h``, ``h = L/(n+1)``; ``stencil="fd"`` is the exact inverse of the 3/5/7-point Laplacian.
- :func:`solve_periodic_sharded`, :func:`spectral_conv_sharded` — the FFT solve (slab-decomposed,
  ``shard_map`` + ``all_to_all``) and the Fourier layer (truncated DFTs, one small all-reduce) on a
  field sharded over devices along one axis; XLA's own FFT gathers a sharded field first.
- :func:`dst1`, :func:`dstn`, :func:`idstn` — DST-I (as ``scipy.fft.dst(type=1)``), built on ``rfft``.
- :func:`spectral_derivative`, :func:`spectral_gradient`, :func:`spectral_laplacian` — derivatives of
  periodic fields on ``[0, L)^d``; :func:`wavenumbers`.

Equinox modules:

- :class:`SpectralConv` — a spectral convolution layer holding its weights.
- :class:`FNO` — the Fourier Neural Operator (1D/2D/3D, grid features, any evaluation resolution).
  Count its parameters with :func:`jaxsci.training.num_real_parameters`.

Grids: :func:`grid_coordinates` and :data:`GRID_LAYOUTS` name the point layouts shared with
:mod:`jaxsci.data` and :mod:`jaxsci.multigrid` (``"nodes"``, ``"interior"``, ``"periodic"``, ``"cells"``).
"""

__all__ = [
    "FNO",
    "GRID_LAYOUTS",
    "SpectralConv",
    "dirichlet_eigenvalues",
    "dst1",
    "dstn",
    "grid_coordinates",
    "idstn",
    "num_blocks",
    "solve_dirichlet",
    "solve_periodic",
    "solve_periodic_sharded",
    "spectral_conv",
    "spectral_conv_sharded",
    "spectral_derivative",
    "spectral_gradient",
    "spectral_laplacian",
    "wavenumbers",
]

from ._conv import num_blocks as num_blocks
from ._conv import spectral_conv as spectral_conv
from ._derivatives import spectral_derivative as spectral_derivative
from ._derivatives import spectral_gradient as spectral_gradient
from ._derivatives import spectral_laplacian as spectral_laplacian
from ._fno import FNO as FNO
from ._fno import GRID_LAYOUTS as GRID_LAYOUTS
from ._fno import SpectralConv as SpectralConv
from ._fno import grid_coordinates as grid_coordinates
from ._sharded import solve_periodic_sharded as solve_periodic_sharded
from ._sharded import spectral_conv_sharded as spectral_conv_sharded
from ._solve import dirichlet_eigenvalues as dirichlet_eigenvalues
from ._solve import solve_dirichlet as solve_dirichlet
from ._solve import solve_periodic as solve_periodic
from ._transforms import dst1 as dst1
from ._transforms import dstn as dstn
from ._transforms import idstn as idstn
from ._transforms import wavenumbers as wavenumbers
