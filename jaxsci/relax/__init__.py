"""jaxsci.relax — SOR, SSOR and SSOR-PCG whose relaxation parameter ω is learned online by bandits.

From Khodak, Chow, Balcan, Talwalkar, "Learning to Relax: Setting Solver Parameters Across a Sequence
of Linear System Instances" (ICLR 2024).

- Solvers (return :class:`jaxsci.Solution`, ``stats["iterations"]`` = the cost): :func:`sor`,
  :func:`ssor`, :func:`ssor_pcg`, :func:`cg` on dense, BCOO or 2D :class:`StencilOperator` (exact
  lexicographic / MATLAB column-major order); matrix-free :func:`redblack_sor`, :func:`redblack_ssor`
  for 5-/7-point stencils. All vmap over ω and over instances.
- Learners (optax-like ``init``/``sample``/``update``, pure, jit/vmap-able): :class:`TsallisINF`,
  :class:`Exp3`, :class:`TsallisINFCB`, :class:`ChebCB`; :func:`replay` on a cost table and
  :func:`run_online` with live solves.
- Comparators: :func:`young_omega`, :func:`best_fixed_arm`, :func:`golden_section_search`.
- Instances: :func:`numgrid`, :func:`delsq`, :func:`shifted_laplacian_sequence`, :class:`HeatEquation`.
"""

from ._comparators import (
    best_fixed_arm as best_fixed_arm,
    golden_section_search as golden_section_search,
    jacobi_spectral_radius as jacobi_spectral_radius,
    sor_spectral_radius as sor_spectral_radius,
    young_omega as young_omega,
    young_omega_from_beta as young_omega_from_beta,
)
from ._instances import (
    default_kappa as default_kappa,
    delsq as delsq,
    grid_to_vector as grid_to_vector,
    heat_cost_table as heat_cost_table,
    HeatEquation as HeatEquation,
    numgrid as numgrid,
    numgrid_stencil as numgrid_stencil,
    shifted_laplacian_sequence as shifted_laplacian_sequence,
    ShiftedLaplacianSequence as ShiftedLaplacianSequence,
    truncated_gaussian as truncated_gaussian,
    vector_to_grid as vector_to_grid,
)
from ._learners import (
    BanditState as BanditState,
    box_least_squares as box_least_squares,
    ChebCB as ChebCB,
    ChebCBState as ChebCBState,
    chebyshev_features as chebyshev_features,
    Exp3 as Exp3,
    tsallis_inf_probabilities as tsallis_inf_probabilities,
    TsallisINF as TsallisINF,
    TsallisINFCB as TsallisINFCB,
)
from ._replay import replay as replay, run_online as run_online
from ._sor import (
    cg as cg,
    redblack_sor as redblack_sor,
    redblack_ssor as redblack_ssor,
    sor as sor,
    ssor as ssor,
    ssor_pcg as ssor_pcg,
)
from ._stencil import laplacian_stencil as laplacian_stencil, StencilOperator as StencilOperator
from ._table import (
    shifted_laplacian_cost_table as shifted_laplacian_cost_table,
    sor_counts_batched as sor_counts_batched,
)
