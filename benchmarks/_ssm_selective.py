"""Selective-scan (Mamba S6) benchmarks, run from :mod:`benchmarks.ssm` (issue 13).

Cases
-----
- ``selective fwd`` / ``selective fwd+bwd``: ``y = selective_scan(u, delta, A, B, C, D)`` for ``D`` channels,
  state ``N``, length ``L``, batch ``batch`` (vmap over samples, shared ``A``). The gradient is of
  ``sum(y * G)`` with respect to ``u``, ``delta``, ``A``, ``B``, ``C``. Implementations, same run:
  ``jaxsci`` (:func:`jaxsci.ssm.selective_scan`: chunked ``lax.scan`` with one ``jax.checkpoint`` per
  chunk, only the boundary states saved); ``naive-assoc`` (:func:`jaxsci.ssm.selective_scan_naive`:
  ``exp(delta A)`` and ``delta B u`` materialised as ``(L, D, N)``, one associative scan, as
  mamba-minimal-jax); ``lax.scan`` (a plain per-step ``lax.scan`` differentiated by autodiff, which
  stores the ``(L, D, N)`` residuals). A peer is skipped (with its estimated memory) where its
  ``(batch, L, D, N)`` float arrays would exceed ``PEER_LIMIT`` bytes. ``peak_GB`` is XLA's compiled
  memory (arguments + outputs + temporaries) on CPU, the allocator's peak on accelerators.
- ``mamba block fwd+bwd`` beside ``s4d layer fwd+bwd``: :class:`jaxsci.ssm.MambaBlock` and
  :class:`jaxsci.ssm.S4DLayer` on a batch ``(B, L, d_model)``, gradient of a mean-square loss.

Sizes: quick = D = 256, N = 16, L in {1024, 4096}, batch 1, the naive peer at L = 1024 only (plus the
blocks at B = 4, L = 512, d_model = 64); full = D in {256, 1536} x L in {1024, 8192, 65536} x batch in {1, 8}.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxsci.ssm import MambaBlock, S4DLayer, selective_scan, selective_scan_naive

PEER_LIMIT = 3 * 2**30  # bytes of (batch, L, D, N) arrays a materialising peer may build


def scan_peer(u, delta, A, B, C, D):
    """A plain ``lax.scan`` over time carrying the ``(D, N)`` state (autodiff saves every step's)."""

    def step(h, x):
        u_t, d_t, B_t, C_t = x
        h = jnp.exp(d_t[:, None] * A) * h + (d_t * u_t)[:, None] * B_t[None, :]
        return h, h @ C_t

    h0 = jnp.zeros(A.shape, u.dtype)
    _, y = lax.scan(step, h0, (u, delta, B, C))
    return y + D * u


def _inputs(batch, L, Dm, N, dtype):
    rng = np.random.default_rng(0)
    u = rng.normal(size=(batch, L, Dm))
    delta = rng.uniform(1e-3, 1e-1, (batch, L, Dm))
    A = -np.tile(np.arange(1.0, N + 1), (Dm, 1))
    B = rng.normal(size=(batch, L, N))
    C = rng.normal(size=(batch, L, N))
    D = np.ones(Dm)
    G = rng.normal(size=(batch, L, Dm))
    return tuple(jnp.asarray(x, dtype) for x in (u, delta, A, B, C, D, G))


def _batched(fn, batch):
    """``vmap`` over samples (shared ``A``, ``D``); batch 1 is the batch-free call (under ``vmap`` XLA
    moves the batch axis behind the scanned time axis, a transposed copy of each ``(B, L, D)`` input)."""
    if batch == 1:
        return lambda u, delta, A, B, C, D: fn(u[0], delta[0], A, B[0], C[0], D)[None]
    return jax.vmap(fn, in_axes=(0, 0, None, 0, 0, None))


def _fwd(fn, batch):
    f = _batched(fn, batch)
    return lambda u, delta, A, B, C, D, G: f(u, delta, A, B, C, D)


def _fwd_bwd(fn, batch):
    f = _batched(fn, batch)
    loss = lambda u, delta, A, B, C, D, G: jnp.sum(f(u, delta, A, B, C, D) * G)
    return jax.grad(loss, argnums=(0, 1, 2, 3, 4))


def run(bench):
    dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    itemsize = jnp.dtype(dtype).itemsize
    N = 16
    if bench.quick:
        sizes = [(1, 256, 1024), (1, 256, 4096)]
    else:
        sizes = [(b, Dm, L) for Dm in (256, 1536) for L in (1024, 8192, 65536) for b in (1, 8)]
    impls = {
        "naive-assoc": selective_scan_naive,
        "lax.scan": scan_peer,
        "jaxsci": selective_scan,
    }
    repeats = 3 if bench.quick else None
    for batch, Dm, L in sizes:
        args = _inputs(batch, L, Dm, N, dtype)
        params = {"batch": batch, "D": Dm, "N": N, "L": L, "dtype": jnp.dtype(dtype).name}
        peer_bytes = batch * L * Dm * N * itemsize
        for case, make in (("selective fwd", _fwd), ("selective fwd+bwd", _fwd_bwd)):
            # the materialising peers hold a few (L, D, N) arrays forward and more in reverse mode
            need = peer_bytes * (2 if case == "selective fwd" else 6)
            peers = []
            for impl, fn in impls.items():
                # quick: the naive peer only at the smallest size (it takes ~1 min at L = 8192)
                limit = 2**27 if bench.quick and impl == "naive-assoc" else PEER_LIMIT
                if impl != "jaxsci" and need > limit:
                    bench.note(
                        case,
                        impl=impl,
                        params=params,
                        skipped=True,
                        est_mem_GB=round(need / 1e9, 1),
                    )
                    continue
                rec = bench.time_jax(
                    case,
                    make(fn, batch),
                    *args,
                    impl=impl,
                    params=params,
                    repeats=repeats,
                    compare_to=("lax.scan" if "lax.scan" in peers else None)
                    if impl == "jaxsci"
                    else None,
                )
                if rec.error is None:
                    peers.append(impl)
                if rec.peak_bytes is not None:
                    rec.extra["peak_GB"] = round((rec.device_peak_bytes or rec.peak_bytes) / 1e9, 3)

    # --- MambaBlock beside S4DLayer, forward + backward ------------------------------------------------
    block_sizes = [(4, 512, 64)] if bench.quick else [(8, 1024, 256), (8, 8192, 256)]
    key = jax.random.key(0)
    for B, L, d in block_sizes:
        u = jax.random.normal(key, (B, L, d), dtype)
        params = {"B": B, "L": L, "d_model": d, "dtype": jnp.dtype(dtype).name}
        for case, layer in (
            ("s4d layer fwd+bwd", S4DLayer(d, 64, dtype=dtype, key=key)),
            ("mamba block fwd+bwd", MambaBlock(d, dtype=dtype, key=key)),
        ):
            dyn, static = eqx.partition(layer, eqx.is_inexact_array)

            def loss(dyn, u, static=static):
                return jnp.mean(jax.vmap(eqx.combine(dyn, static))(u) ** 2)

            rec = bench.time_jax(case, jax.grad(loss), dyn, u, impl="jaxsci", params=params)
            if rec.peak_bytes is not None:
                rec.extra["peak_GB"] = round(rec.peak_bytes / 1e9, 3)
