"""Input normalisation at the public boundary of :mod:`jaxsci.spectral` (also used by
:mod:`jaxsci.data` and :mod:`jaxsci.training`): array-likes converted once, dtypes and keys checked
with messages naming the argument.

Half precision: XLA has no float16/bfloat16 FFT (jax #17954), so the FFT paths compute in float32 and
cast the result back to the input's dtype (:func:`compute_dtype`).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["as_array", "as_real", "check_key", "check_nonempty", "compute_dtype"]


def as_array(x: Any, name: str) -> jax.Array:
    """``jnp.asarray(x)``, with a ``TypeError`` naming ``name`` for non-numeric input (strings,
    objects, ragged lists)."""
    if isinstance(x, (jax.Array, jax.core.Tracer)):
        arr = x
    else:
        try:
            arr = jnp.asarray(x)
        except (TypeError, ValueError) as e:
            raise TypeError(
                f"`{name}` must be a numeric array, got {type(x).__name__}: {e}"
            ) from None
    if not (jnp.issubdtype(arr.dtype, jnp.number) or arr.dtype == jnp.bool_):
        raise TypeError(f"`{name}` must be a numeric array, got dtype {arr.dtype}.")
    return arr


def as_real(x: Any, name: str, *, integers: bool = False) -> jax.Array:
    """``x`` as a real floating JAX array. Complex input is refused (``TypeError`` naming ``name``:
    the imaginary part would be dropped); integer and boolean input is refused too, unless
    ``integers`` (then it becomes JAX's default float dtype)."""
    arr = as_array(x, name)
    if jnp.issubdtype(arr.dtype, jnp.complexfloating):
        raise TypeError(
            f"`{name}` must be a real floating array, got dtype {arr.dtype} (pass the real and "
            "imaginary parts separately)."
        )
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        if not integers:
            raise TypeError(f"`{name}` must be a real floating array, got dtype {arr.dtype}.")
        arr = arr.astype(jnp.result_type(float))
    return arr


def compute_dtype(dtype: Any) -> Any:
    """The dtype an FFT runs in for inputs of ``dtype``: float32 for float16/bfloat16, else ``dtype``."""
    dtype = jnp.dtype(dtype)
    if jnp.issubdtype(dtype, jnp.floating) and jnp.finfo(dtype).bits < 32:
        return jnp.dtype(jnp.float32)
    if jnp.issubdtype(dtype, jnp.complexfloating) and jnp.finfo(dtype).bits < 32:
        return jnp.dtype(jnp.complex64)
    return dtype


def check_nonempty(x: Any, name: str, axes: tuple[int, ...] | None = None) -> None:
    """Every axis of ``x`` (or those in ``axes``) must have at least one entry."""
    shape = jnp.shape(x)
    check = range(len(shape)) if axes is None else axes
    if any(shape[a] == 0 for a in check):
        raise ValueError(f"`{name}` must not be empty, got shape {shape}.")


def check_key(key: Any, name: str = "key") -> jax.Array:
    """A single PRNG key: a typed key of shape ``()`` or raw ``uint32`` key data of shape ``(2,)``
    (``jax.random.PRNGKey``). A key array, an integer seed or anything else raises naming ``name``."""
    if isinstance(key, (jax.Array, jax.core.Tracer)) and jnp.issubdtype(
        key.dtype, jax.dtypes.prng_key
    ):
        if key.shape != ():
            raise ValueError(
                f"`{name}` must be a single PRNG key, got a key array of shape {key.shape} "
                "(split it and pass one key, or vmap over the keys)."
            )
        return key
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        raise TypeError(
            f"`{name}` must be a PRNG key, got the integer {key!r}: use jax.random.key({key!r})."
        )
    shape, dtype = jnp.shape(key), getattr(key, "dtype", None)
    if shape == (2,) and dtype is not None and jnp.dtype(dtype) == jnp.uint32:
        return key
    raise TypeError(
        f"`{name}` must be a single PRNG key (jax.random.key(seed)), got "
        f"{type(key).__name__} of shape {shape} and dtype {dtype}."
    )
