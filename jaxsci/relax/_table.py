"""Batched cost tables: many lexicographic SOR solves on one stencil shape, batch-last layout.

The learners are evaluated by replaying them against ``costs[t, i]`` = SOR sweeps of instance t at
ω_i (an instance's cost depends only on ω). For the paper's 40 × 5000 × 20 table this is the hot loop,
so it has its own batched kernel: the same wavefront arithmetic as :func:`jaxsci.relax.sor` on a
:class:`LaplacianStencil` (identical ``num_steps``, tested), but with the batch as the last, contiguous
axis, blocks of sweeps without per-system ``select`` of the iterate, and systems sorted by a
predicted cost and chunked so that a chunk's loop length tracks its own slowest member.

Stopping and pricing follow the one vocabulary: from x0 = 0 a system converges when
``||b - A x_k|| <= rtol ||b||``; it stops as failed when its residual is non-finite or exceeds
``DIVERGENCE_FACTOR ||b||`` (the one divergence rule), or when the budget runs out. A system that did
not converge costs ``max_steps`` (as :func:`jaxsci.relax.solve_cost` prices a failed solve), so a
learner never prefers a failing ω.
"""

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jaxtyping import Array, Bool, Float, Int

from .._solution import DIVERGENCE_FACTOR
from ._stencil import Sheared

__all__ = ["shifted_laplacian_cost_table", "sor_counts_batched"]

# Layout: y[s, i, k] = u_k[i, s − i] — wavefront s leading, grid row i, batch k last (contiguous).


def _shift(y, ds, di):
    """z[s, i] = y[s + ds, i + di] (zeros outside)."""
    w, nx = y.shape[:2]
    y = jnp.pad(y, ((1, 1), (1, 1), (0, 0)))
    return lax.slice(y, (1 + ds, 1 + di, 0), (1 + ds + w, 1 + di + nx, y.shape[2]))


def _sweep(y, b, diag, offdiag, omega, valid):
    """One lexicographic SOR sweep as a ``lax.scan`` over wavefronts: the carry is the freshly
    updated previous wavefront, the inputs are the old current/next wavefronts (no in-place updates)."""
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


def _residual_norm(y, b, diag, offdiag, valid):
    nb = _shift(y, -1, -1) + _shift(y, 1, 1) + _shift(y, -1, 0) + _shift(y, 1, 0)
    r = b - jnp.where(valid[..., None], diag * y + offdiag * nb, 0)
    return jnp.sqrt(jnp.sum(r * r, axis=(0, 1)))


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
    block: int = 4,
) -> Int[Array, " B"]:
    """Costs (sweeps) of lexicographic SOR for B systems ``diag_k·I + offdiag·(neighbours)`` on one
    2D grid (optional domain ``mask``), right-hand sides ``b`` (grid-shaped) and parameters ``omega``;
    x0 = 0, converged at ``||r_k|| <= rtol ||b||`` (as :func:`sor`, whose ``num_steps`` it equals on
    success). A system that fails (budget, divergence, NaN) costs ``max_steps``. Sweeps run in
    blocks of ``block`` (finished systems keep iterating harmlessly; their count is frozen). Cost
    O(B·N) per sweep."""
    sh = Sheared(*shape)
    valid = sh.valid()
    if mask is not None:
        valid = valid & sh.shear(jnp.asarray(mask))
    bs = jax.vmap(sh.shear)(b)  # (B, nx, w)
    bs = jnp.transpose(jnp.where(valid, bs, 0), (2, 1, 0))  # (w, nx, B)
    valid = valid.T
    y = jnp.zeros_like(bs)
    r0 = jnp.sqrt(jnp.sum(bs * bs, axis=(0, 1)))
    tol = rtol * r0
    limit = DIVERGENCE_FACTOR * r0
    conv0 = r0 <= tol
    done0 = conv0 | (max_steps == 0)

    def one(_, c):
        y, count, done, conv = c
        y = _sweep(y, bs, diag, offdiag, omega, valid)
        rn = _residual_norm(y, bs, diag, offdiag, valid)
        count = count + (~done).astype(count.dtype)
        conv = conv | (~done & (rn <= tol))
        failed = ~jnp.isfinite(rn) | (rn > limit)
        done = done | conv | failed | (count >= max_steps)
        return y, count, done, conv

    def cond(c):
        return ~jnp.all(c[2])

    def body(c):
        return lax.fori_loop(0, block, one, c)

    zeros = jnp.zeros(bs.shape[-1], int)
    _, count, _, conv = lax.while_loop(cond, body, (y, zeros, done0, conv0))
    return jnp.where(conv, count, max_steps)


_counts_jit = jax.jit(
    sor_counts_batched, static_argnames=("shape", "offdiag", "rtol", "max_steps", "block")
)


def shifted_laplacian_cost_table(
    seq,
    omegas,
    *,
    rtol: float = 1e-8,
    max_steps: int = 10000,
    chunk: int = 4096,
    min_chunk: int = 256,
    spread: float = 1.3,
    block: int = 4,
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

    c = np.asarray(seq.shifts)
    omegas = np.asarray(omegas, float)
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
        inner.shape, dg, -1.0, bb, w, mask=mask, rtol=rtol, max_steps=max_steps, block=block
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
