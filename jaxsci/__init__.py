"""jaxsci: JAX-native scientific computing.

Subpackages
-----------
- :mod:`jaxsci.ssm`: diagonal state-space model kernels (Vandermonde products), initialisations, layers.
- :mod:`jaxsci.multigrid`: matrix-free geometric multigrid (V/W/F cycles, FMG, PCG), MgNO.
- :mod:`jaxsci.spectral`: spectral convolution, FFT/DST solves, FNO.
- :mod:`jaxsci.monotone`: (variance-reduced) Halpern iterations for finite-sum monotone inclusions.
- :mod:`jaxsci.relax`: SOR/SSOR/SSOR-PCG with the relaxation parameter learned online by bandits.
- :mod:`jaxsci.data`: generators of the data sets used by notebooks and benchmarks (no downloads).
- :mod:`jaxsci.operators`: the operator-learning models (FNO, MgNO, LSM, U-Nets, resolution-aware
  convolutions and attention as kernel integrals).
- :mod:`jaxsci.training`: losses, an optax training loop, checkpoints and run records for operator learning.

Every iterative solver returns a :class:`jaxsci.Solution` whose ``result`` is a :class:`jaxsci.RESULTS` member.
"""

import importlib
import importlib.metadata

from ._solution import RESULTS as RESULTS
from ._solution import Solution as Solution

try:
    __version__ = importlib.metadata.version("jaxsci")
except (
    importlib.metadata.PackageNotFoundError
):  # pragma: no cover - source checkout without install
    __version__ = "0.0.0+unknown"

_SUBPACKAGES = (
    "ssm",
    "multigrid",
    "spectral",
    "monotone",
    "relax",
    "data",
    "training",
    "operators",
)


def __getattr__(name):
    # Subpackages load on first use, so `import jaxsci` stays cheap and one core's import cost is not
    # paid by users of another.
    if name in _SUBPACKAGES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'jaxsci' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_SUBPACKAGES])
