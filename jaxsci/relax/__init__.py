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
)
from ._comparators import (
    golden_section_search as golden_section_search,
)
from ._comparators import (
    jacobi_spectral_radius as jacobi_spectral_radius,
)
from ._comparators import (
    sor_spectral_radius as sor_spectral_radius,
)
from ._comparators import (
    young_omega as young_omega,
)
from ._comparators import (
    young_omega_from_beta as young_omega_from_beta,
)
from ._instances import (
    HeatEquation as HeatEquation,
)
from ._instances import (
    ShiftedLaplacianSequence as ShiftedLaplacianSequence,
)
from ._instances import (
    default_kappa as default_kappa,
)
from ._instances import (
    delsq as delsq,
)
from ._instances import (
    grid_to_vector as grid_to_vector,
)
from ._instances import (
    heat_cost_table as heat_cost_table,
)
from ._instances import (
    numgrid as numgrid,
)
from ._instances import (
    numgrid_stencil as numgrid_stencil,
)
from ._instances import (
    shifted_laplacian_sequence as shifted_laplacian_sequence,
)
from ._instances import (
    truncated_gaussian as truncated_gaussian,
)
from ._instances import (
    vector_to_grid as vector_to_grid,
)
from ._learners import (
    BanditState as BanditState,
)
from ._learners import (
    ChebCB as ChebCB,
)
from ._learners import (
    ChebCBState as ChebCBState,
)
from ._learners import (
    Exp3 as Exp3,
)
from ._learners import (
    TsallisINF as TsallisINF,
)
from ._learners import (
    TsallisINFCB as TsallisINFCB,
)
from ._learners import (
    box_least_squares as box_least_squares,
)
from ._learners import (
    chebyshev_features as chebyshev_features,
)
from ._learners import (
    tsallis_inf_probabilities as tsallis_inf_probabilities,
)
from ._replay import replay as replay
from ._replay import run_online as run_online
from ._sor import (
    cg as cg,
)
from ._sor import (
    redblack_sor as redblack_sor,
)
from ._sor import (
    redblack_ssor as redblack_ssor,
)
from ._sor import (
    sor as sor,
)
from ._sor import (
    ssor as ssor,
)
from ._sor import (
    ssor_pcg as ssor_pcg,
)
from ._stencil import StencilOperator as StencilOperator
from ._stencil import laplacian_stencil as laplacian_stencil
from ._table import (
    shifted_laplacian_cost_table as shifted_laplacian_cost_table,
)
from ._table import (
    sor_counts_batched as sor_counts_batched,
)
