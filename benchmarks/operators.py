"""Operator-learning benchmarks: training-step throughput of FNO, MgNO, LSM and the U-Nets, Darcy and
Navier-Stokes data generation.

Cases
-----
- ``train step``: one forward + backward + Adam update by :func:`jaxsci.training.make_train_step` (the
  one training step of jaxsci: relative-L2 loss, vmap over the batch with per-sample keys) of the
  paper-size models on a batch of ``B`` random ``s x s`` fields: ``fno`` =
  :class:`jaxsci.spectral.FNO` (width 32, 12 x 12 modes, 4 layers, grid features; 2.37M real
  parameters) and ``mgno`` = :class:`jaxsci.multigrid.MgNO` (width 24, 4 layers, 6 levels, V-cycles on
  the input grid: ``grid_shape = (s, s)``; 0.57M). The MgNO record is compared with the FNO record of
  the same size; ``samples_per_s = B / median``.
- ``train step (zoo)``: the same step for :class:`jaxsci.operators.LSM` (the paper's width 64, 6 x 6
  patches for Darcy / 4 x 4 on NS grids: patch 4 here so that 64 and 128 need no padding),
  :class:`jaxsci.operators.UNet` (width 64) and :class:`jaxsci.operators.ResolutionAwareUNet` (width
  16, multipliers (1, 2, 2, 3), kernel 5 at the base grid = the input grid), beside FNO (paper size),
  at ``s = 64`` and ``128``, batch 8; XLA's compiled peak memory per case (``peak_bytes``) and
  ``samples_per_s``; ratios against FNO. Quick size: ``s = 64`` only, widths 16, one timed repeat.
- ``navier-stokes data``: :func:`jaxsci.data.navier_stokes` (``nu = 1e-3``, 64 x 64 stored, solved at
  128, ``dt = 1e-2``, 2 time units per sample in quick, 10 in full), compile excluded;
  ``samples_per_s`` and ``steps_per_s`` (time steps x samples per second).
- ``darcy data``: :func:`jaxsci.data.darcy` at ``64 x 64`` to relative residual 1e-10 (multigrid, float64
  inside), compile excluded (one warm-up call); ``samples_per_s``.
Sizes: quick = s = 64, B = 4, 3 timed repeats, 8 Darcy samples; full = s in {64, 128}, B = 20, 256
Darcy samples.
float32 unless ``--x64`` (the Darcy solve is always float64).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from jaxsci.data import darcy, navier_stokes
from jaxsci.operators import FNO, LSM, MgNO, ResolutionAwareUNet, UNet
from jaxsci.training import make_train_step, num_real_parameters, relative_l2


def _models(dtype, s):
    key = jax.random.key(0)
    return {
        "fno": FNO(
            1, 1, modes=(12, 12), width=32, depth=4, projection_width=128, dtype=dtype, key=key
        ),
        "mgno": MgNO(1, 1, width=24, num_layers=4, grid_shape=(s, s), dtype=dtype, key=key),
    }


def run(bench):
    dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    sizes = [64] if bench.quick else [64, 128]
    batch = 4 if bench.quick else 20
    optimizer = optax.adam(1e-3)
    step = make_train_step(relative_l2, optimizer)
    for s in sizes:
        kx, ky = jax.random.split(jax.random.key(s))
        x = jax.random.normal(kx, (batch, 1, s, s), dtype)
        y = jax.random.normal(ky, (batch, 1, s, s), dtype)
        for name, model in _models(dtype, s).items():
            opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
            rec = bench.time_jax(
                "train step",
                step,
                model,
                opt_state,
                x,
                y,
                jax.random.key(1),
                impl=name,
                repeats=3 if bench.quick else None,
                params={"s": s, "batch": batch, "dtype": jnp.dtype(dtype).name},
                compare_to="fno" if name == "mgno" else None,
                extra={"real_params": num_real_parameters(model)},
            )
            if rec.median_s:
                rec.extra["samples_per_s"] = round(batch / rec.median_s, 2)
    _zoo(bench, dtype, optimizer, step)
    _navier_stokes(bench)
    num = 8 if bench.quick else 256
    rec = bench.time_host(
        "darcy data",
        lambda: darcy(
            jax.random.key(1), num, 64, chunk_size=8 if bench.quick else 16, progress=False
        ),
        impl="jaxsci",
        params={"s": 64, "samples": num, "rtol": 1e-10},
        repeats=2 if bench.quick else 3,
        trace_memory=False,
    )
    if rec.median_s:
        rec.extra["samples_per_s"] = round(num / rec.median_s, 2)


def _zoo_models(dtype, s, quick):
    key = jax.random.key(0)
    w = 16 if quick else 64
    return {
        "fno": FNO(1, 1, modes=(12, 12), width=16 if quick else 32, depth=4, dtype=dtype, key=key),
        "lsm": LSM(1, 1, width=w, patch_size=4, dtype=dtype, key=key),
        "unet": UNet(1, 1, width=w, dtype=dtype, key=key),
        "resolution_aware_unet": ResolutionAwareUNet(
            1, 1, base_resolution=s, width=16, kernel_size=5, dtype=dtype, key=key
        ),
    }


def _zoo(bench, dtype, optimizer, step):
    batch = 8
    for s in [64] if bench.quick else [64, 128]:
        kx, ky = jax.random.split(jax.random.key(s + 1))
        x = jax.random.normal(kx, (batch, 1, s, s), dtype)
        y = jax.random.normal(ky, (batch, 1, s, s), dtype)
        for name, model in _zoo_models(dtype, s, bench.quick).items():
            opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
            rec = bench.time_jax(
                "train step (zoo)",
                step,
                model,
                opt_state,
                x,
                y,
                jax.random.key(1),
                impl=name,
                repeats=1 if bench.quick else None,
                params={"s": s, "batch": batch, "dtype": jnp.dtype(dtype).name},
                compare_to=None if name == "fno" else "fno",
                extra={"real_params": num_real_parameters(model)},
            )
            if rec.median_s:
                rec.extra["samples_per_s"] = round(batch / rec.median_s, 2)


def _navier_stokes(bench):
    num, T, dt = (2, 2, 1e-2) if bench.quick else (16, 10, 1e-2)
    rec = bench.time_host(
        "navier-stokes data",
        lambda: navier_stokes(
            jax.random.key(3),
            num,
            64,
            nu=1e-3,
            T=T,
            dt=dt,
            solve_resolution=128,
            chunk_size=num,
            progress=False,
        ),
        impl="jaxsci",
        params={"s": 64, "solve_resolution": 128, "samples": num, "T": T, "dt": dt},
        repeats=1 if bench.quick else 3,
        trace_memory=False,
    )
    if rec.median_s:
        rec.extra["samples_per_s"] = round(num / rec.median_s, 3)
        rec.extra["steps_per_s"] = round(num * T / dt / rec.median_s, 1)
