"""Argument validation at trace time, with messages that name the argument and its value.

These run on static information (shapes, dtypes, Python scalars) and raise ``ValueError``/``TypeError``
before anything is traced. Values of JAX arrays (concrete or traced) are never read on the host
here: they are checked at run time with :func:`error_if_not` or reported through a solver's ``RESULTS``.
"""

from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "check_choice",
    "check_complex_or_real",
    "check_ndim",
    "check_positive",
    "check_positive_int",
    "check_range",
    "check_same_shape",
    "check_shape",
    "concrete_or_none",
    "default_float_dtype",
    "error_if_not",
]


def concrete_or_none(x: Any):
    """Return ``x`` as a NumPy array if it is a host value (Python scalar, list, NumPy array), else
    ``None``. JAX arrays, concrete or traced, return ``None``: reading them would copy device memory
    to the host (and gather sharded arrays). Check those at run time with :func:`error_if_not`."""
    if isinstance(x, (jax.Array, jax.core.Tracer, jax.ShapeDtypeStruct)):
        return None
    try:
        arr = np.asarray(x)
    except Exception:  # noqa: BLE001 - anything that cannot be made concrete
        return None
    return arr if arr.dtype.kind in "biufc" else None


def check_positive_int(value: Any, name: str, *, minimum: int = 1, even: bool = False) -> int:
    """``value`` must be a Python/NumPy integer >= ``minimum`` (and even when ``even``)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an int, got {value!r} of type {type(value).__name__}.")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}.")
    if even and value % 2:
        raise ValueError(f"`{name}` must be even, got {value}.")
    return int(value)


def check_positive(value: Any, name: str, *, strict: bool = True) -> None:
    """Every element of ``value`` must be > 0 (or >= 0 when ``strict=False``), if known at trace time."""
    arr = concrete_or_none(value)
    if arr is None:
        return
    if arr.size and not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` must be finite, got {_short(arr)}.")
    bad = arr <= 0 if strict else arr < 0
    if np.any(bad):
        rel = "> 0" if strict else ">= 0"
        raise ValueError(f"`{name}` must be {rel}, got {_short(arr)}.")


def check_range(value: Any, name: str, low: float, high: float, *, closed: str = "neither") -> None:
    """Every element of ``value`` must lie in the interval (low, high); ``closed`` in
    {"neither", "left", "right", "both"} says which ends are included."""
    arr = concrete_or_none(value)
    if arr is None:
        return
    lo_ok = arr >= low if closed in ("left", "both") else arr > low
    hi_ok = arr <= high if closed in ("right", "both") else arr < high
    if not np.all(lo_ok & hi_ok):
        lb = "[" if closed in ("left", "both") else "("
        rb = "]" if closed in ("right", "both") else ")"
        raise ValueError(f"`{name}` must lie in {lb}{low}, {high}{rb}, got {_short(arr)}.")


def check_choice(value: Any, name: str, choices: Sequence[Any]) -> None:
    """``value`` must be one of ``choices``."""
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {tuple(choices)}, got {value!r}.")


def check_ndim(x: Any, name: str, ndim: int | Sequence[int]) -> None:
    """``x`` must have ``ndim`` dimensions (or one of several)."""
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if jnp.ndim(x) not in allowed:
        want = allowed[0] if len(allowed) == 1 else f"one of {allowed}"
        raise ValueError(f"`{name}` must have {want} dimensions, got shape {jnp.shape(x)}.")


def check_shape(x: Any, name: str, shape: Sequence[int | None]) -> None:
    """``x`` must have ``shape``; ``None`` entries match any size."""
    got = jnp.shape(x)
    if len(got) != len(shape) or any(
        s is not None and s != g for s, g in zip(shape, got, strict=False)
    ):
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"`{name}` must have shape {want}, got {got}.")


def check_same_shape(a: Any, a_name: str, b: Any, b_name: str) -> None:
    """``a`` and ``b`` must have the same shape."""
    if jnp.shape(a) != jnp.shape(b):
        raise ValueError(
            f"`{a_name}` and `{b_name}` must have the same shape, got {jnp.shape(a)} and {jnp.shape(b)}."
        )


def check_complex_or_real(x: Any, name: str) -> None:
    """``x`` must have a numeric (real or complex floating / integer) dtype."""
    dtype = jnp.result_type(x)
    if not (jnp.issubdtype(dtype, jnp.number)):
        raise TypeError(f"`{name}` must be numeric, got dtype {dtype}.")


def default_float_dtype(dtype: Any = None) -> Any:
    """The one dtype rule of jaxsci's models: ``dtype`` if given, else JAX's default float dtype
    (float64 when x64 is enabled, float32 otherwise). It must be a floating dtype."""
    dtype = jnp.result_type(float) if dtype is None else jnp.dtype(dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"`dtype` must be a floating dtype, got {dtype}.")
    return dtype


def error_if_not(x: Any, ok: Any, message: str) -> Any:
    """Return ``x``, raising ``message`` at run time (``eqx.error_if``, also under ``jit``) where the
    boolean array ``ok`` is not all ``True``. For value checks of device arrays.

    ``ok`` is reduced to one boolean first and the check runs on a scalar: a scalar ``1`` comes out
    of ``eqx.error_if`` (NaN under ``EQX_ON_ERROR=nan``) and ``x`` is multiplied by it, which keeps
    the check alive under ``jit`` (``x`` depends on it) and is exact (``x * 1 == x`` bit for bit,
    signed zeros, infinities and NaN included). Passing the whole ``x`` through ``eqx.error_if``
    instead places the array on one device inside its ``lax.cond``: a sharded ``x`` was gathered
    there and redistributed (XLA's "involuntary full rematerialization"), an all-gather and an
    all-reduce of the whole array on every device.
    """
    bad = ~jnp.all(ok)
    leaves = jax.tree_util.tree_leaves(x)
    if not leaves:
        return x
    dtype = jnp.result_type(*leaves)
    one_dtype = jnp.finfo(dtype).dtype if jnp.issubdtype(dtype, jnp.complexfloating) else dtype
    one = eqx.error_if(jnp.ones((), one_dtype), bad, message)
    return jax.tree_util.tree_map(lambda leaf: _times_one(leaf, one), x)


def _times_one(x: Any, one: Any) -> Any:
    """``x * one`` for a scalar ``one == 1``, exact for every dtype (complex parts separately, so no
    ``inf * 0`` appears; booleans by ``&``)."""
    if not isinstance(x, (jax.Array, np.ndarray, np.generic, int, float, complex, bool)):
        return x
    x = jnp.asarray(x)
    if x.dtype == jnp.bool_:
        return x & one.astype(jnp.bool_)
    if jnp.issubdtype(x.dtype, jnp.complexfloating):
        real = jnp.real(x) * one.astype(jnp.real(x).dtype)
        imag = jnp.imag(x) * one.astype(jnp.real(x).dtype)
        return jax.lax.complex(real, imag)
    if jnp.issubdtype(x.dtype, jnp.floating) or jnp.issubdtype(x.dtype, jnp.integer):
        return x * one.astype(x.dtype)
    return x


def _short(arr: np.ndarray) -> str:
    if arr.size <= 6:
        return repr(arr.tolist()) if arr.ndim else repr(arr.item())
    return f"an array of shape {arr.shape} with min {arr.min()!r}"
