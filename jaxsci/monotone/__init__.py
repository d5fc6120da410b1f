"""jaxsci.monotone: (variance-reduced) Halpern iterations for finite-sum monotone inclusions.

Find z with 0 ∈ F(z) + G(z), F = (1/n) Σ_i F_i monotone, G = ι_C with a cheap projection — min-max problems
and games. Source: Cai, Alacaoglu & Diakonikolas, "Variance Reduced Halpern Iteration for Finite-Sum Monotone
Inclusions", ICLR 2024.

- Solvers (the protocol of ``design.md``: a configuration module, ``init(problem)``, a jitted
  ``solve(state, z0, *, key=None, throw=True) -> Solution``): :class:`Halpern`,
  :class:`Extragradient`, :class:`AnchoredExtragradient`, :class:`VRExtragradient`,
  :class:`VRHalpern` (Algorithm 1), :class:`InexactVRHalpern` (Algorithm 2); one-line calls
  :func:`halpern`, :func:`extragradient`, :func:`anchored_extragradient`, :func:`vr_extragradient`,
  :func:`vr_halpern`, :func:`inexact_vr_halpern`. Budgets are ``max_epochs`` (oracle epochs), ``tol=None``
  runs the whole budget; ``stats`` keys and stopping rules: :mod:`jaxsci.monotone._driver`.
- Problems: :class:`AbstractFiniteSumProblem`, :class:`BilinearGame` (with :meth:`~BilinearGame.duality_gap`,
  :meth:`~BilinearGame.value_bounds`, and :func:`game_value`), :class:`AffineFiniteSum`,
  :class:`RobustLogisticRegression`; generators :func:`policeman_and_burglar`, :func:`ouyang_xu_quadratic`,
  :func:`robust_logistic_regression`.
- Constraints (projections and support functions): :class:`Unconstrained`, :class:`Box`, :class:`Simplex`,
  :class:`Ball`, :class:`Product`, :func:`project_simplex`.
"""

from ._constraints import AbstractConstraint as AbstractConstraint
from ._constraints import Ball as Ball
from ._constraints import Box as Box
from ._constraints import Product as Product
from ._constraints import Simplex as Simplex
from ._constraints import Unconstrained as Unconstrained
from ._constraints import project_simplex as project_simplex
from ._driver import AbstractMonotoneSolver as AbstractMonotoneSolver
from ._driver import MonotoneState as MonotoneState
from ._extragradient import AnchoredExtragradient as AnchoredExtragradient
from ._extragradient import Extragradient as Extragradient
from ._extragradient import VRExtragradient as VRExtragradient
from ._extragradient import anchored_extragradient as anchored_extragradient
from ._extragradient import extragradient as extragradient
from ._extragradient import vr_extragradient as vr_extragradient
from ._games import game_value as game_value
from ._generators import RobustLogisticRegression as RobustLogisticRegression
from ._generators import ouyang_xu_quadratic as ouyang_xu_quadratic
from ._generators import policeman_and_burglar as policeman_and_burglar
from ._generators import policeman_and_burglar_matrix as policeman_and_burglar_matrix
from ._generators import robust_logistic_regression as robust_logistic_regression
from ._halpern import Halpern as Halpern
from ._halpern import InexactVRHalpern as InexactVRHalpern
from ._halpern import VRHalpern as VRHalpern
from ._halpern import halpern as halpern
from ._halpern import inexact_vr_halpern as inexact_vr_halpern
from ._halpern import vr_halpern as vr_halpern
from ._problems import AbstractFiniteSumProblem as AbstractFiniteSumProblem
from ._problems import AffineFiniteSum as AffineFiniteSum
from ._problems import BilinearGame as BilinearGame
from ._problems import coordinate_groups as coordinate_groups
from ._sampling import sample_without_replacement as sample_without_replacement

__all__ = [
    "AbstractConstraint",
    "AbstractFiniteSumProblem",
    "AbstractMonotoneSolver",
    "AffineFiniteSum",
    "AnchoredExtragradient",
    "Ball",
    "BilinearGame",
    "Box",
    "Extragradient",
    "Halpern",
    "InexactVRHalpern",
    "MonotoneState",
    "Product",
    "RobustLogisticRegression",
    "Simplex",
    "Unconstrained",
    "VRExtragradient",
    "VRHalpern",
    "anchored_extragradient",
    "coordinate_groups",
    "extragradient",
    "game_value",
    "halpern",
    "inexact_vr_halpern",
    "ouyang_xu_quadratic",
    "policeman_and_burglar",
    "policeman_and_burglar_matrix",
    "project_simplex",
    "robust_logistic_regression",
    "sample_without_replacement",
    "vr_extragradient",
    "vr_halpern",
]
