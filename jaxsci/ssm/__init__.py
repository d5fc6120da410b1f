"""jaxsci.ssm: diagonal state-space models (S4D, S5) in JAX.

Layout: sequences are time-first, ``(L, H)`` (length, channels), in every layer and sequence function;
convolution kernels are channels-first, ``(H, L)``.

- Kernels: :func:`vandermonde` (the fused, tiled Vandermonde product ``2 Re sum_n W_n exp(l z_n)`` with a
  custom JVP that JAX transposes for reverse mode; O(H (N + L)) memory under jvp, grad and hessian),
  :func:`s4d_kernel`, :func:`discretize` (ZOH via expm1, bilinear), :func:`causal_conv` (rfft, causal or
  bidirectional, D skip).
- Recurrences: :func:`diagonal_scan` (parallel associative scan), :func:`s4d_scan` / :func:`s4d_step` (SISO,
  per channel), :func:`s5_scan` / :func:`s5_step` / :func:`discretize_s5` (MIMO); conv == scan == step.
- Initialisations (float64 NumPy, host, no key): :func:`hippo` (LegS, LegT, FouT), :func:`hippo_nplr`,
  :func:`s4d_init` (Lin, Inv, LegS with the state-spaces/s4 B clip, Real), :func:`s5_init` (block-diagonal
  HiPPO-N), :func:`ptd_legs` (PTD), :func:`dense_ssm_kernel` (float64 reference kernel of a dense SSM);
  :func:`init_dt` (log-uniform timescales from a key).
- Equinox: :class:`S4DLayer`, :class:`S5Layer` (real parameters, streaming ``step``), :class:`SSMModel`
  (``init_state``/``step`` for model-level streaming), and :func:`ssm_param_labels` for
  ``optax.multi_transform`` (own learning rate, no weight decay for A, B, dt).
"""

from ._companion import companion_c_from_tilde as companion_c_from_tilde
from ._companion import companion_c_tilde as companion_c_tilde
from ._companion import companion_closed_loop as companion_closed_loop
from ._companion import companion_kernel as companion_kernel
from ._companion import companion_kernel_krylov as companion_kernel_krylov
from ._companion import companion_matrix as companion_matrix
from ._companion import companion_state as companion_state
from ._discretize import discretize as discretize
from ._discretize import phi1 as phi1
from ._init import NPLR as NPLR
from ._init import dense_ssm_kernel as dense_ssm_kernel
from ._init import hippo as hippo
from ._init import hippo_nplr as hippo_nplr
from ._init import init_dt as init_dt
from ._init import s4d_init as s4d_init
from ._init import s5_init as s5_init
from ._kernel import causal_conv as causal_conv
from ._kernel import fast_fft_length as fast_fft_length
from ._kernel import s4d_kernel as s4d_kernel
from ._layers import SSM_PARAM_NAMES as SSM_PARAM_NAMES
from ._layers import S4DLayer as S4DLayer
from ._layers import S5Layer as S5Layer
from ._layers import SSMModel as SSMModel
from ._layers import ssm_param_labels as ssm_param_labels
from ._mamba import IO_KINDS as IO_KINDS
from ._mamba import MambaBlock as MambaBlock
from ._mamba import MambaModel as MambaModel
from ._mamba import RMSNorm as RMSNorm
from ._mamba import structured_io_factors as structured_io_factors
from ._ptd import PTD as PTD
from ._ptd import ptd_legs as ptd_legs
from ._scan import diagonal_scan as diagonal_scan
from ._scan import discretize_s5 as discretize_s5
from ._scan import s4d_scan as s4d_scan
from ._scan import s4d_step as s4d_step
from ._scan import s5_scan as s5_scan
from ._scan import s5_step as s5_step
from ._selective import selective_scan as selective_scan
from ._selective import selective_scan_naive as selective_scan_naive
from ._selective import selective_step as selective_step
from ._spacetime import ClosedLoopCompanionSSM as ClosedLoopCompanionSSM
from ._spacetime import CompanionSSM as CompanionSSM
from ._spacetime import PreprocessSSM as PreprocessSSM
from ._spacetime import ShiftSSM as ShiftSSM
from ._spacetime import SpaceTime as SpaceTime
from ._spacetime import spacetime_loss as spacetime_loss
from ._token_dynamics import SCENARIOS as SCENARIOS
from ._token_dynamics import classify_token_dynamics as classify_token_dynamics
from ._token_dynamics import input_output_matrix as input_output_matrix
from ._token_dynamics import softsort as softsort
from ._token_dynamics import token_dynamics_field as token_dynamics_field
from ._token_dynamics import token_dynamics_ode as token_dynamics_ode
from ._token_dynamics import token_dynamics_stack as token_dynamics_stack
from ._vandermonde import vandermonde as vandermonde
from ._vandermonde import vandermonde_naive as vandermonde_naive
from ._vandermonde import vandermonde_split as vandermonde_split

__all__ = [
    "ClosedLoopCompanionSSM",
    "CompanionSSM",
    "NPLR",
    "PTD",
    "PreprocessSSM",
    "SSM_PARAM_NAMES",
    "S4DLayer",
    "S5Layer",
    "SSMModel",
    "ShiftSSM",
    "SpaceTime",
    "causal_conv",
    "companion_c_from_tilde",
    "companion_c_tilde",
    "companion_closed_loop",
    "companion_kernel",
    "companion_kernel_krylov",
    "companion_matrix",
    "companion_state",
    "dense_ssm_kernel",
    "diagonal_scan",
    "discretize",
    "discretize_s5",
    "fast_fft_length",
    "hippo",
    "hippo_nplr",
    "init_dt",
    "phi1",
    "ptd_legs",
    "s4d_init",
    "s4d_kernel",
    "s4d_scan",
    "s4d_step",
    "s5_init",
    "s5_scan",
    "s5_step",
    "selective_scan",
    "selective_scan_naive",
    "selective_step",
    "IO_KINDS",
    "MambaBlock",
    "MambaModel",
    "RMSNorm",
    "SCENARIOS",
    "classify_token_dynamics",
    "input_output_matrix",
    "softsort",
    "structured_io_factors",
    "token_dynamics_field",
    "token_dynamics_ode",
    "token_dynamics_stack",
    "spacetime_loss",
    "ssm_param_labels",
    "vandermonde",
    "vandermonde_naive",
    "vandermonde_split",
]
