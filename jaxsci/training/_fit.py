"""The one training step and an optax training loop for single-sample models, with run records.

The loop follows the user's sharding (data parallel when the batches are batch-sharded); it never
creates a mesh: the caller builds one (``jax.make_mesh``) and passes ``NamedSharding(mesh, P("batch"))``.
"""

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
from jax.sharding import NamedSharding, SingleDeviceSharding
from jax.sharding import PartitionSpec as P
from jaxtyping import Array, ArrayLike, PRNGKeyArray, Real

from .._checks import check_choice, check_positive, check_positive_int, check_range
from .._progress import progress_meter
from ..spectral._inputs import check_key
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

    ``learning_rate > 0``, ``weight_decay >= 0``, ``0 < gamma <= 1``, ``step_epochs >= 1`` (finite
    numbers; a negative rate or decay would ascend the loss).
    """
    check_choice(schedule, "schedule", ("step", "cosine", "constant"))
    check_positive_int(steps_per_epoch, "steps_per_epoch")
    check_positive_int(epochs, "epochs")
    check_positive_int(step_epochs, "step_epochs")
    for value, name in (
        (learning_rate, "learning_rate"),
        (weight_decay, "weight_decay"),
        (gamma, "gamma"),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number, jax.Array)):
            raise TypeError(f"`{name}` must be a real number, got {value!r}.")
    check_positive(learning_rate, "learning_rate")
    check_positive(weight_decay, "weight_decay", strict=False)
    check_range(gamma, "gamma", 0.0, 1.0, closed="right")
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


def _like(y, pred):
    # Floating targets follow the prediction's dtype; integer class labels stay integers.
    y = jnp.asarray(y)
    return y.astype(pred.dtype) if jnp.issubdtype(y.dtype, jnp.floating) else y


def make_train_step(
    loss_fn: Callable[[Array, Array], Array], optimizer: optax.GradientTransformation
) -> Callable:
    """The one training step of jaxsci: ``step(model, opt_state, x, y, key) -> (model, opt_state, loss)``.

    - ``loss_fn(prediction, target) -> scalar`` is the loss of one sample;
    - ``step`` is ``eqx.filter_jit``-ed. It splits ``key`` into one key per sample, evaluates
      ``model(x_i, key=k_i)`` under ``jax.vmap`` over the batch (so dropout and other stochastic layers
      see independent keys; deterministic models ignore ``key``), averages ``loss_fn`` over the batch,
      differentiates with ``eqx.filter_value_and_grad`` and updates with
      ``optimizer.update(grads, opt_state, eqx.filter(model, eqx.is_inexact_array))`` and
      ``eqx.apply_updates``. Leaves inside a :class:`~jaxsci.training.Normalizer` (fixed data
      statistics) receive no update, even from weight decay.
    - Initialise the state with ``opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))``.
    - The computation follows the sharding of ``x``/``y``: with batch-sharded inputs
      (``jax.device_put(x, NamedSharding(mesh, P("batch")))``) and a replicated model it runs data
      parallel, XLA inserting the gradient all-reduce. On a mesh with ``Explicit`` axes the loss and
      its gradient run under ``jax.sharding.auto_axes`` (model code is written for XLA's
      partitioner), with the loss and gradients replicated.

    ``x``: ``(B, *in_shape)``, ``y``: ``(B, *out_shape)``; ``loss``: the batch-mean loss (a scalar).
    A non-finite loss (a NaN/inf in the batch, or a diverging step) raises at run time
    (``eqx.error_if``) instead of returning a model with NaN parameters.
    """
    if not callable(loss_fn):
        raise TypeError(f"`loss_fn` must be a callable loss(pred, target), got {loss_fn!r}.")
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise TypeError(
            f"`optimizer` must be an optax.GradientTransformation, got {type(optimizer).__name__}."
        )

    @eqx.filter_jit
    def step(model, opt_state, x, y, key):
        if jnp.ndim(x) < 1 or jnp.ndim(y) < 1 or jnp.shape(x)[0] != jnp.shape(y)[0]:
            raise ValueError(
                f"`x` and `y` must be batches with the same leading size, got shapes "
                f"{jnp.shape(x)} and {jnp.shape(y)}."
            )
        keys = _batch_sharded_like(jax.random.split(key, jnp.shape(x)[0]), x)
        params, static = eqx.partition(model, eqx.is_inexact_array)

        def batch_loss(params, x, y, keys):
            model = eqx.combine(params, static)
            pred = jax.vmap(lambda xi, ki: model(xi, key=ki))(x, keys)
            return jnp.mean(jax.vmap(loss_fn)(pred, _like(y, pred)))

        loss, grads = _auto_axes_like(jax.value_and_grad(batch_loss), x, params)(params, x, y, keys)
        loss = eqx.error_if(
            loss,
            ~jnp.isfinite(loss),
            "make_train_step: the batch loss is non-finite (NaN or inf): check the batch `x`, `y` "
            "for NaN/inf, or lower the learning rate of `optimizer` (the training diverged).",
        )
        params = eqx.filter(model, eqx.is_inexact_array)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        updates = eqx.filter(updates, trainable_mask(model))
        return eqx.apply_updates(model, updates), opt_state, loss

    return step


def _batch_sharded_like(a, x):
    """``a`` (a per-sample array) with the batch-axis sharding of ``x`` where ``x`` carries one in its
    type: on a mesh with ``Explicit`` axes (the default of ``jax.make_mesh`` in current JAX) ``vmap``
    requires every mapped input to be sharded the same way along the mapped axis. A no-op otherwise."""
    sharding = getattr(jax.typeof(x), "sharding", None)
    spec = getattr(sharding, "spec", None)
    if not spec or spec[0] is None:
        return a
    target = NamedSharding(sharding.mesh, P(spec[0], *([None] * (jnp.ndim(a) - 1))))
    return jax.sharding.reshard(a, target)


def _auto_axes_like(fn, x, params):
    """``fn`` (the loss and its gradient) run with the ``Explicit`` mesh axes of ``x`` switched to
    ``Auto`` (``jax.sharding.auto_axes``), its outputs replicated; ``fn`` itself where ``x`` carries
    no ``Explicit`` axis in its type.

    Model code (reshapes, concatenations and FFTs of one sample under ``vmap``) is written for XLA's
    partitioner; with ``Explicit`` axes (the default of ``jax.make_mesh`` in jax 0.10) JAX types the
    sharding of every intermediate and several of these primitives refuse a batch-sharded operand.
    Inside ``auto_axes`` the partitioner places the intermediates as on an ``Auto`` mesh, and the
    data-parallel computation (per-device forward and backward, one gradient all-reduce) is the same.
    """
    sharding = getattr(jax.typeof(x), "sharding", None)
    mesh = getattr(sharding, "mesh", None)
    axis_types = getattr(mesh, "axis_types", ())
    explicit = tuple(
        name
        for name, t in zip(getattr(mesh, "axis_names", ()), axis_types, strict=False)
        if t == jax.sharding.AxisType.Explicit
    )
    if not explicit:
        return fn
    replicated = NamedSharding(mesh, P())
    out = (replicated, jax.tree_util.tree_map(lambda _: replicated, params))

    def wrapped(*args):
        with jax.sharding.use_abstract_mesh(mesh):
            return jax.sharding.auto_axes(fn, axes=explicit, out_sharding=out)(*args)

    return wrapped


_Data = tuple[Real[ArrayLike, " n ..."], Real[ArrayLike, " n ..."]]


def _check_data(data, name):
    """Shapes, dtypes and finiteness of a data pair. JAX arrays stay where they are (no host copy of
    the data: the finiteness test is a device reduction, one bool comes back); other array-likes
    become NumPy."""
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise TypeError(f"`{name}` must be a pair (inputs, targets), got {type(data).__name__}.")
    x, y = (a if isinstance(a, (jax.Array, np.ndarray)) else np.asarray(a) for a in data)
    for a, part in ((x, "inputs"), (y, "targets")):
        if not (jnp.issubdtype(a.dtype, jnp.number) or a.dtype == np.bool_) or jnp.issubdtype(
            a.dtype, jnp.complexfloating
        ):
            raise TypeError(f"`{name}` {part} must be real numbers, got dtype {a.dtype}.")
    if x.ndim < 2 or y.ndim < 2:
        raise ValueError(
            f"`{name}` arrays must have shape (N, C, *spatial), got {x.shape} and {y.shape}."
        )
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"`{name}` inputs and targets differ in sample count: {x.shape[0]} vs {y.shape[0]}."
        )
    if x.shape[0] == 0:
        raise ValueError(
            f"`{name}` must hold at least one sample, got shapes {x.shape}, {y.shape}."
        )
    for a, part in ((x, "inputs"), (y, "targets")):
        if not jnp.issubdtype(a.dtype, jnp.inexact):
            continue
        finite = (
            np.all(np.isfinite(a)) if isinstance(a, np.ndarray) else bool(jnp.isfinite(a).all())
        )
        if not finite:
            raise ValueError(
                f"`{name}` {part} contain NaN or inf: training or evaluating on them gives NaN "
                "losses (drop or repair those samples)."
            )
    return x, y


def _take(a, idx):
    """Rows ``idx`` of ``a``: on the host for NumPy data, on the device for JAX arrays."""
    return a[idx] if isinstance(a, np.ndarray) else jnp.take(a, jnp.asarray(idx), axis=0)


@eqx.filter_jit
def _metrics(model, xb, yb, h1_method):
    pred = jax.vmap(model)(xb)
    yb = yb.astype(pred.dtype)
    return (
        jax.vmap(relative_l2)(pred, yb),
        jax.vmap(lambda p, t: relative_h1(p, t, method=h1_method))(pred, yb),
        jax.vmap(mse)(pred, yb),
    )


def evaluate(
    model: Callable, data: _Data, *, batch_size: int = 50, h1_method: str = "fd"
) -> dict[str, float]:
    """Mean relative L2, relative H1 (``h1_method``) and MSE of ``model`` over ``data = (x, y)``
    (shapes ``(N, C, *spatial)``), evaluated in jitted batches of ``batch_size`` (the last one padded
    with repeats of its last sample, so one compilation). ``model(x)`` is called without a key
    (inference). JAX inputs are batched on their device; only the per-sample metrics come back."""
    x, y = _check_data(data, "data")
    check_positive_int(batch_size, "batch_size")
    check_choice(h1_method, "h1_method", ("fd", "spectral"))
    n = x.shape[0]
    bs = min(batch_size, n)
    out = [[], [], []]
    for start in range(0, n, bs):
        idx = np.arange(start, min(start + bs, n))
        valid = idx.size
        idx = np.concatenate([idx, np.full(bs - valid, idx[-1])])
        xb, yb = jnp.asarray(_take(x, idx)), jnp.asarray(_take(y, idx))
        for lst, m in zip(out, _metrics(model, xb, yb, h1_method), strict=True):
            lst.append(np.asarray(m)[:valid])
    rel, h1, err = (np.concatenate(o) for o in out)
    bad = ~(np.isfinite(rel) & np.isfinite(h1) & np.isfinite(err))
    if bad.any():
        raise ValueError(
            f"evaluate: the predictions of `model` are non-finite (NaN or inf) on {int(bad.sum())} "
            f"of {n} samples (first: sample {int(np.argmax(bad))})."
        )
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


@functools.partial(jax.jit, static_argnums=(2,))
def _step_keys(key, epoch, steps):
    """The keys of the steps of epoch ``epoch`` (dropout etc.): ``split(fold_in(key, epoch), steps)``."""
    return jax.random.split(jax.random.fold_in(key, epoch), steps)


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


def _replicated(sharding):
    """The sharding that replicates the model over the devices of the batch ``sharding`` (or None:
    leave the model where it is and let ``jit`` place it)."""
    if isinstance(sharding, NamedSharding):
        return NamedSharding(sharding.mesh, P())
    if isinstance(sharding, SingleDeviceSharding):
        return sharding
    return None


def fit(
    model: Callable,
    optimizer: optax.GradientTransformation,
    train_data: _Data,
    *,
    epochs: int,
    batch_size: int,
    key: PRNGKeyArray,
    loss: str | Callable = "relative_l2",
    test_data: _Data | None = None,
    eval_every: int = 0,
    sharding: jax.sharding.Sharding | None = None,
    progress: bool = True,
    record_path: str | pathlib.Path | None = None,
    checkpoint_path: str | pathlib.Path | None = None,
    checkpoint_every: int = 0,
    resume: bool = False,
    config: dict[str, Any] | None = None,
    h1_method: str = "fd",
) -> tuple[Any, dict[str, Any]]:
    """Train a single-sample model ``model(x, *, key=None) -> y`` with optax; returns
    ``(model, record)``. Each step is :func:`make_train_step`.

    - ``train_data = (x, y)``, arrays of shape ``(N, C, *spatial)`` (host NumPy, or JAX arrays, which
      are batched on their device). With ``perm_key, step_key = jax.random.split(key)``, epoch ``e``
      visits the permutation ``permutation(fold_in(perm_key, e), N)`` in batches of ``batch_size``
      (the last ``N mod batch_size`` samples of the permutation are skipped, so every step has the
      same shape and compiles once), and step ``s`` of epoch ``e`` passes the train step the key
      ``split(fold_in(step_key, e), steps_per_epoch)[s]``, split per sample: dropout is on while
      training. Given the same ``key`` and inputs the run is deterministic.
    - ``loss``: ``"relative_l2"`` (default, the FNO/MgNO training loss), ``"relative_h1"``, ``"mse"``
      or a callable ``loss(pred, target) -> scalar`` on one sample; the batch loss is its mean.
    - ``optimizer``: any optax transformation (see :func:`make_optimizer` for Adam + step/cosine decay),
      initialised on ``eqx.filter(model, eqx.is_inexact_array)``. Leaves inside
      :class:`~jaxsci.training.Normalizer` nodes are not updated.
    - ``sharding``: a ``jax.sharding.Sharding`` for one batch, shape ``(batch_size, C, *spatial)``,
      e.g. ``NamedSharding(mesh, P("batch"))`` for data parallelism over the devices of a mesh the
      caller made (``jax.make_mesh((jax.device_count(),), ("batch",),
      axis_types=(jax.sharding.AxisType.Auto,))``: the model code relies on XLA's partitioner;
      :func:`make_train_step` runs it under ``jax.sharding.auto_axes`` on ``Explicit`` axes, but
      :func:`evaluate` does not); every batch is put there
      and, for a ``NamedSharding``, the model and optimiser state are replicated over its mesh (XLA
      inserts the gradient all-reduce). ``None``: batches go to the default device.
      ``batch_size`` must be divisible by the number of shards.
    - ``test_data``: evaluated (:func:`evaluate`) every ``eval_every`` epochs (0: only at the end).
    - ``record_path``: the run record is written there as JSON (config, loss per epoch, test errors,
      real-parameter count, training time, device, jax version); ``checkpoint_path``: the final model
      is saved with :func:`save_checkpoint` (plain ``eqx.tree_serialise_leaves`` + JSON metadata).
    - ``checkpoint_every``: also save the training state (model, optimizer state, history) to
      ``checkpoint_path + ".state"`` every that many epochs (0: never). With ``resume=True`` and such a
      file present, training continues from its epoch; since epoch ``e`` always uses the permutation
      and keys of ``fold_in(key, e)``, a resumed run reproduces the uninterrupted one.

    NaN/inf in ``train_data`` or ``test_data`` raise before training (a ``ValueError`` naming the
    argument); a loss that becomes non-finite while training (a diverging learning rate) raises at
    that step (:func:`make_train_step`). Zero targets are fine with the relative losses (they count
    the absolute error there; see :mod:`jaxsci.training`).

    A progress bar (:func:`jaxsci._progress.progress_meter`: tqdm when installed) shows the epoch and
    the running loss when ``progress``.
    """
    x, y = _check_data(train_data, "train_data")
    check_key(key)
    check_choice(h1_method, "h1_method", ("fd", "spectral"))
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
    if sharding is not None:
        if not isinstance(sharding, jax.sharding.Sharding):
            raise TypeError(
                f"`sharding` must be a jax.sharding.Sharding or None, got {type(sharding).__name__}."
            )
        try:
            sharding.shard_shape((batch_size, *x.shape[1:]))
        except ValueError as e:
            raise ValueError(
                f"`batch_size` ({batch_size}) must be divisible by the number of shards of "
                f"`sharding` ({sharding}): {e}"
            ) from None
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
    history: list[dict[str, Any]] = []
    start_epoch, prior_time = 0, 0.0
    state_path = None if checkpoint_path is None else pathlib.Path(str(checkpoint_path) + ".state")
    if resume and state_path.exists():
        (model, opt_state), meta = load_checkpoint(state_path, (model, opt_state))
        history = list(meta["history"])
        start_epoch = int(meta["epoch"])
        prior_time = float(sum(h["time_s"] for h in history))
        if start_epoch > epochs:
            raise ValueError(
                f"`resume`: the checkpoint is at epoch {start_epoch} > `epochs` = {epochs}."
            )
    if sharding is not None:
        replicated = _replicated(sharding)
        if replicated is not None:
            model, opt_state = jax.device_put((model, opt_state), replicated)
        put = lambda a: jax.device_put(a, sharding)  # noqa: E731
    else:
        put = jnp.asarray
    step = make_train_step(loss_fn, optimizer)

    steps_per_epoch = n // batch_size
    t_start = time.perf_counter()
    perm_key, step_key = jax.random.split(key)
    perms = np.asarray(_permutations(perm_key, epochs, n))
    with progress_meter(
        epochs,
        desc="training",
        enabled=progress,
        initial=start_epoch,
        unit="epoch",
        leave=False,
    ) as bar:
        for epoch in range(start_epoch, epochs):
            t0 = time.perf_counter()
            perm = perms[epoch]
            keys = _step_keys(step_key, epoch, steps_per_epoch)
            losses = []
            for s in range(steps_per_epoch):
                idx = perm[s * batch_size : (s + 1) * batch_size]
                xb, yb = put(_take(x, idx)), put(_take(y, idx))
                model, opt_state, lval = step(model, opt_state, xb, yb, keys[s])
                losses.append(lval)
            train_loss = float(np.mean(jax.device_get(losses)))
            entry = {
                "epoch": epoch + 1,
                "train_loss": train_loss,
                "time_s": time.perf_counter() - t0,
            }
            if test_data is not None and eval_every and (epoch + 1) % eval_every == 0:
                entry["test"] = evaluate(model, test_data, h1_method=h1_method)
            history.append(entry)
            if checkpoint_every and (epoch + 1) % checkpoint_every == 0:
                save_checkpoint(
                    state_path,
                    (model, opt_state),
                    metadata={"epoch": epoch + 1, "history": history},
                )
            bar.update(1)
            bar.set_postfix(loss=f"{train_loss:.3e}")
    train_time = prior_time + time.perf_counter() - t_start
    num_shards = 1 if sharding is None else len(sharding.device_set)
    record: dict[str, Any] = {
        "config": {
            "epochs": epochs,
            "batch_size": batch_size,
            "loss": loss_name,
            "num_train": int(n),
            "steps_per_epoch": steps_per_epoch,
            "num_devices": num_shards,
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
