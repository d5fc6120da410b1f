"""Bad-input probes of ``jaxsci.nnx`` (issue 11 protocol): every public name, valid and bad inputs.

The twins run their Equinox models' checks, so a bad input names the same argument; the NNX-specific
arguments (``rngs`` instead of ``key``, the converters' ``model``) are probed here. Tiny models, each
call under ``nnx.jit``. Without flax (the optional ``flax`` extra) the registry is empty and the probes
skip (``tests/test_bad_inputs.py`` then leaves ``nnx`` out)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from badinputs import arg, error, ok, probe_ids, run_probe


def _have_flax() -> bool:
    try:  # an import, not find_spec: tests/nnx/test_nnx_without_flax.py makes the import fail
        import flax  # noqa: F401
    except ImportError:
        return False
    return True


HAVE_FLAX = _have_flax()
REGISTRY = {}

if HAVE_FLAX:
    import equinox as eqx
    from flax import nnx

    import jaxsci.multigrid as mg
    import jaxsci.nnx as jn
    import jaxsci.operators as op
    import jaxsci.spectral as sp
    import jaxsci.ssm as ssm

    KEY = jax.random.key(0)
    U = np.asarray(jax.random.normal(KEY, (6, 4)))
    F = np.asarray(jax.random.normal(KEY, (1, 8, 8)))
    # name: (Equinox class, args, kwargs, valid input, (a bad constructor kwarg, the argument it names),
    #        input argument name)
    SPECS = {
        "S4DLayer": (ssm.S4DLayer, (4, 4), {}, U, ({"N": 3}, "N"), "u"),
        "S5Layer": (ssm.S5Layer, (4, 4), {}, U, ({"dt_min": "a"}, "dt_min"), "u"),
        "SSMModel": (
            ssm.SSMModel,
            (4, 2),
            dict(d_model=4, n_layers=1, state_size=4),
            U,
            ({"pool": "max"}, "pool"),
            "x",
        ),
        "MambaBlock": (ssm.MambaBlock, (4,), dict(d_state=2), U, ({"d_state": 0}, "d_state"), "u"),
        "MambaModel": (
            ssm.MambaModel,
            (4, 2),
            dict(d_model=4, n_layers=1, d_state=2),
            U,
            ({"n_layers": 0}, "n_layers"),
            "x",
        ),
        "CompanionSSM": (
            ssm.CompanionSSM,
            (4, 4),
            {},
            U,
            ({"kernel_repeat": 3}, "kernel_repeat"),
            "u",
        ),
        "SpaceTime": (
            ssm.SpaceTime,
            (2,),
            dict(H=4, d=2, kernel_repeat=2, ma_windows=(2,), diff_orders=(0, 1)),
            U[:, 0],
            ({"dropout": 1.5}, "dropout"),
            "x",
        ),
        "FNO": (
            sp.FNO,
            (1, 1),
            dict(modes=(2, 2), width=2, depth=1, projection_width=2),
            F,
            ({"width": 0}, "width"),
            "x",
        ),
        "MgNO": (
            mg.MgNO,
            (1, 1),
            dict(grid_shape=(8, 8), width=2, num_layers=1, num_iterations=((1, 0), (1, 0))),
            F,
            ({"num_spatial_dims": 4}, "num_spatial_dims"),
            "x",
        ),
        "LSM": (
            op.LSM,
            (1, 1),
            dict(width=4, num_basis=2, num_tokens=2, num_heads=2, patch_size=2, projection_width=4),
            F,
            ({"num_heads": 3}, "num_heads|width"),
            "x",
        ),
    }

    @functools.cache
    def _pair(name):
        cls, args, kwargs, _, _, _ = SPECS[name]
        model = cls(*args, **kwargs, key=KEY)
        twin = getattr(jn, name)(model)
        twin.eval()
        return model, twin

    _call = nnx.jit(lambda m, x: m(x))

    def _shaped_like_equinox(name, x):
        # the values are compared with the Equinox model in test_nnx.py; here the shape (traced only)
        model, _ = _pair(name)
        return lambda y: y.shape == jax.eval_shape(model, x).shape

    def _twin_probes(name):
        cls, args, kwargs, x, (bad, bad_name), xname = SPECS[name]
        twin_cls = getattr(jn, name)
        if name in ("FNO", "MgNO", "LSM"):
            bad_x = np.concatenate([x, x])  # two channels for one
        else:
            bad_x = x[..., :1] if x.ndim > 1 else x[:1]  # one channel too few / a window too short
        return [
            ok(
                "valid",
                lambda: _call(_pair(name)[1], x),
                check=_shaped_like_equinox(name, x),
            ),
            ok(
                "valid",
                lambda: twin_cls(*args, **kwargs, rngs=nnx.Rngs(0)),
                check=lambda t: isinstance(t, twin_cls),
            ),
            error(
                "range", lambda: twin_cls(*args, **{**kwargs, **bad}, rngs=nnx.Rngs(0)), bad_name
            ),
            error("key", lambda: twin_cls(*args, **kwargs, rngs=KEY), arg("rngs")),
            error("key", lambda: twin_cls(*args, **kwargs), arg("rngs")),
            error("key", lambda: twin_cls(*args, **kwargs, key=KEY, rngs=nnx.Rngs(0)), arg("key")),
            error("shape", lambda: _call(_pair(name)[1], bad_x), arg(xname)),
            error("dtype", lambda: _call(_pair(name)[1], x.astype(np.complex64)), arg(xname)),
            error("dtype", lambda: twin_cls(ssm.RMSNorm(3)), "converts a"),
        ]

    REGISTRY.update({name: _twin_probes(name) for name in SPECS})
    REGISTRY["S4DLayer"].append(
        error("nonfinite", lambda: _call(_pair("S4DLayer")[1], U * np.nan), arg("u"))
    )
    REGISTRY["to_nnx"] = [
        ok(
            "valid",
            lambda: jn.to_equinox(jn.to_nnx(_pair("S5Layer")[0])),
            check=lambda m: bool(eqx.tree_equal(m, _pair("S5Layer")[0])),
        ),
        error("dtype", lambda: jn.to_nnx(ssm.RMSNorm(3)), arg("model")),
        error("dtype", lambda: jn.to_nnx(jnp.ones(3)), arg("model")),
        error("key", lambda: jn.to_nnx(_pair("S5Layer")[0], rngs=KEY), arg("rngs")),
    ]
    REGISTRY["to_equinox"] = [
        ok(
            "valid",
            lambda: jn.to_equinox(_pair("FNO")[1]),
            check=lambda m: bool(eqx.tree_equal(m, _pair("FNO")[0])),
        ),
        error("dtype", lambda: jn.to_equinox(_pair("FNO")[0]), arg("model")),
        error("dtype", lambda: jn.to_equinox(nnx.Linear(2, 2, rngs=nnx.Rngs(0))), arg("model")),
    ]


@pytest.mark.skipif(not HAVE_FLAX, reason="jaxsci.nnx needs the optional `flax` extra")
@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "name, index, probe",
    probe_ids(REGISTRY),
    ids=[f"{n}-{i}-{p.category}" for n, i, p in probe_ids(REGISTRY)],
)
def test_probe(name, index, probe):
    run_probe(probe)
