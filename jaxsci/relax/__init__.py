"""jaxsci.relax — SOR, SSOR and SSOR-PCG whose relaxation parameter omega is learned online by bandits.

From Khodak, Chow, Balcan, Talwalkar, "Learning to Relax: Setting Solver Parameters Across a Sequence
of Linear System Instances" (ICLR 2024).

- Solvers, in jaxsci's one protocol (``state = solver.init(A)``, ``solver.solve(state, b, omega=...)``
  returning a :class:`jaxsci.Solution` with ``stats["num_steps"]`` = the sweeps or iterations, the cost
  the learners see): :class:`SOR`, :class:`SSOR`, :class:`SSORPCG`, :class:`CG` on dense, BCOO or
  :class:`LaplacianStencil` operators (``sweep="lexicographic"``: exact index order / MATLAB's
  column-major ``numgrid`` order; ``sweep="redblack"``: the vectorised red-black update of the grid
  family). One-line calls :func:`sor`, :func:`ssor`, :func:`ssor_pcg`, :func:`cg`,
  :func:`redblack_sor`, :func:`redblack_ssor`. All vmap over omega and over instances.
- Learners (optax-like ``init``/``sample``/``update``, pure, jit/vmap-able): :class:`TsallisINF`,
  :class:`Exp3`, :class:`TsallisINFCB`, :class:`ChebCB`; :func:`replay` on a cost table and
  :func:`run_online` with live solves (a failed solve costs the budget ``max_steps``).
- Comparators: :func:`young_omega` (host, float64), :func:`best_fixed_arm`,
  :func:`golden_section_search`.
- Instances: :func:`numgrid`, :func:`delsq`, :func:`shifted_laplacian_sequence`, :class:`HeatEquation`;
  cost tables :func:`shifted_laplacian_cost_table`, :func:`heat_cost_table`.
"""

from ._comparators import (
    best_fixed_arm,
    golden_section_search,
    jacobi_spectral_radius,
    sor_spectral_radius,
    young_omega,
    young_omega_from_beta,
)
from ._instances import (
    HeatEquation,
    ShiftedLaplacianSequence,
    default_kappa,
    delsq,
    grid_to_vector,
    heat_cost_table,
    numgrid,
    numgrid_stencil,
    shifted_laplacian_sequence,
    truncated_gaussian,
    vector_to_grid,
)
from ._learners import (
    BanditState,
    ChebCB,
    ChebCBState,
    Exp3,
    TsallisINF,
    TsallisINFCB,
    box_least_squares,
    chebyshev_features,
    tsallis_inf_probabilities,
)
from ._replay import replay, run_online, solve_cost
from ._solvers import (
    CG,
    SOR,
    SSOR,
    SSORPCG,
    AbstractRelaxSolver,
    cg,
    redblack_sor,
    redblack_ssor,
    sor,
    ssor,
    ssor_pcg,
)
from ._splitting import AbstractSplitting
from ._stencil import LaplacianStencil, laplacian_stencil
from ._table import shifted_laplacian_cost_table, sor_counts_batched

__all__ = [
    "CG",
    "SOR",
    "SSOR",
    "SSORPCG",
    "AbstractRelaxSolver",
    "AbstractSplitting",
    "BanditState",
    "ChebCB",
    "ChebCBState",
    "Exp3",
    "HeatEquation",
    "LaplacianStencil",
    "ShiftedLaplacianSequence",
    "TsallisINF",
    "TsallisINFCB",
    "best_fixed_arm",
    "box_least_squares",
    "cg",
    "chebyshev_features",
    "default_kappa",
    "delsq",
    "golden_section_search",
    "grid_to_vector",
    "heat_cost_table",
    "jacobi_spectral_radius",
    "laplacian_stencil",
    "numgrid",
    "numgrid_stencil",
    "redblack_sor",
    "redblack_ssor",
    "replay",
    "run_online",
    "shifted_laplacian_cost_table",
    "shifted_laplacian_sequence",
    "solve_cost",
    "sor",
    "sor_counts_batched",
    "sor_spectral_radius",
    "ssor",
    "ssor_pcg",
    "truncated_gaussian",
    "tsallis_inf_probabilities",
    "vector_to_grid",
    "young_omega",
    "young_omega_from_beta",
]
