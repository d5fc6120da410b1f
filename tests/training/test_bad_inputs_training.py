"""Bad-input probes of ``jaxsci.training`` (issue 11): every public name, valid and bad inputs."""

import pathlib
import re
import tempfile

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from badinputs import arg, error, ok, probe_ids, run_probe

from jaxsci.training import (
    Normalized,
    Normalizer,
    evaluate,
    fit,
    load_checkpoint,
    make_optimizer,
    make_train_step,
    mse,
    num_real_parameters,
    relative_h1,
    relative_l2,
    resample,
    resolution_transfer,
    save_checkpoint,
)

KEY = jax.random.key(0)
RNG = np.random.default_rng(0)
P = RNG.standard_normal((1, 8))
T = RNG.standard_normal((1, 8))
REL = np.linalg.norm(P - T) / np.linalg.norm(T)
XS = RNG.standard_normal((8, 1, 8))
YS = 2.0 * XS
TMP = pathlib.Path(tempfile.mkdtemp(prefix="jaxsci_bad_inputs_"))


class Scale(eqx.Module):
    w: jax.Array

    def __call__(self, x, *, key=None):
        return self.w * x


MODEL = Scale(jnp.ones(()))
OPT = optax.adam(1e-2)


def _fit(x=XS, y=YS, **kw):
    args = dict(epochs=2, batch_size=4, key=KEY, progress=False, loss="mse")
    args.update(kw)
    return fit(MODEL, OPT, (x, y), **args)


def _with(a, index, value):
    a = np.array(a, dtype=np.float64)
    a[index] = value
    return a


def _step(x=XS[:4], y=YS[:4], loss_fn=mse):
    step = make_train_step(loss_fn, OPT)
    state = OPT.init(eqx.filter(MODEL, eqx.is_inexact_array))
    return step(MODEL, state, jnp.asarray(x), jnp.asarray(y), KEY)


def raises(exc, pattern, fn):
    """A call for an ``ok`` probe: True when ``fn()`` raises ``exc`` whose message matches ``pattern``
    (for errors of other types than the framework's, e.g. ``FileNotFoundError``)."""

    def call():
        try:
            fn()
        except exc as e:
            return bool(re.search(pattern, str(e)))
        return False

    return call


def _saved(model=MODEL, name="ckpt.eqx"):
    return save_checkpoint(TMP / name, model, metadata={"a": 1})


NORM = Normalizer.from_data(XS)

