"""jaxsci.data: seeded, jit-compiled, vmapped generators of operator-learning data sets (no downloads).

- :func:`grf`: Gaussian random fields ``N(0, sigma^2 (-Laplacian + tau^2 I)^(-alpha))`` by spectral
  sampling (Fourier modes for periodic fields, a DCT-II cosine basis for Neumann-type fields).
- :func:`burgers`: the FNO Burgers data set, ``(u0, u(1))`` of 1D viscous Burgers (periodic,
  ``nu = 0.1``) solved pseudo-spectrally with ETDRK4 (:func:`burgers_solve`).
- :func:`darcy`: the FNO Darcy data set, ``(a, u)`` for ``-div(a grad u) = 1`` on the unit square with
  zero Dirichlet data and ``a`` a thresholded GRF taking the values 12 and 3, solved by
  :mod:`jaxsci.multigrid` (:func:`darcy_solve`).
- :func:`navier_stokes`: the FNO Navier-Stokes data set, vorticity trajectories ``(n, T, s, s)`` on
  the unit torus (GRF initial vorticity, the FNO forcing), pseudo-spectral with 2/3 dealiasing and
  Crank-Nicolson/Heun steps (:func:`navier_stokes_solve`, :func:`navier_stokes_forcing`).

Generators run in chunks with a progress bar (tqdm when installed) and cache data sets as ``.npz`` in
``cache_dir``.

Grids (one convention, :data:`jaxsci.spectral.GRID_LAYOUTS`, coordinates by
:func:`jaxsci.spectral.grid_coordinates`): non-periodic fields (``darcy``) are sampled at the nodes
``x_i = i/(s-1)`` of ``[0, 1]^d``, boundary included (``layout="nodes"``, the FNO data layout and the
default grid features of :class:`jaxsci.spectral.FNO`); periodic fields (``burgers``,
``grf(bc="periodic")``) at ``x_j = j/n`` (``"periodic"``); Neumann GRFs at cell centres
``(j + 1/2)/n`` (``"cells"``). A Dirichlet grid of :mod:`jaxsci.multigrid` or
:func:`jaxsci.spectral.solve_dirichlet` with ``n`` unknowns per axis (``x_i = (i+1)/(n+1)``,
``"interior"``) is the interior of the node grid with ``s = n + 2``: ``u[..., 1:-1, 1:-1]`` converts a
node field to it, ``jnp.pad(u, 1)`` back (zero boundary values).
"""

__all__ = [
    "DataFileNotFoundError",
    "InformerWindows",
    "ar_coefficients",
    "ar_process",
    "burgers",
    "burgers_solve",
    "cache_path",
    "darcy",
    "darcy_coefficient",
    "darcy_operator",
    "darcy_solve",
    "delayed_recall",
    "etdrk4_coefficients",
    "grf",
    "grf_eigenvalues",
    "informer_windows",
    "navier_stokes",
    "navier_stokes_forcing",
    "navier_stokes_solve",
]

from ._ar import ar_coefficients as ar_coefficients
from ._ar import ar_process as ar_process
from ._burgers import burgers as burgers
from ._burgers import burgers_solve as burgers_solve
from ._burgers import etdrk4_coefficients as etdrk4_coefficients
from ._darcy import darcy as darcy
from ._darcy import darcy_coefficient as darcy_coefficient
from ._darcy import darcy_operator as darcy_operator
from ._darcy import darcy_solve as darcy_solve
from ._generate import cache_path as cache_path
from ._grf import grf as grf
from ._grf import grf_eigenvalues as grf_eigenvalues
from ._informer import DataFileNotFoundError as DataFileNotFoundError
from ._informer import InformerWindows as InformerWindows
from ._informer import informer_windows as informer_windows
from ._navier_stokes import navier_stokes as navier_stokes
from ._navier_stokes import navier_stokes_forcing as navier_stokes_forcing
from ._navier_stokes import navier_stokes_solve as navier_stokes_solve
from ._recall import delayed_recall as delayed_recall
