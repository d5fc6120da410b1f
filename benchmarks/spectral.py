"""Spectral benchmarks: FNO spectral-convolution layer forward+backward, FFT/DST Poisson solves.

Cases
-----
- ``spectral_conv fwd+bwd``: a typical FNO layer (64 -> 64 channels, 64^2 grid, 16x16 modes per
  corner block), batch via ``vmap``, gradient of a scalar loss with respect to the input and both
  weight arrays. Impls: ``jaxsci`` (rfftn + corner blocks, ``method="fft"``), ``jaxsci-dft``
  (truncated DFT as dense matmuls, ``method="dft"``), and the peer ``naive`` (rfftn, an einsum over
  the full rfft spectrum with dense per-mode weights masked to the retained modes, irfftn: the
  "materialise everything" implementation). Throughput in samples/s in the notes.
- ``dirichlet poisson``: DST-I solve of the Poisson problem in float32 and float64 (both, whatever
  ``--x64``) at 255^2, 511^2, 1023^2 (quick; full adds
  2047^2, 4095^2) interior unknowns; peer ``scipy``: ``scipy.fft.dstn``/``idstn`` (type 1,
  ``workers=-1``) in NumPy.
- ``periodic poisson``: :func:`jaxsci.spectral.solve_periodic` (a ``Solution`` on the solver protocol,
  with its default ``compatibility="check"``, i.e. including the compatibility and finiteness checks)
  at 256^2, 512^2 (quick; full to 4096^2); peer ``scipy``: ``scipy.fft.rfftn`` solve, mean projected.

dtype float32 unless ``--x64`` (both sides use the same dtype).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxsci.spectral import dirichlet_eigenvalues, solve_dirichlet, solve_periodic, spectral_conv


def _naive_conv(x, w_full_re, w_full_im):
    """Full-spectrum per-mode contraction: (C_in, n1, n2) -> (C_out, n1, n2)."""
    X = jnp.fft.rfftn(x, axes=(1, 2), norm="forward")
    W = w_full_re + 1j * w_full_im
    Y = jnp.einsum("ixy,ioxy->oxy", X, W)
    return jnp.fft.irfftn(Y, s=x.shape[1:], axes=(1, 2), norm="forward")


def _full_weights(w_re, w_im, modes, n):
    """Scatter corner-block weights into a dense (C_in, C_out, n, n//2+1) array (zeros elsewhere)."""
    m1, m2 = modes
    shape = w_re.shape[1:3] + (n, n // 2 + 1)
    out = []
    for w in (w_re, w_im):
        full = jnp.zeros(shape, w.dtype)
        full = full.at[:, :, :m1, :m2].set(w[0]).at[:, :, n - m1 :, :m2].set(w[1])
        out.append(full)
    return out


def run(bench):
    dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    np_dtype = np.dtype(dtype)
    key = jax.random.key(0)
    kx, kw1, kw2, kc = jax.random.split(key, 4)

    # --- spectral convolution layer, forward + backward --------------------------------------
    channels, n, m = 64, 64, 16
    batches = (4,) if bench.quick else (16, 64)
    w_re = jax.random.normal(kw1, (2, channels, channels, m, m), dtype) / channels
    w_im = jax.random.normal(kw2, (2, channels, channels, m, m), dtype) / channels
    wf_re, wf_im = _full_weights(w_re, w_im, (m, m), n)
    for batch in batches:
        x = jax.random.normal(kx, (batch, channels, n, n), dtype)
        ct = jax.random.normal(kc, (batch, channels, n, n), dtype)
        params = {"batch": batch, "channels": channels, "n": n, "modes": m, "dtype": str(np_dtype)}

        def make(layer, ct=ct):
            def loss(v, a, b):
                return jnp.sum(jax.vmap(lambda w: layer(w, a, b))(v) * ct)

            def step(v, a, b):
                return jax.value_and_grad(loss, argnums=(0, 1, 2))(v, a, b)

            return step

        fft_step = make(lambda v, a, b: spectral_conv(v, a, b, (m, m), method="fft"))
        dft_step = make(lambda v, a, b: spectral_conv(v, a, b, (m, m), method="dft"))
        naive_step = make(_naive_conv)
        r_naive = bench.time_jax(
            "spectral_conv fwd+bwd", naive_step, x, wf_re, wf_im, impl="naive", params=params
        )
        for impl, fn in (("jaxsci", fft_step), ("jaxsci-dft", dft_step)):
            rec = bench.time_jax(
                "spectral_conv fwd+bwd",
                fn,
                x,
                w_re,
                w_im,
                impl=impl,
                params=params,
                compare_to="naive",
            )
            if rec.median_s:
                rec.extra["samples_per_s"] = round(batch / rec.median_s, 1)
        if r_naive.median_s:
            r_naive.extra["samples_per_s"] = round(batch / r_naive.median_s, 1)

    # --- Dirichlet Poisson by DST-I: float32 and float64 (x64 enabled locally), 255^2 to 1023^2 ------
    import contextlib

    import scipy.fft

    sizes = (255, 511) if bench.quick else (255, 511, 1023, 2047, 4095)
    dirichlet_sizes = (255, 511, 1023) if bench.quick else sizes
    for d_dtype in (np.float32, np.float64):
        ctx = jax.enable_x64(True) if d_dtype == np.float64 else contextlib.nullcontext()
        with ctx:
            _dirichlet_cases(bench, dirichlet_sizes, np.dtype(d_dtype))

    # --- periodic Poisson by FFT --------------------------------------------------------------
    for size in tuple(s + 1 for s in sizes):
        xs = np.arange(size) / size
        X, Y = np.meshgrid(xs, xs, indexing="ij")
        u_exact = np.sin(2 * np.pi * X) * np.cos(4 * np.pi * Y)
        f = (20 * np.pi**2 * u_exact).astype(np_dtype)
        params = {"n": f"{size}^2", "dtype": str(np_dtype)}
        fj = jnp.asarray(f)
        solve = lambda f: solve_periodic(f, throw=False).value
        rec = bench.time_jax(
            "periodic poisson (FFT)", solve, fj, impl="jaxsci", params=params, compare_to="scipy"
        )
        sol = solve_periodic(fj, throw=False)
        rec.extra["max_err_vs_exact"] = float(np.abs(np.asarray(sol.value) - u_exact).max())
        rec.extra["result"] = "successful" if bool(sol.success) else "failed"
        kk = 2 * np.pi * np.fft.fftfreq(size, 1 / size)
        kr = 2 * np.pi * np.fft.rfftfreq(size, 1 / size)
        lam = (kk[:, None] ** 2 + kr[None, :] ** 2).astype(np_dtype)
        lam[0, 0] = 1.0

        def np_solve(f=f, lam=lam):
            fh = scipy.fft.rfftn(f, workers=-1) / lam
            fh[0, 0] = 0.0
            return scipy.fft.irfftn(fh, s=f.shape, workers=-1)

        rec = bench.time_host("periodic poisson (FFT)", np_solve, impl="scipy", params=params)
        rec.extra["max_err_vs_exact"] = float(np.abs(np_solve() - u_exact).max())


def _dirichlet_cases(bench, sizes, np_dtype):
    """solve_dirichlet against scipy.fft.dstn/idstn (type 1, workers=-1) in the same run."""
    import scipy.fft

    for size in sizes:
        s = np.arange(1, size + 1) / (size + 1)
        X, Y = np.meshgrid(s, s, indexing="ij")
        u_exact = np.sin(np.pi * X) * np.sin(3 * np.pi * Y) * 0.5 + np.sin(4 * np.pi * X) * np.sin(
            np.pi * Y
        )
        f = (
            10 * np.pi**2 * 0.5 * np.sin(np.pi * X) * np.sin(3 * np.pi * Y)
            + 17 * np.pi**2 * np.sin(4 * np.pi * X) * np.sin(np.pi * Y)
        ).astype(np_dtype)
        lam = dirichlet_eigenvalues((size, size), stencil="spectral").astype(np_dtype)
        params = {"n": f"{size}^2", "dtype": str(np_dtype)}
        fj = jnp.asarray(f)
        rec = bench.time_jax(
            "dirichlet poisson (DST-I)",
            lambda f: solve_dirichlet(f),
            fj,
            impl="jaxsci",
            params=params,
            compare_to="scipy",
        )
        err = float(np.abs(np.asarray(solve_dirichlet(fj)) - u_exact).max())
        rec.extra["max_err_vs_exact"] = err

        def scipy_solve(f=f, lam=lam):
            return scipy.fft.idstn(scipy.fft.dstn(f, type=1, workers=-1) / lam, type=1, workers=-1)

        rec = bench.time_host("dirichlet poisson (DST-I)", scipy_solve, impl="scipy", params=params)
        rec.extra["max_err_vs_exact"] = float(np.abs(scipy_solve() - u_exact).max())
