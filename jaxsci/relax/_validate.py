"""Trace-time argument checks shared by the relax solvers (names the argument and the value)."""

from typing import Any

import numpy as np
from jax.experimental import sparse as jsparse

from .._checks import check_positive, check_positive_int, check_range, concrete_or_none


def check_omega(omega: Any, name: str = "omega") -> None:
    """ω must lie in the open interval (0, 2) (checked when concrete; traced values are not checked)."""
    check_range(omega, name, 0.0, 2.0)


def check_tolerances(rtol: Any, max_iters: Any) -> None:
    check_positive(rtol, "rtol")
    check_positive_int(max_iters, "max_iters")


def matrix_shape(A: Any, name: str = "A") -> int:
    """Return n for a square (n, n) dense or BCOO matrix; raise naming ``name`` otherwise."""
    shape = tuple(A.shape) if isinstance(A, jsparse.BCOO) else np.shape(A)
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ValueError(f"`{name}` must be a square (n, n) matrix, got shape {shape}.")
    if isinstance(A, jsparse.BCOO) and (A.n_batch or A.n_dense):
        raise ValueError(f"`{name}` must be an unbatched BCOO matrix with n_batch=n_dense=0.")
    return int(shape[0])


def check_positive_diagonal(diag: Any, name: str = "A") -> None:
    """Every diagonal entry must be > 0 (SOR divides by it); checked when concrete."""
    d = concrete_or_none(diag)
    if d is None:
        return
    if not np.all(np.isfinite(d)) or np.any(d <= 0):
        bad = int(np.argmin(np.where(np.isfinite(d), d, -np.inf)))
        raise ValueError(
            f"`{name}` must have a positive diagonal (SOR divides by it); entry {bad} is {d[bad]!r}."
        )


def check_vector(v: Any, name: str, n: int) -> None:
    if np.shape(v) != (n,):
        raise ValueError(f"`{name}` must have shape ({n},), got {np.shape(v)}.")
