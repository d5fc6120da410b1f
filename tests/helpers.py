"""Shared test helpers."""

import jax
import jax.numpy as jnp
import numpy as np


def _default_tols(dtype) -> tuple[float, float]:
    dtype = jnp.dtype(dtype)
    if dtype in (jnp.float64, jnp.complex128):
        return 1e-10, 1e-12
    if dtype in (jnp.float16, jnp.bfloat16):
        return 1e-2, 1e-3
    return 1e-5, 1e-6


def tree_allclose(x, y, *, rtol: float | None = None, atol: float | None = None) -> bool:
    """``True`` if two pytrees have the same structure and all leaves are close.

    Default tolerances depend on the leaves' dtype (tight for float64, looser for float32).
    """
    xs, xdef = jax.tree.flatten(x)
    ys, ydef = jax.tree.flatten(y)
    if xdef != ydef:
        return False
    for a, b in zip(xs, ys, strict=False):
        a = np.asarray(a)
        b = np.asarray(b)
        if a.shape != b.shape:
            return False
        r, t = _default_tols(jnp.result_type(a, b) if a.dtype.kind in "fc" else jnp.float64)
        if not np.allclose(
            a,
            b,
            rtol=r if rtol is None else rtol,
            atol=t if atol is None else atol,
            equal_nan=False,
        ):
            return False
    return True


def assert_tree_allclose(x, y, *, rtol=None, atol=None, msg=""):
    """Assert version of :func:`tree_allclose` that prints the worst mismatch."""
    if tree_allclose(x, y, rtol=rtol, atol=atol):
        return
    worst = []
    for a, b in zip(jax.tree.leaves(x), jax.tree.leaves(y), strict=False):
        a = np.asarray(a)
        b = np.asarray(b)
        if a.shape != b.shape:
            worst.append(f"shape {a.shape} vs {b.shape}")
        else:
            err = np.max(np.abs(a - b)) if a.size else 0.0
            scale = np.max(np.abs(b)) if b.size else 0.0
            worst.append(f"max abs err {err:.3e} (max |ref| {scale:.3e})")
    raise AssertionError(f"trees differ {msg}: " + "; ".join(worst))
