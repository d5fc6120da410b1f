"""Batched cost tables: many lexicographic SOR solves on one stencil shape.

The learners are evaluated by replaying them against ``costs[t, i]`` = SOR sweeps of instance t at
ω_i (an instance's cost depends only on ω). For the paper's 40 × 5000 × 20 table this is the hot loop.
Each system is solved by the one stationary loop, :func:`jaxsci._iterate.stationary` (its stopping,
divergence and stagnation rules), ``jax.vmap``-ed over the systems, and priced by
:func:`jaxsci.relax.solve_cost` (a failed solve costs ``max_steps``, so a learner never prefers a
failing ω). The step is the exact lexicographic wavefront sweep of :func:`jaxsci.relax.sor` on a
:class:`LaplacianStencil` (identical arithmetic, so identical ``num_steps``; tested); only its
batched layout is specific: under ``vmap`` the sweep runs with the batch as the last, contiguous axis
(a ``custom_vmap`` rule), where the default batching would put it first and make every wavefront a
strided slice. Systems are sorted by a predicted cost and chunked so that a chunk's loop length tracks
its own slowest member.
"""

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.custom_batching import custom_vmap
from jaxtyping import Array, Bool, Float, Int

from .._checks import check_positive, check_positive_int, check_range
from .._iterate import stationary
from .._solution import Solution, resolve_rtol
from ._replay import solve_cost
from ._solvers import rounding_floor
from ._splitting import splitting
from ._stencil import LaplacianStencil
from ._validate import check_tolerances

__all__ = ["shifted_laplacian_cost_table", "sor_counts_batched"]

# Batched layout of the sweep: y[s, i, k] = u_k[i, s − i] — wavefront s leading, grid row i, batch k
# last (contiguous); one system is y[i, s] (the solvers' sheared layout).


def _sweep_batch_last(y, b, diag, offdiag, omega, valid):
    """One lexicographic SOR sweep of B systems, ``y``, ``b``: ``(w, nx, B)``, ``diag``, ``omega``:
    ``(B,)``, ``valid``: ``(w, nx)``, as a ``lax.scan`` over wavefronts: the carry is the freshly
    updated previous wavefront, the inputs are the old current/next wavefronts (no in-place updates).
    The arithmetic of :func:`jaxsci.relax._stencil.sheared_sor_sweep`, term for term."""
    nxt_old = jnp.concatenate([y[1:], jnp.zeros_like(y[:1])])
    zero = jnp.zeros_like(y[0, :1])

    def step(prev, inp):
        cur, nxt, bb, v = inp
        up = jnp.concatenate([zero, prev[:-1]])
        down = jnp.concatenate([nxt[1:], zero])
        nb = ((up + prev) + down) + nxt
        new = jnp.where(v[:, None], (1 - omega) * cur + omega * (bb - offdiag * nb) / diag, 0)
        return new, new

    _, out = lax.scan(step, jnp.zeros_like(y[0]), (y, nxt_old, b, valid))
    return out


@custom_vmap
def _sweep(y, b, diag, offdiag, omega, valid):
    """One sweep of one system in the sheared layout (``y``, ``b``, ``valid``: ``(nx, w)``)."""
    out = _sweep_batch_last(y.T[..., None], b.T[..., None], diag, offdiag, omega, valid.T)
    return out[..., 0].T


@_sweep.def_vmap
def _sweep_vmap(size, batched, y, b, diag, offdiag, omega, valid):
    if batched[3] or batched[5]:  # not the table's use: batch everything the plain way
        return jax.vmap(_sweep.fun, in_axes=[0 if t else None for t in batched])(
            y, b, diag, offdiag, omega, valid
        ), True
    last = lambda a, t, shape: jnp.transpose(a if t else jnp.broadcast_to(a, (size, *shape)))
    vec = lambda a, t: a if t else jnp.broadcast_to(a, (size,))
    out = _sweep_batch_last(
        last(y, batched[0], y.shape[-2:]),
        last(b, batched[1], b.shape[-2:]),
        vec(diag, batched[2]),
        offdiag,
        vec(omega, batched[4]),
        valid.T,
    )
    return jnp.transpose(out), True


