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


def check_key(key: Any, name: str = "key") -> None:
    """``key`` must be one PRNG key: a typed key of shape ``()`` or a raw ``uint32`` key of shape
    ``(2,)`` (not a batch of keys: ``vmap`` over a batch instead)."""
    import jax

    if isinstance(key, (jax.Array, jax.core.Tracer)) and jnp.issubdtype(
        key.dtype, jax.dtypes.prng_key
    ):
        if key.shape != ():
            raise ValueError(
                f"`{name}` must be a single PRNG key (shape ()), got a key array of shape "
                f"{key.shape}; use `jax.vmap` over a batch of keys."
            )
        return
    shape, dtype = np.shape(key), jnp.result_type(key) if hasattr(key, "dtype") else None
    if shape != (2,) or dtype != jnp.uint32:
        raise TypeError(
            f"`{name}` must be a PRNG key (`jax.random.key(seed)`, or a raw uint32 key of shape "
            f"(2,)), got shape {shape} and dtype {dtype}."
        )


def check_cost(cost: Any, dtype: Any, name: str = "cost") -> Any:
    """A learner's observed cost: a real scalar, finite (checked at run time: a NaN/inf cost would
    corrupt the learner's state silently). Returns it as an array of ``dtype``."""
    from .._checks import error_if_not

    if isinstance(cost, (str, bytes)) or not (
        jnp.issubdtype(jnp.result_type(cost), jnp.floating)
        or jnp.issubdtype(jnp.result_type(cost), jnp.integer)
    ):
        raise TypeError(f"`{name}` must be a real scalar, got {type(cost).__name__} {cost!r}.")
    if jnp.ndim(cost) != 0:
        raise ValueError(f"`{name}` must be a scalar, got shape {jnp.shape(cost)}.")
    host = concrete_or_none(cost)
    if host is not None and not np.isfinite(host):
        raise ValueError(f"`{name}` must be finite, got {host!r}.")
    cost = jnp.asarray(cost, dtype)
    return error_if_not(cost, jnp.isfinite(cost), f"`{name}` must be finite (got NaN or inf).")


def check_omega_grid(omegas: Any, name: str = "omegas") -> None:
    """A grid of relaxation parameters: real, 1D, non-empty, in (0, 2) where known on the host (a
    device value outside is reported by each solve as ``diverged``)."""
    if isinstance(omegas, (str, bytes)) or not (
        jnp.issubdtype(jnp.result_type(omegas), jnp.floating)
        or jnp.issubdtype(jnp.result_type(omegas), jnp.integer)
    ):
        raise TypeError(f"`{name}` must be a real 1D array, got dtype {jnp.result_type(omegas)}.")
    if jnp.ndim(omegas) != 1 or jnp.shape(omegas)[0] == 0:
        raise ValueError(f"`{name}` must be a non-empty 1D array, got shape {jnp.shape(omegas)}.")
    check_range(omegas, name, 0.0, 2.0)
