"""Flax NNX front end: ``nnx.Module`` twins of jaxsci's models over the same core functions.

Needs the optional extra ``flax`` (``pip install "jaxsci[flax]"``); ``import jaxsci`` never imports flax.

Each twin (:class:`S4DLayer`, :class:`S5Layer`, :class:`SSMModel`, :class:`MambaBlock`,
:class:`MambaModel`, :class:`CompanionSSM`, :class:`SpaceTime`, :class:`FNO`, :class:`MgNO`,
:class:`LSM`) takes its Equinox class's arguments with ``rngs=nnx.Rngs(...)`` instead of ``key=``, stores
the parameters as ``nnx.Param`` (complex quantities as separate real and imaginary parts, at the Equinox
field paths) and evaluates the Equinox model's methods on them, so both front ends compute the same
function with the same cost. :func:`to_nnx` and :func:`to_equinox` convert trained weights either way,
exactly.
"""

try:
    import flax.nnx  # noqa: F401
except ImportError as err:  # pragma: no cover - exercised by tests/nnx in a subprocess without flax
    raise ImportError(
        "jaxsci.nnx needs Flax (NNX), which is not installed: install the optional extra "
        '`pip install "jaxsci[flax]"` (or `pip install flax`). The rest of jaxsci works without it.'
    ) from err

from ._models import FNO as FNO
from ._models import LSM as LSM
from ._models import CompanionSSM as CompanionSSM
from ._models import MambaBlock as MambaBlock
from ._models import MambaModel as MambaModel
from ._models import MgNO as MgNO
from ._models import S4DLayer as S4DLayer
from ._models import S5Layer as S5Layer
from ._models import SpaceTime as SpaceTime
from ._models import SSMModel as SSMModel
from ._twin import to_equinox as to_equinox
from ._twin import to_nnx as to_nnx

__all__ = [
    "S4DLayer",
    "S5Layer",
    "SSMModel",
    "MambaBlock",
    "MambaModel",
    "CompanionSSM",
    "SpaceTime",
    "FNO",
    "MgNO",
    "LSM",
    "to_nnx",
    "to_equinox",
]