REGISTRY = {
    "relative_l2": [
        ok("valid", lambda: relative_l2(P, T), check=lambda v: np.isclose(v, REL, rtol=1e-12)),
        ok("valid", lambda: relative_l2(T, T), check=lambda v: v == 0),
        error("shape", lambda: relative_l2(P, T[:, :4]), arg("pred")),
        error("dtype", lambda: relative_l2(P + 1j, T), arg("pred")),
        error("dtype", lambda: relative_l2(P, "abc"), arg("target")),
        ok(
            "dtype",
            lambda: relative_l2(
                jnp.asarray(300 * P, jnp.float16), jnp.asarray(300 * T, jnp.float16)
            ),
            check=lambda v: np.isclose(float(v), REL, rtol=1e-2),
        ),
        ok(
            "dtype",
            lambda: relative_l2(jnp.asarray(P, jnp.bfloat16), jnp.asarray(T, jnp.bfloat16)),
            check=lambda v: np.isclose(float(v), REL, rtol=3e-2),
        ),
        # zero target: the absolute error ||pred|| (documented convention)
        ok(
            "range",
            lambda: relative_l2(P, np.zeros_like(T)),
            check=lambda v: np.isclose(v, np.linalg.norm(P)),
        ),
        ok(
            "range", lambda: relative_l2(np.zeros_like(T), np.zeros_like(T)), check=lambda v: v == 0
        ),
        ok(
            "nonfinite",
            lambda: jnp.isnan(relative_l2(_with(P, (0, 1), np.nan), T)),
            check=lambda v: bool(v),
        ),
        ok(
            "magnitude",
            lambda: relative_l2(1e-200 * P, 1e-200 * T),
            check=lambda v: np.isclose(v, REL, rtol=1e-10),
        ),
        ok(
            "magnitude",
            lambda: relative_l2(1e200 * P, 1e200 * T),
            check=lambda v: np.isclose(v, REL, rtol=1e-10),
        ),
        ok(
            "magnitude",
            lambda: relative_l2(
                jnp.asarray(1e-30 * P, jnp.float32), jnp.asarray(1e-30 * T, jnp.float32)
            ),
            check=lambda v: np.isclose(v, REL, rtol=1e-5),
        ),
        error("list", lambda: relative_l2(P.tolist(), T), arg("pred")),
        ok(
            "transform",
            lambda: jax.grad(relative_l2)(jnp.asarray(T), jnp.asarray(T)),
            check=lambda g: np.all(np.isfinite(g)),
        ),
        ok(
            "transform",
            lambda: jax.grad(relative_l2)(jnp.asarray(P), jnp.zeros_like(jnp.asarray(T))),
            check=lambda g: np.allclose(g, P / np.linalg.norm(P)),
        ),
        ok(
            "transform",
            lambda: jax.vmap(relative_l2)(jnp.stack([P, P]), jnp.stack([T, 0 * T])),
            check=lambda v: np.allclose(v, [REL, np.linalg.norm(P)]),
        ),
    ],
    "relative_h1": [
        ok(
            "valid",
            lambda: relative_h1(P, T, method="spectral"),
            check=lambda v: 0 < v < 10,
        ),
        ok(
            "valid",
            lambda: relative_h1(1.01 * T, T),
            check=lambda v: np.isclose(v, 0.01, rtol=1e-10),
        ),
        error("shape", lambda: relative_h1(P, T[:, :3]), arg("pred")),
        error("shape", lambda: relative_h1(P[:, :1], T[:, :1]), arg("pred")),
        error("dtype", lambda: relative_h1(P, T + 1j), arg("target")),
        error("range", lambda: relative_h1(P, T, method="sobolev"), arg("method")),
        ok(
            "dtype",
            lambda: relative_h1(
                jnp.asarray(300 * P, jnp.float16), jnp.asarray(300 * T, jnp.float16)
            ),
            check=lambda v: np.isclose(float(v), float(relative_h1(P, T)), rtol=1e-2),
        ),
        ok(
            "range",
            lambda: relative_h1(P, np.zeros_like(T)),
            check=lambda v: np.isclose(
                v, np.sqrt(np.sum(P**2) + np.sum(np.gradient(P[0], 1 / 7) ** 2))
            ),
        ),
        ok(
            "range",
            lambda: relative_h1(P, np.zeros_like(T), method="spectral"),
            check=lambda v: np.isfinite(v) and v > 0,
        ),
        ok(
            "magnitude",
            lambda: relative_h1(1e-200 * P, 1e-200 * T),
            check=lambda v: np.isclose(v, float(relative_h1(P, T)), rtol=1e-10),
        ),
        ok(
            "magnitude",
            lambda: relative_h1(1e200 * P, 1e200 * T, method="spectral"),
            check=lambda v: np.isclose(v, float(relative_h1(P, T, method="spectral")), rtol=1e-10),
        ),
        error("list", lambda: relative_h1(P, T.tolist()), arg("target")),
        ok(
            "transform",
            lambda: jax.grad(relative_h1)(jnp.asarray(T), jnp.asarray(T)),
            check=lambda g: np.all(np.isfinite(g)),
        ),
    ],
    "mse": [
        ok("valid", lambda: mse(P, T), check=lambda v: np.isclose(v, np.mean((P - T) ** 2))),
        error("shape", lambda: mse(P, T[:, :2]), arg("pred")),
        error("dtype", lambda: mse(P + 1j, T), arg("pred")),
        ok(
            "magnitude",
            lambda: mse(1e100 * P, 1e100 * T),
            check=lambda v: np.isclose(v, 1e200 * np.mean((P - T) ** 2)),
        ),
        error("list", lambda: mse(P.tolist(), T), arg("pred")),
        ok(
            "transform",
            lambda: jax.jit(mse)(P, T),
            check=lambda v: np.isclose(v, np.mean((P - T) ** 2)),
        ),
    ],
    "make_optimizer": [
        ok(
            "valid",
            lambda: make_optimizer(1e-3, steps_per_epoch=2, epochs=3).init(jnp.ones(2)),
            check=lambda s: s is not None,
        ),
        error(
            "range",
            lambda: make_optimizer(-1e-3, steps_per_epoch=2, epochs=3),
            arg("learning_rate"),
        ),
        error(
            "range", lambda: make_optimizer(0.0, steps_per_epoch=2, epochs=3), arg("learning_rate")
        ),
        error(
            "nonfinite",
            lambda: make_optimizer(np.nan, steps_per_epoch=2, epochs=3),
            arg("learning_rate"),
        ),
        error(
            "range",
            lambda: make_optimizer(steps_per_epoch=2, epochs=3, weight_decay=-1e-4),
            arg("weight_decay"),
        ),
        error(
            "range", lambda: make_optimizer(steps_per_epoch=2, epochs=3, gamma=0.0), arg("gamma")
        ),
        error(
            "range", lambda: make_optimizer(steps_per_epoch=2, epochs=3, gamma=-0.5), arg("gamma")
        ),
        error(
            "range",
            lambda: make_optimizer(steps_per_epoch=2, epochs=3, step_epochs=0),
            arg("step_epochs"),
        ),
        error("range", lambda: make_optimizer(steps_per_epoch=0, epochs=3), arg("steps_per_epoch")),
        error(
            "range",
            lambda: make_optimizer(steps_per_epoch=2, epochs=3, schedule="x"),
            arg("schedule"),
        ),
        error(
            "dtype",
            lambda: make_optimizer("1e-3", steps_per_epoch=2, epochs=3),
            arg("learning_rate"),
        ),
        error(
            "dtype", lambda: make_optimizer(steps_per_epoch=2.0, epochs=3), arg("steps_per_epoch")
        ),
    ],
    "make_train_step": [
        ok("valid", lambda: _step()[2], check=lambda v: np.isclose(v, np.mean(XS[:4] ** 2))),
        error("nonfinite", lambda: _step(x=_with(XS[:4], (0, 0, 0), np.nan)), arg("x")),
        error("nonfinite", lambda: _step(y=_with(YS[:4], (1, 0, 3), np.inf)), arg("y")),
        ok(
            "range",
            lambda: _step(y=_with(YS[:4], 0, 0.0), loss_fn=relative_l2)[0].w,
            check=lambda w: np.isfinite(w),
        ),
        error("dtype", lambda: make_train_step("mse", OPT), arg("loss_fn")),
        error("dtype", lambda: make_train_step(mse, "adam"), arg("optimizer")),
        error("shape", lambda: _step(y=YS[:3]), r"`x`|`y`|batch"),
    ],
    "fit": [
        ok(
            "valid",
            lambda: _fit()[1]["history"],
            check=lambda h: h[-1]["train_loss"] < 1.0 * np.mean(XS**2),
        ),
        ok(
            "valid",
            lambda: _fit(loss="relative_l2", epochs=1)[0].w,
            check=lambda w: np.isfinite(w),
        ),
        error("shape", lambda: _fit(y=YS[:5]), arg("train_data")),
        error("shape", lambda: _fit(x=XS[:, 0, 0], y=YS[:, 0, 0]), arg("train_data")),
        error("range", lambda: _fit(batch_size=9), arg("batch_size")),
        error("range", lambda: _fit(batch_size=0), arg("batch_size")),
        error("range", lambda: _fit(epochs=0), arg("epochs")),
        error("range", lambda: _fit(loss="x"), arg("loss")),
        error("range", lambda: _fit(h1_method="x"), arg("h1_method")),
        error("range", lambda: _fit(resume=True), arg("checkpoint_path")),
        error("nonfinite", lambda: _fit(x=_with(XS, (3, 0, 2), np.nan)), arg("train_data")),
        error("nonfinite", lambda: _fit(y=_with(YS, (5, 0, 0), np.inf)), arg("train_data")),
        error(
            "nonfinite",
            lambda: _fit(x=jnp.asarray(_with(XS, (3, 0, 2), np.nan)), y=jnp.asarray(YS)),
            arg("train_data"),
        ),
        error(
            "nonfinite",
            lambda: _fit(test_data=(_with(XS, 0, np.nan), YS)),
            arg("test_data"),
        ),
        # one all-zero target with the relative loss: finite training (zero-target convention)
        ok(
            "range",
            lambda: _fit(y=_with(YS, 2, 0.0), loss="relative_l2")[0].w,
            check=lambda w: np.isfinite(w),
        ),
        ok(
            "range",
            lambda: _fit(y=_with(YS, 2, 0.0), loss="relative_h1")[0].w,
            check=lambda w: np.isfinite(w),
        ),
        # a diverging learning rate: a clear error, not NaN parameters
        error(
            "magnitude",
            lambda: fit(
                MODEL,
                optax.sgd(1e300),
                (XS, YS),
                epochs=3,
                batch_size=4,
                key=KEY,
                progress=False,
                loss="mse",
            ),
            r"non-finite",
        ),
        error("dtype", lambda: _fit(x=XS + 1j), arg("train_data")),
        error("dtype", lambda: _fit(loss=3), arg("loss")),
        error("empty", lambda: _fit(x=XS[:0], y=YS[:0]), arg("train_data")),
        error("list", lambda: _fit(x=XS.tolist(), y=YS.tolist()), arg("train_data")),
        error("key", lambda: _fit(key=jax.random.split(KEY, 2)), arg("key")),
        error("key", lambda: _fit(key=0), arg("key")),
        ok(
            "key",
            lambda: _fit(key=jax.random.key_data(KEY))[0].w,
            check=lambda w: np.isclose(w, _fit()[0].w),
        ),
    ],
    "evaluate": [
        ok(
            "valid",
            lambda: evaluate(MODEL, (XS, YS)),
            check=lambda m: np.isclose(m["relative_l2"], 0.5) and m["num_samples"] == 8,
        ),
        ok(
            "valid",
            lambda: evaluate(MODEL, (XS, XS), batch_size=3),
            check=lambda m: m["relative_l2"] == 0.0,
        ),
        error("shape", lambda: evaluate(MODEL, (XS, YS[:3])), arg("data")),
        error("shape", lambda: evaluate(MODEL, XS), arg("data")),
        error("range", lambda: evaluate(MODEL, (XS, YS), batch_size=0), arg("batch_size")),
        error("range", lambda: evaluate(MODEL, (XS, YS), h1_method="x"), arg("h1_method")),
        error("nonfinite", lambda: evaluate(MODEL, (_with(XS, 0, np.nan), YS)), arg("data")),
        error("nonfinite", lambda: evaluate(Scale(jnp.asarray(np.inf)), (XS, YS)), arg("model")),
        ok(
            "range",
            lambda: evaluate(MODEL, (XS, _with(YS, 1, 0.0))),
            check=lambda m: np.isfinite(m["relative_l2"]),
        ),
        error("empty", lambda: evaluate(MODEL, (XS[:0], YS[:0])), arg("data")),
        error("list", lambda: evaluate(MODEL, (XS.tolist(), YS.tolist())), arg("data")),
        error("dtype", lambda: evaluate(MODEL, (XS, YS + 1j)), arg("data")),
    ],
    "resolution_transfer": [
        ok(
            "valid",
            lambda: resolution_transfer(MODEL, {8: (XS, YS), 4: (XS[:, :, ::2], YS[:, :, ::2])}),
            check=lambda out: set(out) == {8, 4} and np.isclose(out[4]["relative_l2"], 0.5),
        ),
        error("dtype", lambda: resolution_transfer(MODEL, [(XS, YS)]), arg("datasets")),
        error("empty", lambda: resolution_transfer(MODEL, {}), arg("datasets")),
        error(
            "nonfinite",
            lambda: resolution_transfer(MODEL, {8: (_with(XS, 0, np.nan), YS)}),
            arg("data"),
        ),
        error(
            "range",
            lambda: resolution_transfer(MODEL, {8: (XS, YS)}, batch_size=0),
            arg("batch_size"),
        ),
    ],
    "resample": [
        ok(
            "valid",
            lambda: resample(np.linspace(0, 1, 5)[None], (3,)),
            check=lambda v: np.allclose(v, [[0, 0.5, 1]]),
        ),
        ok(
            "valid",
            lambda: resample(np.linspace(0, 1, 3)[None], (5,)),
            check=lambda v: np.allclose(v, np.linspace(0, 1, 5)[None]),
        ),
        ok(
            "valid",
            lambda: resample(np.arange(8.0)[None] % 2, (4,), periodic=True),
            check=lambda v: np.allclose(v, 0),
        ),
        error("shape", lambda: resample(np.ones(5), (3,)), arg("x")),
        error("shape", lambda: resample(np.ones((8, 1, 5)), (3,)), arg("x")),
        error("shape", lambda: resample(np.ones((1, 5)), (3, 3)), arg("shape")),
        error("range", lambda: resample(np.ones((1, 5)), (1,)), arg("shape")),
        error("range", lambda: resample(np.ones((1, 1)), (4,)), arg("x")),
        error("dtype", lambda: resample(np.ones((1, 5)) + 1j, (3,)), arg("x")),
        error("dtype", lambda: resample(np.ones((1, 5)), 3), arg("shape")),
        error("dtype", lambda: resample(np.ones((1, 5)), (3.5,)), arg("shape")),
        ok(
            "dtype",
            lambda: resample(jnp.asarray(np.linspace(0, 1, 5)[None], jnp.float16), (3,)),
            check=lambda v: np.allclose(np.asarray(v, float), [[0, 0.5, 1]]),
        ),
        error("empty", lambda: resample(np.ones((0, 5)), (3,)), arg("x")),
        ok(
            "nonfinite",
            lambda: jnp.isnan(resample(_with(np.linspace(0, 1, 5)[None], (0, 4), np.nan), (3,))),
            # the input's NaN propagates (the interpolation is a dense product: it reaches every
            # output point); not a silent NaN, the caller passed it
            check=lambda v: bool(np.asarray(v)[0, 2]),
        ),
        ok(
            "magnitude",
            lambda: resample(1e300 * np.linspace(0, 1, 3)[None], (5,)),
            check=lambda v: np.allclose(v / 1e300, np.linspace(0, 1, 5)[None]),
        ),
        error("list", lambda: resample([[0.0, 1.0, 2.0]], (5,)), arg("x")),
        ok(
            "transform",
            lambda: jax.vmap(lambda x: resample(x, (3,)))(jnp.ones((2, 1, 5))),
            check=lambda v: v.shape == (2, 1, 3),
        ),
    ],
    "Normalizer": [
        ok(
            "valid",
            lambda: NORM.decode(NORM.encode(XS[0])),
            check=lambda v: np.allclose(v, XS[0]),
        ),
        ok(
            "valid",
            lambda: Normalizer.from_data(XS, pointwise=True).mean,
            check=lambda m: np.allclose(m, XS.mean(0)),
        ),
        error("shape", lambda: Normalizer.from_data(XS[:, 0, 0]), arg("data")),
        error("shape", lambda: NORM.encode(XS), arg("x")),
        error("dtype", lambda: Normalizer.from_data(XS + 1j), arg("data")),
        error("range", lambda: Normalizer.from_data(XS, layout="x"), arg("layout")),
        error("range", lambda: Normalizer.from_data(XS, eps=-1.0), arg("eps")),
        error("nonfinite", lambda: Normalizer.from_data(_with(XS, (4, 0, 1), np.nan)), arg("data")),
        error(
            "nonfinite",
            lambda: Normalizer.from_data(jnp.asarray(_with(XS, (4, 0, 1), np.inf))),
            arg("data"),
        ),
        error("empty", lambda: Normalizer.from_data(XS[:0]), arg("data")),
        ok(
            "magnitude",
            lambda: Normalizer.from_data(1e200 * XS).std,
            check=lambda s: np.allclose(s / 1e200, XS.std(axis=(0, 2), keepdims=True)[0]),
        ),
        ok(
            "magnitude",
            lambda: Normalizer.from_data(1e-200 * XS).std,
            check=lambda s: np.allclose(s / 1e-200, XS.std(axis=(0, 2), keepdims=True)[0]),
        ),
        ok(
            "dtype",
            lambda: Normalizer.from_data(np.ones((3, 1, 4), int)).mean,
            check=lambda m: np.allclose(m, 1),
        ),
        error("list", lambda: Normalizer.from_data(XS.tolist()), arg("data")),
        ok(
            "transform",
            lambda: jax.vmap(NORM.encode)(jnp.asarray(XS)),
            check=lambda v: v.shape == XS.shape,
        ),
    ],
    "Normalized": [
        ok(
            "valid",
            lambda: Normalized(MODEL, NORM, NORM)(XS[0]),
            check=lambda v: np.allclose(v, XS[0]),
        ),
        error("dtype", lambda: Normalized(MODEL, "norm"), arg("x_normalizer")),
        error("dtype", lambda: Normalized(MODEL, None, 1.0), arg("y_normalizer")),
        error("shape", lambda: Normalized(MODEL, NORM)(XS), arg("x")),
        ok(
            "transform",
            lambda: jax.vmap(Normalized(MODEL, NORM, NORM))(jnp.asarray(XS)),
            check=lambda v: np.allclose(v, XS),
        ),
    ],
    "num_real_parameters": [
        ok(
            "valid",
            lambda: num_real_parameters(
                {"a": jnp.ones(3), "b": jnp.ones(2, complex), "c": jnp.ones(4, int)}
            ),
            check=lambda v: v == 7,
        ),
        ok("valid", lambda: num_real_parameters(Normalized(MODEL, NORM)), check=lambda v: v == 1),
        ok(
            "transform",
            lambda: num_real_parameters(jax.eval_shape(lambda: {"a": jnp.ones((2, 3))})),
            check=lambda v: v == 6,
        ),
        ok("empty", lambda: num_real_parameters({}), check=lambda v: v == 0),
        ok("dtype", lambda: num_real_parameters("abc"), check=lambda v: v == 0),
    ],
    "save_checkpoint": [
        ok(
            "valid",
            lambda: _saved(),
            check=lambda p: p.exists() and p.with_name(p.name + ".json").exists(),
        ),
        error("dtype", lambda: save_checkpoint(123, MODEL), arg("path")),
        error(
            "dtype", lambda: save_checkpoint(TMP / "m.eqx", MODEL, metadata=[1]), arg("metadata")
        ),
        ok(
            "list",
            lambda: save_checkpoint(str(TMP / "l.eqx"), [jnp.ones(2)]),
            check=lambda p: p.exists(),
        ),
    ],
    "load_checkpoint": [
        ok(
            "valid",
            lambda: load_checkpoint(_saved(Scale(jnp.asarray(3.0)), "v.eqx"), MODEL),
            check=lambda out: float(out[0].w) == 3.0 and out[1]["a"] == 1,
        ),
        error("dtype", lambda: load_checkpoint(None, MODEL), arg("path")),
        ok(
            "range",
            raises(
                FileNotFoundError, "`path`", lambda: load_checkpoint(TMP / "missing.eqx", MODEL)
            ),
            check=lambda v: v,
        ),
        error("shape", lambda: load_checkpoint(_saved(), Scale(jnp.ones(3))), arg("like")),
        error("shape", lambda: load_checkpoint(_saved(), (MODEL, MODEL)), arg("like")),
        error("range", lambda: load_checkpoint(TMP, MODEL), arg("path")),
    ],
}


