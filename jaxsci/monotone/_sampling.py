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

__all__ = ["sample_without_replacement"]


def sample_without_replacement(
    key: PRNGKeyArray, perm: Int[Array, " n"], batch_size: int
) -> tuple[Int[Array, " n"], Int[Array, " b"]]:
    """Return ``(new_perm, idx)`` with ``idx`` a uniform b-subset of 0..n−1 (distinct entries)."""
    n = perm.shape[0]
    if batch_size == 1:
        return perm, jax.random.randint(key, (1,), 0, n)
    offs = jnp.arange(batch_size)
    targets = offs + jax.random.randint(key, (batch_size,), 0, n - offs)

    def swap(j, p):
        pj, pt = p[j], p[targets[j]]
        return p.at[j].set(pt).at[targets[j]].set(pj)

    perm = lax.fori_loop(0, batch_size, swap, perm, unroll=True)
    return perm, perm[:batch_size]
