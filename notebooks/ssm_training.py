# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Training an S4D model on a long-range task (delayed recall, L = 1024), data-parallel
#
# An `SSMModel` (2 residual S4D-LegS blocks, d_model 32, state size 32, last-step pooling) learns
# *copy-the-first-token*: the label is the token at position 0 of a length-1024 sequence, and the model must
# output it at the last step, 1023 steps later (chance: 1/8). This is the long-memory regime HiPPO/S4 were
# built for (the S4 paper's synthetic memory tasks; timescales log-uniform with dt_min = 1e-3 ~ 1/L as in
# HTTYH). The data come from `jaxsci.data.delayed_recall` (time-first, `(batch, L, n_classes + 1)`).
# The batch is sharded over all local devices with `jax.sharding`: the notebook builds its own 1-D mesh
# (library code never creates one), places the batch with `NamedSharding(mesh, P("batch"))` and the model
# replicated, and the one training step `jaxsci.training.make_train_step(loss_fn, optimizer)` follows the
# data (`jit` inserts the gradient all-reduce). The step passes a key per sample, so dropout is active in
# training; evaluation calls the model without a key (deterministic). SSM parameters (A, B, dt) get their
# own Adam learning rate and no weight decay via `optax.multi_transform` and `jaxsci.ssm.ssm_param_labels`.
#
# Size knob: `JAXSCI_NOTEBOOK_SIZE=small|paper` (default paper). Figures go to `JAXSCI_FIGURE_DIR`.

# %%
import os
import pathlib
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import optax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from jaxsci import data, ssm, training

SIZE = os.environ.get("JAXSCI_NOTEBOOK_SIZE", "paper")
FIG_DIR = pathlib.Path(os.environ.get("JAXSCI_FIGURE_DIR", "figures"))
FIG_DIR.mkdir(parents=True, exist_ok=True)
if SIZE == "small":
    L, BATCH, STEPS, D_MODEL, STATE, N_EVAL, LAYERS = 64, 8, 3, 8, 8, 64, 1
else:
    L, BATCH, STEPS, D_MODEL, STATE, N_EVAL, LAYERS = 1024, 32, 200, 32, 32, 512, 2
N_CLASSES = 8
key = jax.random.key(0)

# %%
model = ssm.SSMModel(
    N_CLASSES + 1,
    N_CLASSES,
    d_model=D_MODEL,
    n_layers=LAYERS,
    state_size=STATE,
    pool="last",
    init="legs",
    dt_min=1e-3,
    dt_max=1e-1,
    key=key,
)
optimizer = optax.multi_transform(
    {"ssm": optax.adam(2e-3), "other": optax.adamw(5e-3, weight_decay=0.01)}, ssm.ssm_param_labels
)
opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
# one sample's loss: softmax cross-entropy of the logits against one-hot targets
train_step = training.make_train_step(optax.softmax_cross_entropy, optimizer)

# data parallelism, in user code: a 1-D mesh over the local devices, the batch split along it, the model
# and optimiser state replicated (placed once, so the step's input shardings never change)
mesh = jax.make_mesh((len(jax.devices()),), ("batch",), axis_types=(jax.sharding.AxisType.Auto,))
batch_sharding, replicated = NamedSharding(mesh, P("batch")), NamedSharding(mesh, P())


def place(tree, sharding):
    return jax.tree.map(lambda a: jax.device_put(a, sharding) if eqx.is_array(a) else a, tree)


model, opt_state = place((model, opt_state), replicated)
print(f"{len(jax.devices())} device(s); batch {BATCH} sharded over mesh axis 'batch'; L = {L}")


def batch(key, size):
    x, y = data.delayed_recall(key, size, L, N_CLASSES, distractor_prob=0.0)
    return x, jax.nn.one_hot(y, N_CLASSES), y


@eqx.filter_jit
def accuracy(model, x, y):
    logits = jax.vmap(model)(x)  # no key: dropout off
    return jnp.mean(jnp.argmax(logits, -1) == y)


# %%
losses, accs = [], []
t0 = time.perf_counter()
for step in range(STEPS):
    key, kd, kstep = jax.random.split(key, 3)
    x, y1h, y = place(batch(kd, BATCH), batch_sharding)
    model, opt_state, loss = train_step(model, opt_state, x, y1h, kstep)
    losses.append(float(loss))
    accs.append(float(accuracy(model, x, y)))
    if step % max(1, STEPS // 10) == 0 or step == STEPS - 1:
        print(f"step {step:4d}  loss {losses[-1]:.3g}  train acc {accs[-1]:.2f}")
train_time = time.perf_counter() - t0
x_eval, _, y_eval = batch(jax.random.key(123), N_EVAL)
test_acc = float(accuracy(model, x_eval, y_eval))
print(
    f"held-out accuracy {test_acc:.4f} on {N_EVAL} sequences of length {L} after {STEPS} steps, "
    f"{train_time:.0f} s of training (compile included)"
)

# %% [markdown]
# Streaming: the trained model decodes one token at a time with `init_state`/`step` (the stack of the
# layers' recurrences, O(1) memory in L); the last output equals the full forward.

# %%
x0 = x_eval[0]
stream = eqx.filter_jit(
    lambda m, xs: jax.lax.scan(lambda s, xt: m.step(s, xt)[::-1], m.init_state(), xs)[1]
)
y_stream = stream(model, x0)
y_full = eqx.filter_jit(lambda m, v: m(v))(model, x0)
err = float(jnp.abs(y_stream[-1] - y_full).max() / jnp.abs(y_full).max())
print(
    f"streaming vs full forward (FFT convolution), relative max difference of the logits: {err:.1e}"
)
assert err < 1e-3  # float32 rounding of the length-L FFT against the recurrence

# %%
fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
ax[0].semilogy(losses)
ax[0].set_xlabel("step")
ax[0].set_ylabel("train loss")
ax[1].plot(accs)
ax[1].axhline(1 / N_CLASSES, color="gray", ls=":", label="chance")
ax[1].set_xlabel("step")
ax[1].set_ylabel("train accuracy (batch)")
ax[1].set_title(f"delayed recall, L={L}: held-out acc {test_acc:.3f}", fontsize=9)
ax[1].legend(fontsize=7)
fig.tight_layout()
fig.savefig(FIG_DIR / "ssm_training.png", dpi=90)
print("wrote", FIG_DIR / "ssm_training.png")