def _sor_cost(shape, diag, offdiag, b, omega, mask, rtol, max_steps):
    """:func:`jaxsci.relax.solve_cost` of ``relax.sor`` on ``LaplacianStencil(shape, diag, offdiag,
    mask)`` from x0 = 0, in the one stationary loop (one system; the table vmaps it)."""
    state = splitting(LaplacianStencil(shape, diag, offdiag, mask), "lexicographic")
    dtype = state.dtype
    rtol = resolve_rtol(rtol, dtype)
    bs = state.layout(jnp.asarray(b, dtype))
    omega = jnp.asarray(omega, dtype)
    diag = jnp.asarray(diag, dtype)
    correct = lambda y, r, k: _sweep(y, bs, diag, state.offdiag, omega, state.valid_s)
    residual = lambda y: bs - state.mv(y)
    x, result, stats = stationary(
        correct,
        residual,
        bs,
        jnp.zeros_like(bs),
        rtol=rtol,
        atol=0.0,
        max_steps=max_steps,
        floor=rounding_floor(state, dtype, rtol),
    )
    return solve_cost(Solution(x, result, stats, None))


def sor_counts_batched(
    shape: tuple[int, int],
    diag: Float[Array, " B"],
    offdiag: float,
    b: Float[Array, "B a c"],
    omega: Float[Array, " B"],
    *,
    mask: Bool[Array, "a c"] | None = None,
    rtol: float = 1e-8,
    max_steps: int = 10000,
) -> Int[Array, " B"]:
    """Costs (sweeps) of lexicographic SOR for B systems ``diag_k·I + offdiag·(neighbours)`` on one
    2D grid (optional domain ``mask``), right-hand sides ``b`` (grid-shaped) and parameters ``omega``,
    from x0 = 0 to ``rtol``: ``relax.solve_cost(relax.sor(LaplacianStencil(shape, diag_k, offdiag,
    mask), b_k, omega_k, rtol=rtol, max_steps=max_steps, throw=False))``, i.e. ``num_steps`` on
    success and ``max_steps`` for a failed solve (budget, divergence, NaN, stagnation). One
    :func:`jaxsci._iterate.stationary` loop per system under ``jax.vmap`` (finished systems are frozen
    while the others iterate). Cost O(B·N) per sweep."""
    check_tolerances(rtol, 0.0, max_steps)
    shape = tuple(shape)
    if len(shape) != 2:
        raise ValueError(f"`shape` must be a 2D grid shape, got {shape}.")
    nb = jnp.shape(diag)[0] if jnp.ndim(diag) == 1 else None
    if nb is None or jnp.shape(omega) != (nb,) or jnp.shape(b) != (nb, *shape):
        raise ValueError(
            f"`diag` (B,), `omega` (B,) and `b` (B, {shape[0]}, {shape[1]}) must agree, got shapes "
            f"{jnp.shape(diag)}, {jnp.shape(omega)} and {jnp.shape(b)}."
        )
    check_range(omega, "omega", 0.0, 2.0)
    check_positive(diag, "diag")
    one = lambda d, bb, w: _sor_cost(tuple(shape), d, offdiag, bb, w, mask, rtol, max_steps)
    return jax.vmap(one)(jnp.asarray(diag), jnp.asarray(b), jnp.asarray(omega))


_counts_jit = jax.jit(sor_counts_batched, static_argnames=("shape", "offdiag", "rtol", "max_steps"))


