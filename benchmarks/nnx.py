"""Flax NNX front end vs Equinox: forward + backward time of each model side by side (issue 19).

Cases
-----
- ``fwd+bwd``: the gradient of ``mean(model(x)^2)`` over a batch of ``B`` inputs (``jax.vmap``), for
  every model with an NNX twin in :mod:`jaxsci.nnx`. ``impl="equinox"``: the Equinox model, split by
  ``eqx.partition`` into arrays and static fields, ``jax.grad`` under the harness's ``jax.jit``;
  ``impl="nnx"``: the twin with the same weights (:func:`jaxsci.nnx.to_nnx`), split by ``nnx.split`` into
  its ``nnx.Param`` state and graph, ``jax.grad`` of ``nnx.merge`` under the same ``jax.jit``;
  ``speedup = equinox / nnx`` (1 = the same program: the twin calls the Equinox model's code).
- ``fwd+bwd (dispatch)``: the same gradient called the way each library's users call it, timed from
  Python with the dispatch overhead included: ``eqx.filter_jit(eqx.filter_grad(loss))(model, x)`` vs
  ``nnx.jit(nnx.grad(loss))(twin, x)`` (NNX's graph traversal per call); the small-model cases show that
  overhead, the large ones amortise it.

Sizes: quick = small models (widths 16-32, sequences of 128, 32 x 32 grids, ``B = 4``), three timed
repeats, the dispatch pair on three models; full = widths 64-128, sequences of 1024, 64 x 64 grids,
``B = 16``, every model. float32 unless ``--x64``. Skipped (a note) when flax is not installed.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

import jaxsci.multigrid as mg
import jaxsci.operators as op
import jaxsci.spectral as sp
import jaxsci.ssm as ssm


def _cases(quick: bool, dtype):
    """name: (Equinox model, one input shape)."""
    key = jax.random.key(0)
    w = 32 if quick else 128
    L = 128 if quick else 1024
    s = 32 if quick else 64
    return {
        "S4DLayer": (ssm.S4DLayer(w, 32, dtype=dtype, key=key), (L, w)),
        "S5Layer": (ssm.S5Layer(w, 32, dtype=dtype, key=key), (L, w)),
        "SSMModel": (
            ssm.SSMModel(4, 4, d_model=w, n_layers=2, state_size=32, dtype=dtype, key=key),
            (L, 4),
        ),
        "MambaBlock": (ssm.MambaBlock(w, dtype=dtype, key=key), (L, w)),
        "MambaModel": (ssm.MambaModel(4, 4, d_model=w, n_layers=2, dtype=dtype, key=key), (L, 4)),
        "CompanionSSM": (ssm.CompanionSSM(w, 32, dtype=dtype, key=key), (L, w)),
        "SpaceTime": (
            ssm.SpaceTime(24, H=w, d=32, kernel_repeat=4, dropout=0.0, dtype=dtype, key=key),
            (L,),
        ),
        "FNO": (
            sp.FNO(
                1, 1, modes=(8, 8), width=w // 2, depth=4, projection_width=w, dtype=dtype, key=key
            ),
            (1, s, s),
        ),
        "MgNO": (
            mg.MgNO(1, 1, grid_shape=(s, s), width=w // 4, num_layers=2, dtype=dtype, key=key),
            (1, s, s),
        ),
        "LSM": (
            op.LSM(
                1,
                1,
                width=w // 2,
                num_heads=2,
                patch_size=4,
                projection_width=w,
                dtype=dtype,
                key=key,
            ),
            (1, s, s),
        ),
    }


def _loss(model, x):
    return jnp.mean(jax.vmap(model)(x) ** 2)


def run(bench):
    try:
        from flax import nnx

        import jaxsci.nnx as jn
    except ImportError as err:  # flax is the optional `flax` extra
        bench.note("fwd+bwd", impl="nnx", skipped=f"flax not installed ({err})")
        return
    dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    batch = 4 if bench.quick else 16
    repeats = 3 if bench.quick else None
    dispatch = ("S4DLayer", "MambaModel", "FNO") if bench.quick else None
    for name, (model, shape) in _cases(bench.quick, dtype).items():
        x = jax.random.normal(jax.random.key(1), (batch, *shape), dtype)
        params = {
            "model": name,
            "batch": batch,
            "shape": list(shape),
            "dtype": jnp.dtype(dtype).name,
        }
        arrays, static = eqx.partition(model, eqx.is_inexact_array)

        def eqx_grad(arrays, x, static=static):
            return jax.grad(lambda a: _loss(eqx.combine(a, static), x))(arrays)

        twin = jn.to_nnx(model)
        graphdef, state, rest = nnx.split(twin, nnx.Param, ...)

        def nnx_grad(state, rest, x, graphdef=graphdef):
            return jax.grad(lambda p: _loss(nnx.merge(graphdef, p, rest), x))(state)

        bench.time_jax(
            "fwd+bwd", eqx_grad, arrays, x, impl="equinox", params=params, repeats=repeats
        )
        bench.time_jax(
            "fwd+bwd",
            nnx_grad,
            state,
            rest,
            x,
            impl="nnx",
            params=params,
            repeats=repeats,
            compare_to="equinox",
        )
        if dispatch is None or name in dispatch:
            eqx_step = eqx.filter_jit(eqx.filter_grad(_loss))
            nnx_step = nnx.jit(nnx.grad(_loss))
            bench.time_host(
                "fwd+bwd (dispatch)",
                lambda f=eqx_step, m=model, x=x: f(m, x),
                impl="eqx.filter_jit",
                params=params,
                repeats=repeats,
                trace_memory=False,
            )
            bench.time_host(
                "fwd+bwd (dispatch)",
                lambda f=nnx_step, m=twin, x=x: f(m, x),
                impl="nnx.jit",
                params=params,
                repeats=repeats,
                compare_to="eqx.filter_jit",
                trace_memory=False,
            )
