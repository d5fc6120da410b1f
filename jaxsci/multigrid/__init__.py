"""jaxsci.multigrid: matrix-free geometric multigrid in pure JAX.

- Operators ``-div(a grad u) + c u`` on 1D/2D/3D structured grids with Dirichlet, Neumann or periodic
  boundaries: :func:`poisson`, :func:`diffusion` (:class:`DiffusionOperator`, a lineax operator of the
  jaxsci grid family: ``mv``, ``diagonal``, ``as_matrix``, ``as_bcoo``, ``as_scipy``).
- The solver protocol: ``solver = Multigrid(...)`` (configuration), ``state = solver.init(op)`` (the
  :class:`Hierarchy`, built once), ``solver.solve(state, f)`` (a :class:`jaxsci.Solution`),
  ``solver.preconditioner(state)`` (one V-cycle for ``lineax.CG``), and :class:`MultigridSolver`
  for ``lineax.linear_solve(op, f, solver=MultigridSolver())``.
- One-line calls: :func:`solve` (V/W/F cycles, FMG; red-black Gauss-Seidel, damped Jacobi, Chebyshev
  smoothers), :func:`pcg` (CG preconditioned by one cycle), :func:`fmg_solve` (one FMG pass). All
  return :class:`jaxsci.Solution`, are ``eqx.filter_jit``-ed, run under ``jit``/``vmap`` and
  differentiate implicitly.
- Building blocks: :func:`prolong`, :func:`restrict`, :func:`coarsen`, :func:`smooth`,
  :func:`build_hierarchy` (coarse operators by coefficient averaging, or Galerkin ``R A P`` as
  :class:`GalerkinOperator` with ``coarse="galerkin"``), :func:`cycle`.
- :class:`MgNO`: the multigrid neural operator (He, Liu & Xu, ICLR 2024), each linear operator a
  learned multi-channel V-cycle of 3x3 convolutions; any resolution, boundary condition by padding mode.
"""

from ._cycle import cycle as cycle
from ._cycle import smooth as smooth
from ._galerkin import GalerkinOperator as GalerkinOperator
from ._hierarchy import Hierarchy as Hierarchy
from ._hierarchy import build_hierarchy as build_hierarchy
from ._mgno import MgNO as MgNO
from ._operator import DiffusionOperator as DiffusionOperator
from ._operator import diffusion as diffusion
from ._operator import poisson as poisson
from ._solve import Multigrid as Multigrid
from ._solve import MultigridSolver as MultigridSolver
from ._solve import default_multigrid_rtol as default_multigrid_rtol
from ._solve import fmg_solve as fmg_solve
from ._solve import pcg as pcg
from ._solve import solve as solve
from ._transfer import coarsen as coarsen
from ._transfer import prolong as prolong
from ._transfer import restrict as restrict

__all__ = [
    "DiffusionOperator",
    "GalerkinOperator",
    "Hierarchy",
    "MgNO",
    "Multigrid",
    "MultigridSolver",
    "build_hierarchy",
    "coarsen",
    "cycle",
    "default_multigrid_rtol",
    "diffusion",
    "fmg_solve",
    "pcg",
    "poisson",
    "prolong",
    "restrict",
    "smooth",
    "solve",
]
