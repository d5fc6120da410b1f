"""Companion (SpaceTime) kernel benchmark, called from ``benchmarks/ssm.py``.

``companion kernel fwd`` / ``fwd+bwd``: 128 kernels ``K_k = c A^k b`` (``jax.vmap`` of the batch-free
functions) of state size ``d`` and length ``L``. ``jaxsci``: :func:`jaxsci.ssm.companion_kernel` (default
``c`` parameterisation: Sherman–Morrison on the circle ``z^L = 1/e`` with ``b~ = b - A^L b / e``,
``A^L b`` by binary powering mod ``chi_A``; ``O((d + L) log(d + L) + d log d log L)``);
``jaxsci-ctilde``: the same with ``c_tilde=True`` (the roots-of-unity formula, the training
parameterisation); peer ``krylov``: :func:`jaxsci.ssm.companion_kernel_krylov`, the ``(d, L)`` Krylov matrix
by repeated squaring (the released SpaceTime code), skipped where its ``128 d L`` floats exceed
``KRYLOV_LIMIT``. The gradient is of ``sum(K * G)`` with respect to ``a``, ``b``, ``c``.
Sizes: quick = (d, L) = (64, 4096) (2 repeats); full = d in {16, 64, 256} x L in {1024, 16384, 65536}.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxsci.ssm import companion_kernel, companion_kernel_krylov

N_KERNELS = 128
KRYLOV_LIMIT = 4 * 2**30  # bytes of the (128, d, L) Krylov matrix we allow ourselves to build


def _inputs(d, L, dtype):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(N_KERNELS, d))
    a /= np.abs(a).sum(1, keepdims=True) * 1.01
    b, c = rng.normal(size=(2, N_KERNELS, d))
    G = rng.normal(size=(N_KERNELS, L))
    return tuple(jnp.asarray(x, dtype) for x in (a, b, c, G))


def _fwd(kernel, L):
    return jax.vmap(lambda a, b, c: kernel(a, b, c, L))


def _fwd_bwd(kernel, L):
    f = jax.vmap(lambda a, b, c: kernel(a, b, c, L))
    return jax.grad(lambda a, b, c, G: jnp.sum(f(a, b, c) * G), argnums=(0, 1, 2))


def run(bench, sizes=None):
    """Time the cases on ``sizes`` (``[(d, L), ...]``; default by ``bench.size``)."""
    dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    itemsize = jnp.dtype(dtype).itemsize
    if sizes is not None:
        pass
    elif bench.quick:
        sizes = [(64, 4096)]  # the d = 64, L = 16384 target is in the full size
    else:
        sizes = [(d, L) for d in (16, 64, 256) for L in (1024, 16384, 65536)]
    impls = {
        "krylov": companion_kernel_krylov,
        "jaxsci": companion_kernel,
        "jaxsci-ctilde": lambda a, b, c, L: companion_kernel(a, b, c, L, c_tilde=True),
    }
    for d, L in sizes:
        a, b, c, G = _inputs(d, L, dtype)
        params = {"kernels": N_KERNELS, "d": d, "L": L, "dtype": jnp.dtype(dtype).name}
        krylov_bytes = N_KERNELS * d * L * itemsize
        run_krylov = krylov_bytes <= KRYLOV_LIMIT
        for case, make, args in (
            ("companion kernel fwd", _fwd, (a, b, c)),
            ("companion kernel fwd+bwd", _fwd_bwd, (a, b, c, G)),
        ):
            for impl, kernel in impls.items():
                if impl == "krylov" and not run_krylov:
                    bench.note(
                        case,
                        impl=impl,
                        params=params,
                        skipped=True,
                        est_mem_GB=round(krylov_bytes / 1e9, 1),
                    )
                    continue
                rec = bench.time_jax(
                    case,
                    make(kernel, L),
                    *args,
                    impl=impl,
                    params=params,
                    repeats=2 if bench.quick else None,
                    compare_to="krylov" if impl != "krylov" and run_krylov else None,
                )
                if rec.peak_bytes is not None:
                    rec.extra["peak_MB"] = round(rec.peak_bytes / 1e6, 1)
