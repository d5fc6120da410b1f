"""Input normalisation at the public boundary of :mod:`jaxsci.ssm` (issue 11).

Array-likes are converted once with :func:`as_array` (a message naming the argument when that fails);
dtypes are checked by name; half-precision floats are computed in float32 (:func:`compute_dtype`); keys are
checked for shape (:func:`check_key`); values of JAX arrays are checked at run time (:func:`check_finite`,
``eqx.error_if``), never copied to the host.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_positive, error_if_not

__all__ = [
    "as_array",
    "check_finite",
    "check_key",
    "check_real",
    "check_real_scalar",
    "compute_dtype",
]


def as_array(x: Any, name: str) -> jax.Array:
    """``jnp.asarray(x)``, with a ``TypeError`` naming ``name`` for strings, objects and ragged lists."""
    if isinstance(x, str):
        raise TypeError(f"`{name}` must be an array, got the string {x!r}.")
    try:
        arr = jnp.asarray(x)
    except (TypeError, ValueError) as e:
        raise TypeError(f"`{name}` must be an array of numbers, got {type(x).__name__}: {e}") from e
    if not (jnp.issubdtype(arr.dtype, jnp.number) or arr.dtype == jnp.bool_):
        raise TypeError(f"`{name}` must be numeric, got dtype {arr.dtype}.")
    return arr


def check_real(x: jax.Array, name: str, *, bool_ok: bool = False) -> None:
    """``x`` must have a real (integer or floating) dtype; booleans only when ``bool_ok``."""
    if jnp.iscomplexobj(x):
        raise TypeError(f"`{name}` must be real, got dtype {x.dtype}.")
    if x.dtype == jnp.bool_ and not bool_ok:
        raise TypeError(f"`{name}` must be a real number array, got dtype bool.")


def compute_dtype(*xs: Any, complex_: bool = False) -> Any:
    """The promoted floating (or complex, with ``complex_``) dtype of ``xs``: integers and booleans
    become JAX's default float, half precision (float16, bfloat16) is computed in float32."""
    dtype = jnp.result_type(*xs)
    if not jnp.issubdtype(dtype, jnp.inexact):
        dtype = jnp.result_type(float)
    real = jnp.finfo(dtype).dtype
    if jnp.finfo(real).bits < 32:
        real = jnp.dtype(jnp.float32)
    return jnp.result_type(real, 1j) if complex_ else real


def check_finite(x: jax.Array, name: str, what: str | None = None) -> jax.Array:
    """Return ``x``; raise at run time (also under ``jit``/``vmap``) when it holds NaN or inf."""
    message = what or f"`{name}` must be finite (no NaN or inf)."
    return error_if_not(x, jnp.isfinite(x), message)


def check_real_scalar(value: Any, name: str, *, positive: bool = True) -> float:
    """A real Python/NumPy number (not bool, str or complex), finite, and ``> 0`` when ``positive``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TypeError(
            f"`{name}` must be a real number, got {value!r} of type {type(value).__name__}."
        )
    if positive:
        check_positive(value, name)
    elif not np.isfinite(value):
        raise ValueError(f"`{name}` must be finite, got {value}.")
    return float(value)


def check_key(key: Any, name: str = "key") -> None:
    """``key`` must be one PRNG key: a typed key of shape ``()`` or a raw ``uint32`` key of shape ``(2,)``
    (a key array is batched with ``eqx.filter_vmap``, not passed whole)."""
    if isinstance(key, (jax.Array, jax.core.Tracer)):
        if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
            if key.shape != ():
                raise ValueError(
                    f"`{name}` must be a single key (shape ()), got a key array of shape {key.shape}; "
                    "batch over keys with eqx.filter_vmap."
                )
            return
        if key.dtype == jnp.uint32:
            if key.shape != (2,):
                raise ValueError(
                    f"`{name}` must be a single raw key of shape (2,), got shape {key.shape}; "
                    "batch over keys with eqx.filter_vmap."
                )
            return
    raise TypeError(
        f"`{name}` must be a PRNG key (jax.random.key(seed)), got {type(key).__name__}"
        f"{'' if not hasattr(key, 'dtype') else ' of dtype ' + str(key.dtype)}."
    )
