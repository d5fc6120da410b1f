"""An optax training loop for single-sample models, data-parallel over local devices, with run records."""

from __future__ import annotations

import datetime
import functools
import json
import pathlib
import platform
import time
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from .._checks import check_choice, check_positive_int
from ._checkpoint import load_checkpoint, save_checkpoint
from ._losses import mse, relative_h1, relative_l2
from ._normalize import trainable_mask
from ._params import num_real_parameters

__all__ = ["evaluate", "fit", "make_optimizer", "make_train_step"]

_LOSSES = {"relative_l2": relative_l2, "mse": mse, "relative_h1": relative_h1}


def make_optimizer(
    learning_rate: float = 1e-3,
    *,
    steps_per_epoch: int,
    epochs: int,
    schedule: str = "step",
    step_epochs: int = 100,
    gamma: float = 0.5,
    weight_decay: float = 1e-4,
) -> optax.GradientTransformation:
    """Adam with a learning-rate schedule, as in the FNO/MgNO scripts.

    ``schedule="step"``: ``lr * gamma^floor(epoch / step_epochs)`` (FNO: Adam 1e-3, halved every 100
    epochs); ``"cosine"``: cosine decay to 0 over ``epochs``; ``"constant"``. ``weight_decay`` is added
    to the gradient before Adam (PyTorch ``Adam(weight_decay=...)``, the FNO setting 1e-4).
    """
    check_choice(schedule, "schedule", ("step", "cosine", "constant"))
    check_positive_int(steps_per_epoch, "steps_per_epoch")
    check_positive_int(epochs, "epochs")
    if schedule == "step":
        lr = optax.exponential_decay(
            learning_rate,
            transition_steps=step_epochs * steps_per_epoch,
            decay_rate=gamma,
            staircase=True,
        )
    elif schedule == "cosine":
        lr = optax.cosine_decay_schedule(learning_rate, decay_steps=epochs * steps_per_epoch)
    else:
        lr = optax.constant_schedule(learning_rate)
    parts = [optax.add_decayed_weights(weight_decay)] if weight_decay else []
    return optax.chain(*parts, optax.scale_by_adam(), optax.scale_by_learning_rate(lr))


def _batch_loss(loss_fn):
    def f(params, static, x, y):
        model = eqx.combine(params, static)
        pred = jax.vmap(model)(x)
        return jnp.mean(jax.vmap(loss_fn)(pred, y.astype(pred.dtype)))

    return f


def make_train_step(loss_fn: Callable, optimizer: optax.GradientTransformation):
    """``step(params, static, opt_state, x, y) -> (params, opt_state, loss)``: one jitted
    forward + backward + optimizer update on a batch (mean of the per-sample ``loss_fn``). The
    computation follows the sharding of ``x``/``y`` (data parallel when they are batch-sharded)."""
    value_and_grad = jax.value_and_grad(_batch_loss(loss_fn))

    @eqx.filter_jit
    def step(params, static, opt_state, x, y):
        loss, grads = value_and_grad(params, static, x, y)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = eqx.apply_updates(params, updates)
        return params, opt_state, loss

    return step


def _check_data(data, name):
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise TypeError(f"`{name}` must be a pair (inputs, targets), got {type(data).__name__}.")
    x, y = np.asarray(data[0]), np.asarray(data[1])
    if x.ndim < 3 or y.ndim < 3:
        raise ValueError(
            f"`{name}` arrays must have shape (N, C, *spatial), got {x.shape} and {y.shape}."
        )
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"`{name}` inputs and targets differ in sample count: {x.shape[0]} vs {y.shape[0]}."
        )
    return x, y


@eqx.filter_jit
def _metrics(model, xb, yb, h1_method):
    pred = jax.vmap(model)(xb)
    yb = yb.astype(pred.dtype)
    return (
        jax.vmap(relative_l2)(pred, yb),
        jax.vmap(lambda p, t: relative_h1(p, t, method=h1_method))(pred, yb),
        jax.vmap(mse)(pred, yb),
    )


