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
# HTTYH). The batch is sharded over all local devices with `jax.sharding` (`jaxsci.ssm.batch_mesh`,
# `shard_batch`): `jit` follows the data and inserts the gradient all-reduce; the model is replicated.
# SSM parameters (A, B, dt) get their own Adam learning rate and no weight decay via `optax.multi_transform`
# and `jaxsci.ssm.ssm_param_labels`.
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
from tqdm.auto import tqdm

from jaxsci import ssm

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
train_step = ssm.make_train_step(optimizer)
mesh = ssm.batch_mesh()
model, opt_state = ssm.replicate((model, opt_state), mesh)
print(f"{len(jax.devices())} device(s); batch {BATCH} sharded over mesh axis 'batch'; L = {L}")


@eqx.filter_jit
def accuracy(model, x, y):
    logits = jax.vmap(lambda xi: model(xi, inference=True))(x)
    return jnp.mean(jnp.argmax(logits, -1) == y)


# %%
losses, accs = [], []
t0 = time.perf_counter()
for _step in (bar := tqdm(range(STEPS), desc="train")):
    key, kd, kstep = jax.random.split(key, 3)
    x, y = ssm.shard_batch(ssm.delayed_recall(kd, BATCH, L, N_CLASSES, distractor_prob=0.0), mesh)
    model, opt_state, loss, acc = train_step(model, opt_state, x, y, kstep)
    losses.append(float(loss))
    accs.append(float(acc))
    bar.set_postfix(loss=f"{losses[-1]:.3g}", acc=f"{accs[-1]:.2f}")
train_time = time.perf_counter() - t0
x_eval, y_eval = ssm.delayed_recall(jax.random.key(123), N_EVAL, L, N_CLASSES, distractor_prob=0.0)
test_acc = float(accuracy(model, x_eval, y_eval))
print(
    f"held-out accuracy {test_acc:.4f} on {N_EVAL} sequences of length {L} after {STEPS} steps, "
    f"{train_time:.0f} s of training (compile included)"
)

# %%
fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
ax[0].semilogy(losses)
ax[0].set_xlabel("step")
ax[0].set_ylabel("train loss")
ax[1].plot(accs)
ax[1].axhline(1 / N_CLASSES, color="gray", ls=":", label="chance")
ax[1].set_xlabel("step")
ax[1].set_ylabel("train accuracy")
ax[1].set_title(f"delayed recall, L={L}: held-out acc {test_acc:.3f}", fontsize=9)
ax[1].legend(fontsize=7)
fig.tight_layout()
fig.savefig(FIG_DIR / "ssm_training.png", dpi=90)
print("wrote", FIG_DIR / "ssm_training.png")