def shifted_laplacian_cost_table(
    seq,
    omegas,
    *,
    rtol: float = 1e-8,
    max_steps: int = 10000,
    chunk: int = 4096,
    min_chunk: int = 256,
    spread: float = 1.3,
) -> np.ndarray:
    """``costs[t, i]`` = lexicographic SOR sweeps (``num_steps``) for ``A_t = delsq(G) + c_t I``,
    ``b_t``, ω_i, from x0 = 0 to ``rtol`` (the paper's 1e-8 by default); a failed solve costs
    ``max_steps``.

    ``omegas``: a grid ``(d,)`` shared by all instances, or per-instance values ``(T, d)`` (e.g. the
    instance-optimal ω*(A_t)). ``chunk`` trades memory (chunk·N floats per array) for padding.

    All (t, i) pairs are sorted by the asymptotic prediction log(rtol)/log ρ(C_ω) (Young's formula)
    and solved in chunks (at most ``chunk`` systems, predicted costs within a factor ``spread``,
    padded to a power of two >= ``min_chunk``), so each chunk loops about as long as its own members
    need. Returns a host (T, d) int array, equal to :func:`sor`'s ``num_steps`` (same arithmetic)."""
    from ._comparators import sor_spectral_radius

    check_tolerances(rtol, 0.0, max_steps)
    check_positive_int(chunk, "chunk")
    check_positive_int(min_chunk, "min_chunk")
    c = np.asarray(seq.shifts)
    if (
        isinstance(omegas, (str, bytes))
        or not jnp.issubdtype(jnp.result_type(omegas), jnp.floating)
        and not jnp.issubdtype(jnp.result_type(omegas), jnp.integer)
    ):
        raise TypeError(f"`omegas` must be real, got dtype {jnp.result_type(omegas)}.")
    omegas = np.asarray(omegas, float)
    if (
        omegas.ndim not in (1, 2)
        or omegas.shape[-1] == 0
        or (omegas.ndim == 2 and omegas.shape[0] != c.size)
    ):
        raise ValueError(f"`omegas` must have shape (d,) or (T={c.size}, d), got {omegas.shape}.")
    check_range(omegas, "omegas", 0.0, 2.0)
    omegas = np.broadcast_to(
        omegas if omegas.ndim == 2 else omegas[None, :], (c.size, omegas.shape[-1])
    )
    T, d = omegas.shape
    G = seq.G
    inner = G[1:-1, 1:-1]
    mask = None if (inner > 0).all() else inner > 0
    rho0 = np.max(np.abs(np.linalg.eigvalsh(4 * np.eye(seq.rhs.shape[1]) - seq.base_matrix())))
    beta = rho0 / (4 + c)
    rho = np.asarray(sor_spectral_radius(beta[:, None], omegas))
    pred = np.log(rtol) / np.log(np.clip(rho, 1e-12, 1 - 1e-12))
    order = np.argsort(pred.ravel())
    tt, ii = np.divmod(order, d)
    bgrid = seq.rhs_grid()
    mask = None if mask is None else jnp.asarray(mask)
    f = lambda dg, bb, w: _counts_jit(
        inner.shape, dg, -1.0, bb, w, mask=mask, rtol=rtol, max_steps=max_steps
    )
    out = np.empty(T * d, dtype=np.int64)
    ps = pred.ravel()[order]
    start = 0
    while start < order.size:
        # a chunk spans predicted costs within a factor `spread` (at least `min_chunk` systems), and is
        # padded to a power of two so that only a few shapes are compiled
        stop = int(np.searchsorted(ps, spread * ps[start], side="right"))
        stop = min(max(stop, start + min_chunk), start + chunk, order.size)
        size = max(min_chunk, 1 << int(np.ceil(np.log2(stop - start))))
        t_sel, i_sel = tt[start:stop], ii[start:stop]
        pad = size - t_sel.size
        t_p = np.concatenate([t_sel, np.repeat(t_sel[-1:], pad)])
        i_p = np.concatenate([i_sel, np.repeat(i_sel[-1:], pad)])
        counts = f(jnp.asarray(4 + c[t_p]), bgrid[t_p], jnp.asarray(omegas[t_p, i_p]))
        out[order[start:stop]] = np.asarray(counts)[: t_sel.size]
        start = stop
    return out.reshape(T, d)