# issue 15: autoregressive rollouts (tiny windows; the model is a plain function)
from jaxsci.training import Rollout, rollout, rollout_errors, trajectory_windows  # noqa: E402

AR_W = np.random.default_rng(0).standard_normal((3, 4, 4))
AR_MODEL = lambda w, key=None: 0.5 * w[-1:]  # noqa: E731
AR_U = np.stack([0.5**t * AR_W[0] for t in range(8)])[None]  # w_t = 0.5^t w_0


REGISTRY.update(
    {
        "rollout": [
            ok(
                "valid",
                lambda: rollout(AR_MODEL, AR_U[0, :3], 5),
                check=lambda p: np.allclose(p, AR_U[0, 3:]),
            ),
            error("list", lambda: rollout(AR_MODEL, AR_W.tolist(), 2), arg("x")),
            ok(
                "transform",
                lambda: jax.vmap(lambda w: rollout(AR_MODEL, w, 2))(np.stack([AR_W, AR_W])),
                check=lambda p: p.shape == (2, 2, 4, 4),
            ),
            error("range", lambda: rollout(AR_MODEL, AR_W, 0), arg("num_steps")),
            error("dtype", lambda: rollout(AR_MODEL, AR_W, 2.0), arg("num_steps")),
            error("shape", lambda: rollout(AR_MODEL, AR_W[0, 0], 2), arg("x")),
            error("shape", lambda: rollout(lambda w, key=None: w[:, :2], AR_W, 2), arg("model")),
            error("dtype", lambda: rollout(AR_MODEL, AR_W + 1j, 2), arg("x")),
            error("dtype", lambda: rollout(3, AR_W, 2), arg("model")),
        ],
        "Rollout": [
            ok(
                "valid",
                lambda: Rollout(AR_MODEL, 5)(AR_U[0, :3]),
                check=lambda p: np.allclose(p, AR_U[0, 3:]),
            ),
            error("range", lambda: Rollout(AR_MODEL, 0), arg("num_steps")),
            error("dtype", lambda: Rollout(None, 2), arg("model")),
        ],
        "rollout_errors": [
            ok(
                "valid",
                lambda: rollout_errors(AR_MODEL, (AR_U[:, :3], AR_U[:, 3:])),
                check=lambda e: e.shape == (5,) and np.allclose(e, 0, atol=1e-12),
            ),
            error("shape", lambda: rollout_errors(AR_MODEL, (AR_U[:, :3], AR_U[0])), arg("data")),
            error("dtype", lambda: rollout_errors(AR_MODEL, AR_U), arg("data")),
            error(
                "empty", lambda: rollout_errors(AR_MODEL, (AR_U[:0, :3], AR_U[:0, 3:])), arg("data")
            ),
            error(
                "range",
                lambda: rollout_errors(AR_MODEL, (AR_U[:, :3], AR_U[:, 3:]), batch_size=0),
                arg("batch_size"),
            ),
            error(
                "nonfinite",
                lambda: rollout_errors(
                    lambda w, key=None: w[-1:] * np.nan, (AR_U[:, :3], AR_U[:, 3:])
                ),
                arg("model"),
            ),
        ],
        "trajectory_windows": [
            ok(
                "valid",
                lambda: trajectory_windows(AR_U, 3, 2, stride=2),
                check=lambda xy: (
                    xy[0].shape == (2, 3, 4, 4) and np.array_equal(xy[1][1], AR_U[0, 5:7])
                ),
            ),
            error("range", lambda: trajectory_windows(AR_U, 6, 6), arg("num_in")),
            error("range", lambda: trajectory_windows(AR_U, 0, 2), arg("num_in")),
            error("range", lambda: trajectory_windows(AR_U, 2, 2, stride=0), arg("stride")),
            error("shape", lambda: trajectory_windows(AR_U[0, 0], 2, 2), arg("u")),
            error("dtype", lambda: trajectory_windows(AR_U + 1j, 2, 2), arg("u")),
        ],
    }
)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name, index, probe", probe_ids(REGISTRY), ids=lambda v: str(v)[:40])
def test_probe(name, index, probe):
    run_probe(probe)
