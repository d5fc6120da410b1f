"""Trace-time argument checks shared by the relax solvers (name the argument and the value).

Only static information is read here (shapes, dtypes, Python and NumPy values); JAX arrays are never
copied to the host for a check (their values are checked at run time, see ``_splitting``).
"""

from typing import Any

import jax.numpy as jnp
import numpy as np
from jax.experimental import sparse as jsparse

from .._checks import check_choice, check_positive_int, check_range, concrete_or_none

__all__ = [
    "SWEEPS",
    "check_omega",
    "check_positive_diagonal",
    "check_sweep",
    "check_tolerances",
    "matrix_shape",
]

SWEEPS = ("lexicographic", "redblack")


def check_omega(omega: Any, name: str = "omega") -> None:
    """omega must be a real scalar in the open interval (0, 2) (the value is checked when it is a
    Python/NumPy number; a JAX array is checked by the iteration, which reports ``diverged``)."""
    if isinstance(omega, (str, bytes)) or jnp.ndim(omega) != 0:
        raise TypeError(f"`{name}` must be a real scalar, got {omega!r}.")
    dtype = jnp.result_type(omega)
    if not (jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.integer)):
        raise TypeError(f"`{name}` must be a real scalar, got dtype {dtype}.")
    check_range(omega, name, 0.0, 2.0)


def check_tolerances(rtol: Any, atol: Any, max_steps: Any) -> None:
    """``rtol`` is ``None`` (the dtype's default) or a number >= 0, ``atol`` >= 0, not both zero;
    ``max_steps`` an int >= 0."""
    for value, name in ((rtol, "rtol"), (atol, "atol")):
        if value is None and name == "rtol":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
            raise TypeError(f"`{name}` must be a Python number, got {value!r}.")
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"`{name}` must be a finite number >= 0, got {value!r}.")
    if rtol is not None and rtol == 0 and atol == 0:
        raise ValueError("`rtol` and `atol` cannot both be 0 (the solve would never stop).")
    check_positive_int(max_steps, "max_steps", minimum=0)


def check_sweep(sweep: Any) -> None:
    check_choice(sweep, "sweep", SWEEPS)


def matrix_shape(A: Any, name: str = "A") -> int:
    """Return n for a square (n, n) dense or BCOO matrix; raise naming ``name`` otherwise."""
    shape = tuple(A.shape) if isinstance(A, jsparse.BCOO) else np.shape(A)
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ValueError(f"`{name}` must be a square (n, n) matrix, got shape {shape}.")
    if isinstance(A, jsparse.BCOO) and (A.n_batch or A.n_dense):
        raise ValueError(f"`{name}` must be an unbatched BCOO matrix with n_batch=n_dense=0.")
    return int(shape[0])


def check_positive_diagonal(diag: Any, name: str = "A") -> None:
    """Every diagonal entry must be > 0 (SOR divides by it); checked for host values only."""
    d = concrete_or_none(diag)
    if d is None:
        return
    if not np.all(np.isfinite(d)) or np.any(d <= 0):
        bad = int(np.argmin(np.where(np.isfinite(d), d, -np.inf)))
        raise ValueError(
            f"`{name}` must have a positive diagonal (SOR divides by it); entry {bad} is {d[bad]!r}."
        )