def evaluate(model, data, *, batch_size: int = 50, h1_method: str = "fd") -> dict[str, float]:
    """Mean relative L2, relative H1 (``h1_method``) and MSE of ``model`` over ``data = (x, y)``
    (shapes ``(N, C, *spatial)``), evaluated in jitted batches of ``batch_size`` (last one padded)."""
    x, y = _check_data(data, "data")
    check_positive_int(batch_size, "batch_size")
    check_choice(h1_method, "h1_method", ("fd", "spectral"))
    n = x.shape[0]
    bs = min(batch_size, n)

    out = [[], [], []]
    for start in range(0, n, bs):
        xb, yb = x[start : start + bs], y[start : start + bs]
        valid = xb.shape[0]
        if valid < bs:
            xb = np.concatenate([xb, np.repeat(xb[-1:], bs - valid, 0)])
            yb = np.concatenate([yb, np.repeat(yb[-1:], bs - valid, 0)])
        for lst, m in zip(
            out, _metrics(model, jnp.asarray(xb), jnp.asarray(yb), h1_method), strict=False
        ):
            lst.append(np.asarray(m)[:valid])
    rel, h1, err = (np.concatenate(o) for o in out)
    return {
        "relative_l2": float(rel.mean()),
        "relative_h1": float(h1.mean()),
        "mse": float(err.mean()),
        "relative_l2_std": float(rel.std()),
        "num_samples": int(n),
    }


@functools.partial(jax.jit, static_argnums=(1, 2))
def _permutations(key, epochs, n):
    """Row ``e`` is the sample order of epoch ``e``: ``permutation(fold_in(key, e), n)``."""
    return jax.vmap(lambda e: jax.random.permutation(jax.random.fold_in(key, e), n))(
        jnp.arange(epochs)
    )


def _device_info() -> dict[str, Any]:
    dev = jax.devices()[0]
    return {
        "platform": dev.platform,
        "device_kind": dev.device_kind,
        "local_device_count": jax.local_device_count(),
        "jax_version": jax.__version__,
        "x64": bool(jax.config.jax_enable_x64),
        "machine": platform.machine(),
    }


