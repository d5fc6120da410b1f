"""jaxsci.training: losses, an optax training loop, evaluation, checkpoints and run records for
operator learning with single-sample models (``model(x)``, channels first; batches by ``jax.vmap``).

- Losses (one sample): :func:`relative_l2`, :func:`relative_h1` (finite-difference or spectral
  gradients), :func:`mse`.
- :func:`make_train_step`: the one training step of jaxsci,
  ``step(model, opt_state, x, y, key) -> (model, opt_state, loss)`` (filter-jitted, vmapped over the
  batch with per-sample keys, following the input sharding).
- :func:`fit`: an optax loop over that step (deterministic given the key, keys passed so dropout
  works), data parallel when given the user's batch ``sharding`` (it never creates a mesh), a progress
  bar with the loss when tqdm is installed, a JSON run record (config, losses per epoch, test errors,
  real-parameter count, time, device, jax version); :func:`make_optimizer` (Adam with the FNO step
  decay or cosine decay).
- :func:`evaluate`, :func:`resolution_transfer` (a model trained on one grid evaluated on others),
  :func:`resample` (linear interpolation between node or periodic grids).
- Time-dependent data (the Navier-Stokes tasks, 10 frames in -> 10 out): :func:`rollout`
  (autoregressive, one step at a time or all at once), :class:`Rollout` (a rolled-out model that
  :func:`make_train_step` / :func:`fit` train through the rollout), :func:`rollout_errors` (relative L2
  per time step), :func:`trajectory_windows` (teacher-forcing pairs).
- :func:`save_checkpoint` / :func:`load_checkpoint` (``eqx.tree_serialise_leaves`` + JSON).
- :func:`num_real_parameters`: the one parameter count (complex leaves count twice);
  :class:`Normalizer` / :class:`Normalized` (fixed Gaussian input/output normalisation, per channel by
  default so that it holds at any resolution).
"""

__all__ = [
    "Normalized",
    "Normalizer",
    "Rollout",
    "evaluate",
    "fit",
    "load_checkpoint",
    "make_optimizer",
    "make_train_step",
    "mse",
    "num_real_parameters",
    "relative_h1",
    "relative_l2",
    "resample",
    "resolution_transfer",
    "rollout",
    "rollout_errors",
    "save_checkpoint",
    "trajectory_windows",
]

from ._autoregressive import Rollout as Rollout
from ._autoregressive import rollout as rollout
from ._autoregressive import rollout_errors as rollout_errors
from ._autoregressive import trajectory_windows as trajectory_windows
from ._checkpoint import load_checkpoint as load_checkpoint
from ._checkpoint import save_checkpoint as save_checkpoint
from ._fit import evaluate as evaluate
from ._fit import fit as fit
from ._fit import make_optimizer as make_optimizer
from ._fit import make_train_step as make_train_step
from ._losses import mse as mse
from ._losses import relative_h1 as relative_h1
from ._losses import relative_l2 as relative_l2
from ._normalize import Normalized as Normalized
from ._normalize import Normalizer as Normalizer
from ._params import num_real_parameters as num_real_parameters
from ._transfer import resample as resample
from ._transfer import resolution_transfer as resolution_transfer
