"""SSM benchmarks: the S4D Vandermonde kernel (forward, forward+backward) and the layer forward+backward.

Cases
-----
- ``kernel fwd`` / ``kernel fwd+bwd`` / ``kernel jvp``: ``K = 2 Re sum_n W_n exp(l z_n)`` for ``H`` channels,
  state size ``N`` (``N/2`` stored complex modes, S4 convention), length ``L``. ``jaxsci``:
  :func:`jaxsci.ssm.vandermonde` (tiled chunked GEMM, a custom JVP that JAX transposes for reverse mode);
  peer ``naive``: materialise ``exp(l z)`` of shape ``(H, N/2, L)`` then reduce (the annotated-s4 /
  discretax kernel), differentiated by plain autodiff. The gradient is taken of ``sum(K * G)`` for a fixed
  random ``G`` with respect to ``W`` and ``z``; the JVP pushes the tangent ``(W, z)`` forward. The naive peer
  is skipped (recorded with its estimated memory) where its ``(H, N/2, L)`` complex array would exceed
  ``NAIVE_LIMIT`` bytes.
- ``layer fwd+bwd``: :class:`jaxsci.ssm.S4DLayer` on a batch ``(B, L, H)`` (time-first, vmap), gradient of a
  scalar loss with respect to all parameters; peer ``s5-scan``: :class:`jaxsci.ssm.S5Layer` (parallel scan)
  at the same ``H`` with ``P = N``.
Sizes: quick = H=256, N=64, L in {1024, 16384} and H=64, N=1024, L=65536 (jaxsci forward and backward only),
layer B=8, H=128, L=1024; full = H in {256, 1024} x N in {64, 256} x L in {1024, 16384, 65536}. float32 unless
``--x64``.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from jaxsci.ssm import S4DLayer, S5Layer, vandermonde, vandermonde_naive

NAIVE_LIMIT = 3 * 2**30  # bytes of the naive (H, N/2, L) complex array we allow ourselves to build


def _inputs(H, M, L, dtype):
    rng = np.random.default_rng(0)
    cdtype = jnp.complex128 if dtype == jnp.float64 else jnp.complex64
    n = np.arange(M)
    dt = np.exp(rng.uniform(np.log(1e-3), np.log(1e-1), size=(H, 1)))
    z = dt * (-0.5 + 1j * np.pi * n)
    W = rng.normal(size=(H, M)) + 1j * rng.normal(size=(H, M))
    G = rng.normal(size=(H, L))
    return jnp.asarray(W, cdtype), jnp.asarray(z, cdtype), jnp.asarray(G, dtype)


def _fwd(kernel, L):
    return lambda W, z: kernel(W, z, L)


def _fwd_bwd(kernel, L):
    return jax.grad(lambda W, z, G: jnp.sum(kernel(W, z, L) * G), argnums=(0, 1))


def _jvp(kernel, L):
    return lambda W, z: jax.jvp(lambda W, z: kernel(W, z, L), (W, z), (W, z))[1]


def run(bench):
    dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    itemsize = 16 if dtype == jnp.float64 else 8
    if bench.quick:
        sizes = [(256, 64, 1024), (256, 64, 16384), (64, 1024, 65536)]
    else:
        sizes = [(H, N, L) for H in (256, 1024) for N in (64, 256) for L in (1024, 16384, 65536)]
    for H, N, L in sizes:
        M = N // 2
        W, z, G = _inputs(H, M, L, dtype)
        params = {"H": H, "N": N, "modes": M, "L": L, "dtype": jnp.dtype(dtype).name}
        naive_bytes = H * M * L * itemsize
        run_naive = naive_bytes <= NAIVE_LIMIT
        naive_reps = 2 if bench.quick else None
        cases = [("kernel fwd", _fwd, (W, z)), ("kernel fwd+bwd", _fwd_bwd, (W, z, G))]
        if not (bench.quick and L > 16384):
            cases.append(("kernel jvp", _jvp, (W, z)))
        for case, make, args in cases:
            if run_naive:
                bench.time_jax(
                    case,
                    make(vandermonde_naive, L),
                    *args,
                    impl="naive",
                    params=params,
                    repeats=naive_reps,
                )
            else:
                bench.note(
                    case,
                    impl="naive",
                    params=params,
                    skipped=True,
                    est_mem_GB=round(naive_bytes / 1e9, 1),
                )
            rec = bench.time_jax(
                case,
                make(vandermonde, L),
                *args,
                impl="jaxsci",
                params=params,
                compare_to="naive" if run_naive else None,
            )
            if rec.peak_bytes is not None:
                rec.extra["peak_GB"] = round(rec.peak_bytes / 1e9, 3)
                if case == "kernel fwd" and rec.median_s:  # 8 H (N/2) L real flops in GEMMs
                    rec.extra["gflop_s"] = round(8 * H * M * L / 1e9 / rec.median_s, 1)

    # --- layer forward + backward -------------------------------------------------------------------
    layer_sizes = (
        [(8, 128, 64, 1024)] if bench.quick else [(32, 256, 64, 1024), (8, 256, 64, 16384)]
    )
    key = jax.random.key(0)
    for B, H, N, L in layer_sizes:
        u = jax.random.normal(key, (B, L, H), dtype)  # time-first samples
        params = {"B": B, "H": H, "N": N, "L": L, "dtype": jnp.dtype(dtype).name}
        for impl, layer in (
            ("s5-scan", S5Layer(H, N, dtype=dtype, key=key)),
            ("jaxsci", S4DLayer(H, N, dtype=dtype, key=key)),
        ):
            dyn, static = eqx.partition(layer, eqx.is_inexact_array)

            def loss(dyn, u, static=static):
                m = eqx.combine(dyn, static)
                return jnp.mean(jax.vmap(m)(u) ** 2)

            bench.time_jax(
                "layer fwd+bwd",
                jax.grad(loss),
                dyn,
                u,
                impl=impl,
                params=params,
                compare_to="s5-scan" if impl == "jaxsci" else None,
            )

    # --- selective scan (Mamba S6) and MambaBlock: benchmarks/_ssm_selective.py (issue 13) -------------
    from benchmarks import _ssm_selective

    _ssm_selective.run(bench)

    # --- companion (SpaceTime) kernel: fast O((d + L) log(d + L)) vs the Krylov construction (issue 14)
    from benchmarks import _ssm_companion

    _ssm_companion.run(bench)
