"""jaxsci.monotone: (variance-reduced) Halpern iterations for finite-sum monotone inclusions.

Find z with 0 ∈ F(z) + G(z), F = (1/n) Σ_i F_i monotone, G = ι_C with a cheap projection — min-max problems
and games. Source: Cai, Alacaoglu & Diakonikolas, "Variance Reduced Halpern Iteration for Finite-Sum Monotone
Inclusions", ICLR 2024.

- Solvers (pure, jit/vmap-able, return :class:`jaxsci.Solution` with logged epochs and residuals):
  :func:`halpern`, :func:`extragradient`, :func:`anchored_extragradient`, :func:`vr_extragradient`,
  :func:`vr_halpern` (Algorithm 1), :func:`inexact_vr_halpern` (Algorithm 2); Equinox wrappers
  :class:`Halpern`, :class:`Extragradient`, :class:`AnchoredExtragradient`, :class:`VRExtragradient`,
  :class:`VRHalpern`, :class:`InexactVRHalpern`.
- Problems: :class:`AbstractFiniteSumProblem`, :class:`BilinearGame`, :class:`AffineFiniteSum`,
  :class:`RobustLogisticRegression`; generators :func:`policeman_and_burglar`, :func:`ouyang_xu_quadratic`,
  :func:`robust_logistic_regression`.
- Constraints (projections): :class:`Unconstrained`, :class:`Box`, :class:`Simplex`, :class:`Ball`,
  :class:`Product`, :func:`project_simplex`.
"""

from ._constraints import AbstractConstraint as AbstractConstraint
from ._constraints import Ball as Ball
from ._constraints import Box as Box
from ._constraints import Product as Product
from ._constraints import Simplex as Simplex
from ._constraints import Unconstrained as Unconstrained
from ._constraints import project_simplex as project_simplex
from ._generators import RobustLogisticRegression as RobustLogisticRegression
from ._generators import ouyang_xu_quadratic as ouyang_xu_quadratic
from ._generators import policeman_and_burglar as policeman_and_burglar
from ._generators import policeman_and_burglar_matrix as policeman_and_burglar_matrix
from ._generators import robust_logistic_regression as robust_logistic_regression
from ._problems import AbstractFiniteSumProblem as AbstractFiniteSumProblem
from ._problems import AffineFiniteSum as AffineFiniteSum
from ._problems import BilinearGame as BilinearGame
from ._problems import coordinate_groups as coordinate_groups
from ._sampling import sample_without_replacement as sample_without_replacement
from ._solvers import anchored_extragradient as anchored_extragradient
from ._solvers import extragradient as extragradient
from ._solvers import halpern as halpern
from ._solvers import inexact_vr_halpern as inexact_vr_halpern
from ._solvers import vr_extragradient as vr_extragradient
from ._solvers import vr_halpern as vr_halpern
from ._wrappers import AnchoredExtragradient as AnchoredExtragradient
from ._wrappers import Extragradient as Extragradient
from ._wrappers import Halpern as Halpern
from ._wrappers import InexactVRHalpern as InexactVRHalpern
from ._wrappers import VRExtragradient as VRExtragradient
from ._wrappers import VRHalpern as VRHalpern
