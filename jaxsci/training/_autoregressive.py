"""Autoregressive training and evaluation for time-dependent data (the FNO/LSM Navier-Stokes tasks:
10 time steps in, the next 10 out, predicted one step at a time or all at once)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray, Real

from .._checks import check_positive_int
from ..spectral._inputs import as_real

__all__ = ["Rollout", "rollout", "rollout_errors", "trajectory_windows"]


def rollout(
    model: Callable,
    x: Real[ArrayLike, " t_in *spatial"],
    num_steps: int,
    *,
    key: PRNGKeyArray | None = None,
) -> Float[Array, " num_steps *spatial"]:
    """Roll ``model`` forward autoregressively from the window ``x`` of the last ``t_in`` frames.

    ``model(window, key=k)`` maps ``(t_in, *spatial)`` (time as channels, the FNO/LSM layout) to the
    next ``k >= 1`` frames ``(k, *spatial)``. Each iteration appends its prediction and keeps the last
    ``t_in`` frames as the next window (``window <- concat(window, pred)[-t_in:]``), until
    ``num_steps`` frames are predicted (the last iteration's extra frames are dropped). ``k = 1`` is
    "one step at a time" (FNO-2D), ``k = num_steps`` "all at once" (one call). One model call outside
    and ``ceil(num_steps / k) - 1`` inside a ``lax.scan`` (compiled once); differentiable end to end
    (backpropagation through the rollout, as the FNO training script). ``key``: split per iteration
    (``None``: the model is called with ``key=None``). Cost ``ceil(num_steps / k)`` model calls;
    memory ``O(num_steps N)`` plus the model's activations per call (times the calls under ``grad``).

    **Returns:** ``(num_steps, *spatial)``.
    """
    if not callable(model):
        raise TypeError(f"`model` must be callable, got {model!r}.")
    num_steps = check_positive_int(num_steps, "num_steps")
    x = as_real(x, "x", integers=True)
    if x.ndim < 2 or x.shape[0] < 1:
        raise ValueError(
            f"`x` must be one window of frames (t_in, *spatial), time first, got shape {x.shape}."
        )
    t_in = x.shape[0]
    keys = None if key is None else jax.random.split(key, 1 + max(0, num_steps - 1))
    first = model(x, key=None if keys is None else keys[0])
    if first.ndim != x.ndim or first.shape[1:] != x.shape[1:] or first.shape[0] < 1:
        raise ValueError(
            f"`model` must map a window (t_in, *spatial) = {x.shape} to frames (k, *spatial), "
            f"got shape {first.shape}."
        )
    k = first.shape[0]
    iters = math.ceil(num_steps / k)
    if iters == 1:
        return first[:num_steps]
    window = jnp.concatenate([x.astype(first.dtype), first])[-t_in:]

    def body(window, key_i):
        pred = model(window, key=key_i)
        return jnp.concatenate([window, pred])[-t_in:], pred

    step_keys = None if keys is None else keys[1:iters]
    _, preds = jax.lax.scan(body, window, step_keys, length=iters - 1)
    out = jnp.concatenate([first, preds.reshape((-1,) + first.shape[1:])])
    return out[:num_steps]


@final
class Rollout(eqx.Module):
    """``Rollout(model, num_steps)``: ``model`` rolled out by :func:`rollout` as one model
    ``(t_in, *spatial) -> (num_steps, *spatial)``, so that :func:`make_train_step`, :func:`fit` and
    :func:`evaluate` train and evaluate it unchanged: training through the rollout (the loss of the
    whole predicted trajectory, backpropagated through every step), one step at a time when ``model``
    predicts one frame, all at once when it predicts ``num_steps``. The trained model is
    ``wrapper.model``."""

    model: Callable
    num_steps: int = eqx.field(static=True)

    def __init__(self, model: Callable, num_steps: int):
        if not callable(model):
            raise TypeError(f"`model` must be callable, got {model!r}.")
        self.model = model
        self.num_steps = check_positive_int(num_steps, "num_steps")

    def __call__(
        self, x: Real[ArrayLike, " t_in *spatial"], *, key: PRNGKeyArray | None = None
    ) -> Float[Array, " num_steps *spatial"]:
        return rollout(self.model, x, self.num_steps, key=key)


def trajectory_windows(
    u: Real[ArrayLike, " n t *spatial"], num_in: int, num_out: int, *, stride: int = 1
) -> tuple[Float[np.ndarray, " m num_in *spatial"], Float[np.ndarray, " m num_out *spatial"]]:
    """Input/target pairs from trajectories ``u`` of shape ``(n, T, *spatial)``: every window of
    ``num_in`` consecutive frames starting at ``t = 0, stride, ...`` paired with the ``num_out`` frames
    that follow (teacher-forcing data for a model that predicts ``num_out`` frames at a time; with
    ``num_in + num_out = T`` and one window, the FNO task ``u[:, :10] -> u[:, 10:20]``). Host NumPy
    arrays, ``m = n * (1 + (T - num_in - num_out) // stride)``, sample-major."""
    u = np.asarray(as_real(u, "u", integers=True))
    if u.ndim < 3:
        raise ValueError(f"`u` must have shape (n, T, *spatial), got {u.shape}.")
    num_in = check_positive_int(num_in, "num_in")
    num_out = check_positive_int(num_out, "num_out")
    stride = check_positive_int(stride, "stride")
    T = u.shape[1]
    if num_in + num_out > T:
        raise ValueError(
            f"`num_in` + `num_out` = {num_in + num_out} frames exceed the {T} frames of `u`."
        )
    starts = range(0, T - num_in - num_out + 1, stride)
    xs = np.stack([u[:, s : s + num_in] for s in starts], axis=1)
    ys = np.stack([u[:, s + num_in : s + num_in + num_out] for s in starts], axis=1)
    return xs.reshape((-1,) + xs.shape[2:]), ys.reshape((-1,) + ys.shape[2:])


@eqx.filter_jit
def _batch_errors(model, xb, yb):
    pred = jax.vmap(lambda z: rollout(model, z, yb.shape[1]))(xb)
    axes = tuple(range(2, pred.ndim))
    diff = jnp.sqrt(jnp.sum((pred - yb.astype(pred.dtype)) ** 2, axis=axes))
    norm = jnp.sqrt(jnp.sum(yb.astype(pred.dtype) ** 2, axis=axes))
    return diff / jnp.where(norm > 0, norm, 1.0)


def rollout_errors(
    model: Callable,
    data: tuple[Any, Any],
    *,
    batch_size: int = 20,
) -> Float[np.ndarray, " num_steps"]:
    """Relative L2 error per predicted time step of ``model`` rolled out (:func:`rollout`) from the
    windows ``x`` over the targets ``y`` of ``data = (x, y)`` (shapes ``(N, t_in, *spatial)`` and
    ``(N, num_steps, *spatial)``), averaged over the samples: ``mean_i ||p_it - y_it|| / ||y_it||``
    (the absolute error where ``y_it = 0``), shape ``(num_steps,)``. Jitted batches of
    ``batch_size`` (the last one padded, so one compilation); non-finite predictions raise."""
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise TypeError(f"`data` must be a pair (inputs, targets), got {type(data).__name__}.")
    x, y = (np.asarray(as_real(a, "data", integers=True)) for a in data)
    if x.ndim < 3 or y.ndim != x.ndim or x.shape[0] != y.shape[0] or x.shape[2:] != y.shape[2:]:
        raise ValueError(
            f"`data` must hold windows (N, t_in, *spatial) and targets (N, num_steps, *spatial) on "
            f"one grid, got shapes {x.shape} and {y.shape}."
        )
    if x.shape[0] == 0 or y.shape[1] == 0:
        raise ValueError(f"`data` must not be empty, got shapes {x.shape} and {y.shape}.")
    batch_size = check_positive_int(batch_size, "batch_size")
    n = x.shape[0]
    bs = min(batch_size, n)
    out = []
    for start in range(0, n, bs):
        idx = np.arange(start, min(start + bs, n))
        valid = idx.size
        idx = np.concatenate([idx, np.full(bs - valid, idx[-1])])
        out.append(
            np.asarray(_batch_errors(model, jnp.asarray(x[idx]), jnp.asarray(y[idx])))[:valid]
        )
    err = np.concatenate(out)
    if not np.all(np.isfinite(err)):
        raise ValueError("rollout_errors: the predictions of `model` are non-finite (NaN or inf).")
    return err.mean(axis=0)
