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
    return fisher_yates_apply(perm, fisher_yates_targets(key, n, batch_size))


# ----------------------------------------------------------------------------------------------------
# Random draws in blocks (internal). The stochastic solvers split their key once per step,
# ``key, k_a, k_b = jax.random.split(key, 3)``, and draw from k_a, k_b. On XLA:CPU every threefry hash is a
# rolled 5-iteration loop (jax's CPU lowering), so a step's four or five hashes cost about as much as the
# rest of the step. The draws of a step depend only on its subkeys, so they are computed for a block of
# steps at once (one vectorised hash per draw kind), and the key chain itself, which is sequential, by an
# unrolled threefry that XLA fuses into one kernel per split. The stream is exactly the one of
# ``jax.random.split`` + the per-step draws (checked in the tests), so results do not change.

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _rotl(x, d):
    return (x << jnp.uint32(d)) | (x >> jnp.uint32(32 - d))


def _threefry2x32(k1, k2, x1, x2):
    """The Threefry-2x32 hash (20 rounds, Salmon et al. 2011) exactly as jax computes it, unrolled."""
    ks = (k1, k2, k1 ^ k2 ^ jnp.uint32(0x1BD11BDA))
    x1, x2 = x1 + ks[0], x2 + ks[1]
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x1 = x1 + x2
            x2 = _rotl(x2, r) ^ x1
        x1 = x1 + ks[(i + 1) % 3]
        x2 = x2 + ks[(i + 2) % 3] + jnp.uint32(i + 1)
    return x1, x2


def fast_split_supported(key) -> bool:
    """Whether :func:`split3` reproduces ``jax.random.split(key, 3)`` (threefry keys with the
    partitionable split, jax's default)."""
    try:
        impl = str(jax.random.key_impl(key))
    except Exception:  # noqa: BLE001
        return False
    return "threefry2x32" in impl and bool(jax.config.jax_threefry_partitionable)


def split3(key):
    """``jax.random.split(key, 3)`` for one typed key, as one fused elementwise kernel."""
    if not fast_split_supported(key):
        return jax.random.split(key, 3)
    data = jax.random.key_data(key)
    k1, k2 = data[0], data[1]
    hi = jnp.zeros((3,), jnp.uint32)
    lo = jnp.arange(3, dtype=jnp.uint32)
    b1, b2 = _threefry2x32(k1, k2, hi, lo)
    return jax.random.wrap_key_data(jnp.stack([b1, b2], axis=-1), impl=jax.random.key_impl(key))


def block_loop(cond, step, state, draw, *, order, block):
    """``while cond(s): s = step(s, d)`` with ``d`` the step's draws, produced in blocks of ``block`` steps.

    ``state`` holds ``"key"`` (the head of the key chain), and gets ``"draws"`` (a pytree with a
    leading axis ``block``) and ``"pos"`` (the next unused draw; ``block`` means empty): carry both between
    calls so that a loop resumed later continues the same stream. Step t of the stream uses
    ``key_t, *subkeys = split(key_{t−1}, 3)`` with ``order`` naming the positions: ``order[0]`` is the
    carried key, the other two are passed to ``draw(sub_1, sub_2)`` (one step's draws, vectorised here
    over the block). ``cond`` is checked before every step, so exactly the same steps run as in a
    per-step loop.
    """

    def refill(s):
        def chain(k, _):
            ks = split3(k)
            return ks[order[0]], (ks[order[1]], ks[order[2]])

        key, (sub_a, sub_b) = lax.scan(chain, s["key"], None, length=block)
        s = dict(s)
        s["key"], s["draws"], s["pos"] = key, jax.vmap(draw)(sub_a, sub_b), jnp.zeros_like(s["pos"])
        return s

    def one(s):
        d = jax.tree.map(
            lambda x: lax.dynamic_index_in_dim(x, s["pos"], 0, keepdims=False), s["draws"]
        )
        s = step(s, d)
        s = dict(s)
        s["pos"] = s["pos"] + 1
        return s

    def blocks(s):
        s = lax.cond(s["pos"] >= block, refill, lambda s: dict(s), s)
        return lax.while_loop(lambda s: (s["pos"] < block) & cond(s), one, s)

    return lax.while_loop(cond, blocks, state)


def empty_draws(key, draw, block):
    """The initial ``"draws"``/``"pos"`` of :func:`block_loop` (an empty block of the right shapes)."""
    ks = jax.random.split(key, 2)
    shapes = jax.eval_shape(jax.vmap(draw), ks[:1], ks[1:])
    draws = jax.tree.map(lambda x: jnp.zeros((block,) + x.shape[1:], x.dtype), shapes)
    return draws, jnp.asarray(block)


def fisher_yates_targets(key, n, batch_size):
    """The swap targets of :func:`sample_without_replacement` (its only use of the key)."""
    if batch_size == 1:
        return jax.random.randint(key, (1,), 0, n)
    offs = jnp.arange(batch_size)
    return offs + jax.random.randint(key, (batch_size,), 0, n - offs)


def fisher_yates_apply(perm, targets):
    """``(perm', idx)`` of :func:`sample_without_replacement` from its targets."""
    b = targets.shape[0]
    if b == 1:
        return perm, targets
    # The b swaps (j, t_j), j = 0..b−1, move only the entries at the 2b positions 0..b−1 and t_j. Follow
    # each of those entries through the swaps (elementwise over the entries, so XLA fuses the b steps into
    # one loop; b sequential in-place swaps of the whole permutation are b dependent scatter pairs), then
    # write them to where they end. Duplicate positions end at the same place with the same value.
    start = jnp.concatenate([jnp.arange(b, dtype=targets.dtype), targets])
    pos = start
    for j in range(b):
        t = targets[j]
        pos = jnp.where(pos == j, t, jnp.where(pos == t, j, pos))
    perm = perm.at[pos].set(perm[start])
    return perm, perm[:b]


def rare_update(pred, fn, keep, args):
    """``fn(*args) if pred else keep`` (pytrees of the same structure), for a ``pred`` that is rarely true
    (a snapshot refresh with probability 1/n).

    Unbatched this is ``lax.cond``. Under ``vmap`` a ``lax.cond`` on a batched predicate becomes a select
    that evaluates ``fn`` for every member at every step (a full operator evaluation per step: the batched
    solve would cost n times its work); here the batching rule evaluates the batched ``fn`` only when some
    member's ``pred`` is true, and keeps the others' values.
    """

    @jax.custom_batching.custom_vmap
    def update(pred, keep, args):
        return lax.cond(pred, lambda: fn(*args), lambda: keep)

    @update.def_vmap
    def _rule(axis_size, in_batched, pred, keep, args):
        pb, kb, ab = in_batched

        def bcast(x, b):
            return x if b else jnp.broadcast_to(x, (axis_size,) + jnp.shape(x))

        pred = bcast(pred, pb)
        keep = jax.tree.map(bcast, keep, kb)

        # one member at a time, as unbatched (the expected number per step is small: n·p for a refresh
        # with probability p), so each member's values are exactly those of its unbatched run
        def one(c):
            out, pending = c
            i = jnp.argmax(pending)
            member = jax.tree.map(lambda x, b: x[i] if b else x, args, ab)
            new = fn(*member)
            out = jax.tree.map(lambda o, v: o.at[i].set(v), out, new)
            return out, pending.at[i].set(False)

        out, _ = lax.while_loop(lambda c: jnp.any(c[1]), one, (keep, pred))
        return out, jax.tree.map(lambda _: True, keep)

    return update(pred, keep, args)
