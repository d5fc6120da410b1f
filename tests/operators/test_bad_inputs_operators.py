"""Bad-input probes of ``jaxsci.operators`` (issue 11 protocol): every public name, valid and bad
inputs. Tiny models (a few hundred parameters), shared across probes so each compiles once."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from badinputs import arg, error, ok, probe_ids, run_probe

from jaxsci.operators import (
    FNO,
    LSM,
    InterpolatedOperator,
    KernelIntegralAttention,
    MgNO,
    ResolutionAwareConv,
    ResolutionAwareUNet,
    UNet,
)

KEY = jax.random.key(0)
KEYS = jax.random.split(KEY, 2)
TINY = dict(width=4, num_basis=2, num_tokens=2, num_heads=2, patch_size=2, projection_width=4)
X = np.asarray(jax.random.normal(KEY, (1, 16, 16)))


def _lsm(**kw):
    return LSM(1, 1, **{**TINY, "key": KEY, **kw})


def _unet(**kw):
    return UNet(1, 1, **{"width": 2, "projection_width": 4, "key": KEY, **kw})


def _raconv(**kw):
    return ResolutionAwareConv(1, 2, 3, **{"base_resolution": 9, "key": KEY, **kw})


def _raunet(**kw):
    args = dict(base_resolution=9, width=2, channel_multipliers=(1, 2), kernel_size=3)
    return ResolutionAwareUNet(1, 1, **{**args, "projection_width": 4, "key": KEY, **kw})


def _attn(**kw):
    return KernelIntegralAttention(4, **{"num_heads": 2, "key": KEY, **kw})


LSM_M = eqx.filter_jit(_lsm())
UNET_M = eqx.filter_jit(_unet())
RACONV = _raconv()
RAUNET = eqx.filter_jit(_raunet())
ATTN = _attn()
A4 = np.asarray(jax.random.normal(KEY, (4, 3, 5)))
FNO_M = FNO(1, 1, modes=(2, 2), width=2, depth=1, projection_width=2, key=KEY)
MGNO_M = MgNO(
    1, 1, grid_shape=(8, 8), width=2, num_layers=1, num_iterations=((1, 0), (1, 0)), key=KEY
)
INTERP = InterpolatedOperator(lambda x, key=None: RACONV(x), 9)
X9 = np.asarray(jax.random.normal(KEY, (1, 9, 9)))

REGISTRY = {
    "LSM": [
        ok("valid", lambda: LSM_M(X), check=lambda y: y.shape == (1, 16, 16)),
        ok("shape", lambda: LSM_M(X[:, :13, :9]), check=lambda y: y.shape == (1, 13, 9)),
        error("shape", lambda: _lsm(padding=0)(np.ones((1, 20, 20))), arg("padding")),
        error("shape", lambda: _lsm(padding=0)(np.ones((1, 20, 20))), arg("patch_size")),
        error("shape", lambda: LSM_M(np.ones((2, 16, 16))), arg("x")),
        error("shape", lambda: LSM_M(np.ones((16, 16))), arg("x")),
        error("range", lambda: _lsm(width=6, num_heads=4), arg("width")),
        error("range", lambda: _lsm(patch_size=0), arg("patch_size")),
        error("range", lambda: _lsm(padding=(1, -1)), arg("padding")),
        error("range", lambda: _lsm(grid_layout="x"), arg("grid_layout")),
        error("dtype", lambda: _lsm(padding=1.5), arg("padding")),
        error("dtype", lambda: _lsm(dtype=jnp.int32), arg("dtype")),
        error("dtype", lambda: LSM_M(X + 1j), arg("x")),
        error("empty", lambda: LSM_M(np.ones((1, 0, 16))), arg("x")),
        error("list", lambda: LSM_M(X.tolist()), arg("x")),
        ok("magnitude", lambda: LSM_M(1e-300 * X), check=lambda y: np.all(np.isfinite(y))),
        ok(
            "transform",
            lambda: eqx.filter_vmap(lambda k: _lsm(key=k))(KEYS).core.lift.weight,
            check=lambda w: w.shape[0] == 2,
        ),
        error("key", lambda: _lsm(key=KEYS), arg("key")),
    ],
    "UNet": [
        ok("valid", lambda: UNET_M(X), check=lambda y: y.shape == (1, 16, 16)),
        ok("shape", lambda: UNET_M(X[:, :7, :11]), check=lambda y: y.shape == (1, 7, 11)),
        error("shape", lambda: _unet(padding=0)(X[:, :8, :8]), arg("padding")),
        error("shape", lambda: UNET_M(np.ones((3, 16, 16))), arg("x")),
        error("range", lambda: _unet(width=0), arg("width")),
        error("range", lambda: _unet(norm_groups=0), arg("norm_groups")),
        error("dtype", lambda: _unet(grid_features=1), arg("grid_features")),
        error("dtype", lambda: UNET_M(X + 1j), arg("x")),
        error("key", lambda: _unet(key=0), arg("key")),
    ],
    "ResolutionAwareConv": [
        ok("valid", lambda: RACONV(X9), check=lambda y: y.shape == (2, 9, 9)),
        ok(
            "valid",
            lambda: RACONV.kernel((17, 17)),
            check=lambda k: (
                k.shape == (2, 1, 7, 7) and np.allclose(k.sum((2, 3)), RACONV.weight.sum((2, 3)))
            ),
        ),
        ok("shape", lambda: RACONV(X[:, :13, :5]), check=lambda y: y.shape == (2, 13, 5)),
        error("shape", lambda: RACONV(np.ones((2, 9, 9))), arg("x")),
        error("shape", lambda: RACONV(np.ones((1, 1, 9))), arg("x")),
        error(
            "range",
            lambda: ResolutionAwareConv(1, 1, 4, base_resolution=9, key=KEY),
            arg("kernel_size"),
        ),
        error("range", lambda: _raconv(base_resolution=1), arg("base_resolution")),
        error("range", lambda: _raconv(interpolation="fourier"), arg("interpolation")),
        error("range", lambda: _raconv(padding_mode="reflect"), arg("padding_mode")),
        error("dtype", lambda: _raconv(base_resolution="9"), arg("base_resolution")),
        error("dtype", lambda: RACONV(X9 + 1j), arg("x")),
        error("list", lambda: RACONV(X9.tolist()), arg("x")),
        ok("magnitude", lambda: RACONV(1e300 * X9), check=lambda y: np.all(np.isfinite(y))),
        error("key", lambda: _raconv(key=KEYS), arg("key")),
    ],
    "ResolutionAwareUNet": [
        ok("valid", lambda: RAUNET(X9), check=lambda y: y.shape == (1, 9, 9)),
        ok("shape", lambda: RAUNET(X[:, :, :11]), check=lambda y: y.shape == (1, 16, 11)),
        error("shape", lambda: RAUNET(np.ones((2, 9, 9))), arg("x")),
        error("shape", lambda: RAUNET(np.ones((1, 1, 9))), arg("x")),
        error("range", lambda: _raunet(kernel_size=2), arg("kernel_size")),
        error("range", lambda: _raunet(channel_multipliers=(1, 0)), arg("channel_multipliers")),
        error("dtype", lambda: _raunet(channel_multipliers=2), arg("channel_multipliers")),
        error("dtype", lambda: _raunet(activation=1), arg("activation")),
        error("key", lambda: _raunet(key=KEYS), arg("key")),
    ],
    "KernelIntegralAttention": [
        ok("valid", lambda: ATTN(A4), check=lambda y: y.shape == A4.shape),
        ok(
            "valid",
            lambda: (ATTN(A4, weights=np.full((3, 5), 7.0)), ATTN(A4)),
            check=lambda out: np.allclose(out[0], out[1]),
        ),
        ok("valid", lambda: ATTN(A4, weights="trapezoid")),
        error("shape", lambda: ATTN(A4, weights=np.ones((3, 4))), arg("weights")),
        error("shape", lambda: ATTN(A4[:3]), arg("x")),
        error("range", lambda: _attn(num_heads=3), arg("channels")),
        error("range", lambda: ATTN(A4, weights="simpson"), arg("weights")),
        error("dtype", lambda: ATTN(A4 + 1j), arg("x")),
        error("empty", lambda: ATTN(np.ones((4, 0))), arg("x")),
        ok("magnitude", lambda: ATTN(1e-300 * A4)),
        ok(
            "transform",
            lambda: jax.vmap(ATTN)(np.stack([A4, A4])),
            check=lambda y: np.allclose(y[1], ATTN(A4)),
        ),
        error("key", lambda: _attn(key=KEYS), arg("key")),
    ],
    "InterpolatedOperator": [
        ok("valid", lambda: INTERP(X9), check=lambda y: np.array_equal(y, RACONV(X9))),
        ok("shape", lambda: INTERP(X[:, :, :]), check=lambda y: y.shape == (2, 16, 16)),
        error(
            "shape", lambda: InterpolatedOperator(RACONV, (9, 9))(np.ones((1, 4, 4, 4))), arg("x")
        ),
        error("range", lambda: InterpolatedOperator(RACONV, 1), arg("resolution")),
        error("dtype", lambda: InterpolatedOperator(3, 9), arg("model")),
        error("dtype", lambda: InterpolatedOperator(RACONV, 9, periodic=1), arg("periodic")),
        error("dtype", lambda: INTERP(X9 + 1j), arg("x")),
    ],
    # re-exported from jaxsci.spectral / jaxsci.multigrid (their registries probe them in full)
    "FNO": [
        ok("valid", lambda: FNO_M(X9), check=lambda y: y.shape == (1, 9, 9)),
        error("shape", lambda: FNO_M(np.ones((2, 9, 9))), arg("x")),
    ],
    "MgNO": [
        ok("valid", lambda: MGNO_M(X9[:, :8, :8]), check=lambda y: y.shape == (1, 8, 8)),
        error("range", lambda: MgNO(1, 1, grid_shape=(8, 8), width=0, key=KEY), arg("width")),
    ],
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name, index, probe", probe_ids(REGISTRY), ids=lambda v: str(v)[:40])
def test_probe(name, index, probe):
    run_probe(probe)
