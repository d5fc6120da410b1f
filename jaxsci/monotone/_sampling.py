"""Cheap uniform sampling of b distinct indices out of n inside a jitted loop.

``jax.random.choice(..., replace=False)`` and ``jax.random.permutation`` sort n keys per call (about 6× the cost
of an iteration of Algorithm 1 on the n = 500 game on a CPU). Instead we carry a permutation of 0..n−1 in the
loop state and run b steps of a partial Fisher–Yates shuffle on it: swap position j with a uniform position
in j..n−1, for j < b. Whatever the carried permutation, the first b entries afterwards are a uniformly random
ordered b-subset, so the sample is exactly uniform without replacement. Cost O(b) (b scalar swaps), memory O(n).
"""

import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Int, PRNGKeyArray

from .._checks import check_positive_int

__all__ = ["sample_without_replacement"]


def sample_without_replacement(
    key: PRNGKeyArray, perm: Int[Array, " n"], batch_size: int
) -> tuple[Int[Array, " n"], Int[Array, " b"]]:
    """Return ``(new_perm, idx)`` with ``idx`` a uniform b-subset of 0..n−1 (distinct entries).

    ``batch_size`` (static) must be an int in 1..n (more than n distinct indices do not exist: it
    raises rather than repeat indices); ``perm`` a non-empty int vector (a permutation of 0..n−1);
    ``key`` one PRNG key (a typed scalar key or a raw ``uint32`` key of shape (2,)), not a key array.
    """
    if not isinstance(perm, (jax.Array, jax.core.Tracer)) or perm.ndim != 1:
        raise ValueError(f"`perm` must be a JAX int vector of shape (n,), got {perm!r:.80}.")
    if not jnp.issubdtype(perm.dtype, jnp.integer):
        raise TypeError(f"`perm` must have an integer dtype, got {perm.dtype}.")
    n = perm.shape[0]
    if n == 0:
        raise ValueError("`perm` must be non-empty (n >= 1).")
    batch_size = check_positive_int(batch_size, "batch_size")
    if batch_size > n:
        raise ValueError(
            f"`batch_size` must be <= n = {n} (sampling without replacement), got {batch_size}."
        )
    typed = jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
    if (typed and key.shape != ()) or (not typed and (key.dtype != jnp.uint32 or key.ndim != 1)):
        raise ValueError(
            f"`key` must be a single PRNG key (jax.random.key(0)), got shape {key.shape} and "
            f"dtype {key.dtype}."
        )
    if batch_size == 1:
        return perm, jax.random.randint(key, (1,), 0, n)
    offs = jnp.arange(batch_size)
    targets = offs + jax.random.randint(key, (batch_size,), 0, n - offs)

    def swap(j, p):
        pj, pt = p[j], p[targets[j]]
        return p.at[j].set(pt).at[targets[j]].set(pj)

    perm = lax.fori_loop(0, batch_size, swap, perm, unroll=True)
    return perm, perm[:batch_size]