def fit(
    model,
    optimizer: optax.GradientTransformation,
    train_data,
    *,
    epochs: int,
    batch_size: int,
    key,
    loss: str | Callable = "relative_l2",
    test_data=None,
    eval_every: int = 0,
    data_parallel: bool | None = None,
    progress: bool = True,
    record_path=None,
    checkpoint_path=None,
    checkpoint_every: int = 0,
    resume: bool = False,
    config: dict[str, Any] | None = None,
    h1_method: str = "fd",
):
    """Train a single-sample model ``model(x) -> y`` with optax; returns ``(model, record)``.

    - ``train_data = (x, y)``, arrays of shape ``(N, C, *spatial)`` (host NumPy or JAX). Every epoch
      visits a permutation of the samples drawn from ``jax.random.fold_in(key, epoch)`` in batches of
      ``batch_size`` (the last ``N mod batch_size`` samples of the permutation are skipped, so every
      step has the same shape and compiles once). Given the same ``key`` and inputs the run is
      deterministic.
    - ``loss``: ``"relative_l2"`` (default, the FNO/MgNO training loss), ``"relative_h1"``, ``"mse"``
      or a callable ``loss(pred, target) -> scalar`` on one sample; the batch loss is its mean.
    - ``optimizer``: any optax transformation (see :func:`make_optimizer` for Adam + step/cosine decay).
      Only inexact arrays outside :class:`~jaxsci.training.Normalizer` nodes are trained.
    - ``data_parallel``: shard every batch over all local devices with
      ``NamedSharding(jax.make_mesh((n,), ("batch",)), P("batch"))`` and replicate the parameters (XLA
      inserts the gradient all-reduce). ``None``: on when there are several local devices and
      ``batch_size`` is divisible by their number.
    - ``test_data``: evaluated (:func:`evaluate`) every ``eval_every`` epochs (0: only at the end).
    - ``record_path``: the run record is written there as JSON (config, loss per epoch, test errors,
      real-parameter count, training time, device, jax version); ``checkpoint_path``: the final model
      is saved with :func:`save_checkpoint` (plain ``eqx.tree_serialise_leaves`` + JSON metadata).
    - ``checkpoint_every``: also save the training state (parameters, optimizer state, history) to
      ``checkpoint_path + ".state"`` every that many epochs (0: never). With ``resume=True`` and such a
      file present, training continues from its epoch; since epoch ``e`` always uses the permutation
      of ``fold_in(key, e)``, a resumed run reproduces the uninterrupted one.

    A tqdm bar shows the epoch and the running loss when ``progress``.
    """
    x, y = _check_data(train_data, "train_data")
    check_positive_int(epochs, "epochs")
    check_positive_int(batch_size, "batch_size")
    check_positive_int(eval_every, "eval_every", minimum=0)
    check_positive_int(checkpoint_every, "checkpoint_every", minimum=0)
    if (checkpoint_every or resume) and checkpoint_path is None:
        raise ValueError("`checkpoint_every` and `resume` need a `checkpoint_path`.")
    n = x.shape[0]
    if batch_size > n:
        raise ValueError(
            f"`batch_size` must be <= the number of training samples {n}, got {batch_size}."
        )
    if isinstance(loss, str):
        check_choice(loss, "loss", tuple(_LOSSES))
        loss_name, loss_fn = loss, _LOSSES[loss]
    elif callable(loss):
        loss_name, loss_fn = getattr(loss, "__name__", "custom"), loss
    else:
        raise TypeError(f"`loss` must be a name or a callable, got {loss!r}.")
    if test_data is not None:
        _check_data(test_data, "test_data")

    ndev = jax.local_device_count()
    if data_parallel is None:
        data_parallel = ndev > 1 and batch_size % ndev == 0
    if data_parallel and batch_size % ndev:
        raise ValueError(
            f"`batch_size` ({batch_size}) must be divisible by the {ndev} local devices "
            "when `data_parallel=True`."
        )
    params, static = eqx.partition(model, trainable_mask(model))
    opt_state = optimizer.init(params)
    history: list[dict[str, Any]] = []
    start_epoch, prior_time = 0, 0.0
    state_path = None if checkpoint_path is None else pathlib.Path(str(checkpoint_path) + ".state")
    if resume and state_path.exists():
        (params, opt_state), meta = load_checkpoint(state_path, (params, opt_state))
        history = list(meta["history"])
        start_epoch = int(meta["epoch"])
        prior_time = float(sum(h["time_s"] for h in history))
        if start_epoch > epochs:
            raise ValueError(
                f"`resume`: the checkpoint is at epoch {start_epoch} > `epochs` = {epochs}."
            )
    if data_parallel:
        mesh = jax.make_mesh(
            (ndev,),
            ("batch",),
            axis_types=(jax.sharding.AxisType.Auto,),
            devices=jax.local_devices(),
        )
        batch_sharding = NamedSharding(mesh, P("batch"))
        replicated = NamedSharding(mesh, P())
        params = jax.device_put(params, replicated)
        opt_state = jax.device_put(opt_state, replicated)
        put = lambda a: jax.device_put(a, batch_sharding)  # noqa: E731
    else:
        put = jnp.asarray
    step = make_train_step(loss_fn, optimizer)

    steps_per_epoch = n // batch_size
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, initial=start_epoch, desc="training", unit="epoch", leave=False)
    t_start = time.perf_counter()
    perms = np.asarray(_permutations(key, epochs, n))
    try:
        for epoch in range(start_epoch, epochs):
            t0 = time.perf_counter()
            perm = perms[epoch]
            losses = []
            for s in range(steps_per_epoch):
                idx = perm[s * batch_size : (s + 1) * batch_size]
                params, opt_state, lval = step(params, static, opt_state, put(x[idx]), put(y[idx]))
                losses.append(lval)
            train_loss = float(np.mean(jax.device_get(losses)))
            entry = {
                "epoch": epoch + 1,
                "train_loss": train_loss,
                "time_s": time.perf_counter() - t0,
            }
            if test_data is not None and eval_every and (epoch + 1) % eval_every == 0:
                entry["test"] = evaluate(
                    eqx.combine(params, static), test_data, h1_method=h1_method
                )
            history.append(entry)
            if checkpoint_every and (epoch + 1) % checkpoint_every == 0:
                save_checkpoint(
                    state_path,
                    (params, opt_state),
                    metadata={"epoch": epoch + 1, "history": history},
                )
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{train_loss:.3e}")
    finally:
        if bar is not None:
            bar.close()
    train_time = prior_time + time.perf_counter() - t_start
    model = eqx.combine(jax.device_get(params), static)
    record: dict[str, Any] = {
        "config": {
            "epochs": epochs,
            "batch_size": batch_size,
            "loss": loss_name,
            "num_train": int(n),
            "steps_per_epoch": steps_per_epoch,
            "data_parallel": bool(data_parallel),
            **(config or {}),
        },
        "num_real_parameters": num_real_parameters(model),
        "history": history,
        "final_train_loss": history[-1]["train_loss"],
        "train_time_s": train_time,
        "device": _device_info(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    if test_data is not None:
        record["test"] = evaluate(model, test_data, h1_method=h1_method)
    if record_path is not None:
        record_path = pathlib.Path(record_path)
        record_path.parent.mkdir(parents=True, exist_ok=True)
        record_path.write_text(json.dumps(record, indent=1, default=str))
    if checkpoint_path is not None:
        save_checkpoint(checkpoint_path, model, metadata={"record": record})
    return model, record
