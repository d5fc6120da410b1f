"""jaxsci.spectral: spectral convolution, FFT/DST solves, spectral derivatives and the FNO.

Core functions (pure, one sample, jit/vmap/grad-able):

- :func:`spectral_conv` — the Fourier layer kernel: ``rfftn`` over the spatial axes, every retained
  corner block (``2^(d-1)`` blocks in ``d`` dimensions) multiplied by learned complex matrices stored as
  separate real and imaginary float arrays of shape ``(2^(d-1), C_in, C_out, *modes)``, Hermitian-correct
  inverse, output at another resolution (``out_shape=``), an FFT path and a truncated-DFT-as-matmul path.

Equinox modules:

- :class:`SpectralConv` — a spectral convolution layer holding its weights.
- :class:`FNO` — the Fourier Neural Operator (1D/2D/3D, grid features, any evaluation resolution);
  :func:`num_real_parameters` counts real scalars (complex weights count twice).
"""

from ._conv import num_blocks as num_blocks
from ._conv import spectral_conv as spectral_conv
from ._fno import FNO as FNO
from ._fno import SpectralConv as SpectralConv
from ._fno import grid_coordinates as grid_coordinates
from ._fno import num_real_parameters as num_real_parameters
