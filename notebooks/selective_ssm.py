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
# # Selective state-space models (Mamba) and their token dynamics
#
# Reproduces, at laptop scale, the analysis of Vo, Pham, Tong, Nguyen, "Demystifying the Token Dynamics of
# Deep Selective State Space Models" (ICLR 2025), and the synthetic tasks of Gu & Dao, "Mamba" (2023):
#
# 1. **Token dynamics** (the paper's one-dimensional figure): tokens as functions of depth-time under the
#    continuous-time limit of a deep S6 stack, `dx_l/dt = mu x_l sum_j x_j^2 (...)`, `mu = S_C^T S_B`:
#    convergent (`mu < 0`) and divergent (`mu > 0`) scenarios, the diffrax solution (`ssm.token_dynamics_ode`,
#    adaptive Tsit5) beside a deep stack of discrete residual blocks (`ssm.token_dynamics_stack`).
# 2. **Selective copying and induction heads** (Mamba paper, section 4.1): `ssm.MambaModel` against
#    `ssm.SSMModel` with S4D layers (LTI) at about equal parameter counts, accuracy against training steps.
# 3. **The paper's comparison**: `S_C^T S_B` positive-definite (`io="positive"`, refinement 1), negative-
#    definite (`io="negative"`) and unconstrained, trained the same way on a character-level corpus that every
#    machine has without a download (the Python standard library's own sources, a fixed list of files, a
#    fixed 90/10 train/validation split); validation bits per character. Then token **reordering** (refinement
#    2, SoftSort on a learned importance score in the first block) on or off on a sequence classification task.
#
# Size knob: `JAXSCI_NOTEBOOK_SIZE=small|cpu|paper` (default cpu; "paper" only lengthens training, the
# paper's own scale, WikiText-103 at d_model 768 x 24 layers, is out of reach). Figures go to
# `JAXSCI_FIGURE_DIR`; the numbers to `notebooks/results/selective_ssm_<size>.json` at cpu/paper size.

# %%
import json
import os
import pathlib
import sysconfig
import time
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import optax

from jaxsci import data, ssm, training

SIZE = os.environ.get("JAXSCI_NOTEBOOK_SIZE", "cpu")
FIG_DIR = pathlib.Path(os.environ.get("JAXSCI_FIGURE_DIR", "figures"))
FIG_DIR.mkdir(parents=True, exist_ok=True)
# The synthetic tasks train with their own batch, peak learning rate and gradient clipping (syn_*): at
# the text settings (batch 16, 3e-3, 150 steps) neither model leaves chance on selective copying.
if SIZE == "small":
    CFG = dict(L_syn=16, steps_syn=2, batch_syn=4, lr_syn=1e-2, batch=4, d=8, text_L=16,
               text_steps=2, text_d=8, cls_L=16, cls_steps=2, evals=1, n_eval=8, layers=1)  # fmt: skip
elif SIZE == "paper":
    CFG = dict(L_syn=256, steps_syn=3000, batch_syn=32, lr_syn=1e-2, batch=32, d=32, text_L=256,
               text_steps=2000, text_d=64, cls_L=256, cls_steps=1000, evals=15, n_eval=512,
               layers=2)  # fmt: skip
else:
    # cpu: sized for a loaded 2-core CPU; the Mamba paper's lengths (256-1024) and training lengths
    # (hundreds of thousands of steps) are the "paper" size's direction, not reached here
    CFG = dict(L_syn=64, steps_syn=600, batch_syn=32, lr_syn=1e-2, batch=16, d=32, text_L=64,
               text_steps=150, text_d=48, cls_L=64, cls_steps=100, evals=6, n_eval=256,
               layers=2)  # fmt: skip
# JAXSCI_SELECTIVE_SECTIONS (comma-separated: dynamics, synthetic, text, reorder; default all) reruns
# some sections only; their numbers replace those sections' entries in the results file.
SECTIONS = os.environ.get("JAXSCI_SELECTIVE_SECTIONS", "dynamics,synthetic,text,reorder").split(",")
RESULTS = {"size": SIZE, "config": CFG, "sections run": SECTIONS}
T_START = time.perf_counter()
print(SIZE, CFG)

# %% [markdown]
# ## 1. Token dynamics in one dimension
#
# Six scalar tokens, `s_Delta = 1`, `A = -1`, and `mu = S_C S_B = -1` (convergent) or `+1` (divergent). The
# curves are the diffrax solution; the dots are a stack of discrete blocks `x <- x + dt S6(x)` with
# `dt = 0.05` (one dot every 4 blocks). In the divergent case the solution blows up in finite time (like
# `x' = c x^3`); it is drawn up to shortly before.

# %%
x0 = jnp.array([[0.9], [-0.6], [0.4], [-1.1], [0.7], [0.2]])
RUN = "dynamics" in SECTIONS


def one_dim(mu):
    return jnp.array([[1.0]]), jnp.array([[mu]]), jnp.array([[1.0]]), jnp.array([[-1.0]])


fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
dyn_summary = {}
for ax, (mu, t1, name) in zip(
    axes, [(-1.0, 6.0, "convergent"), (1.0, 0.3, "divergent")] if RUN else [], strict=False
):
    params = one_dim(mu)
    assert ssm.classify_token_dynamics(params[:2]) == name
    ts = jnp.linspace(0.0, t1, 61)
    sol = ssm.token_dynamics_ode(x0, *params, ts, rtol=1e-8, atol=1e-10)
    dt = t1 / 120
    stack = ssm.token_dynamics_stack(x0, *params, dt=dt, n_layers=120)
    depth = np.arange(121) * dt
    for lidx in range(x0.shape[0]):
        (line,) = ax.plot(ts, sol.value[:, lidx, 0], lw=1.5)
        ax.plot(depth[::4], stack[::4, lidx, 0], "o", ms=3, color=line.get_color())
    err = float(jnp.max(jnp.abs(stack[-1] - sol.value[-1])))
    dyn_summary[name] = {
        "mu": mu,
        "t1": t1,
        "ode_steps": int(sol.stats["num_steps"]),
        "max |x(t1)| / max |x0|": float(jnp.max(jnp.abs(sol.value[-1])) / jnp.max(jnp.abs(x0))),
        "stack (dt=t1/120) vs ODE at t1, max abs error": err,
    }
    ax.set_title(f"{name} scenario (mu = S_C S_B = {mu:+.0f})")
    ax.set_xlabel("depth-time t")
    ax.set_ylabel("token x_l(t)")
if RUN:
    axes[0].plot([], [], "k-", label="ODE (diffrax Tsit5)")
    axes[0].plot([], [], "ko", ms=3, label="discrete residual stack")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(FIG_DIR / "selective_ssm_token_dynamics.png", dpi=120)
    RESULTS["token_dynamics"] = dyn_summary
    print(json.dumps(dyn_summary, indent=1))

# %% [markdown]
# ## 2. Selective copying and induction heads: Mamba against an LTI S4D model
#
# *Selective copying*: `K = 4` data tokens (from 8 symbols) at random positions among noise tokens of a
# length-`L` sequence, then `K` marker tokens; the model must output the data tokens, in order, at the marker
# positions. *Induction heads*: random tokens from 8 symbols; a trigger token appears once followed by a
# target; at the last position the trigger appears again and the model must output the target. Both models
# emit a prediction per position (`pool=None`) and are scored on the answer positions only. The S4D model
# is `SSMModel(layer="s4d")` on one-hot inputs, its width chosen to match the Mamba model's parameter count.
# Training: AdamW (weight decay 0.01), batch `batch_syn`, peak learning rate `lr_syn` (1e-2) with a 5% linear
# warm-up and cosine decay, gradients clipped to norm 1 (at 3e-3, batch 16 and 150 steps neither model left
# chance on selective copying at L = 64).

# %%
V_DATA, K_COPY = 8, 4
NOISE, MARK, TRIG = V_DATA, V_DATA + 1, V_DATA + 2
VOCAB = V_DATA + 3


@partial(jax.jit, static_argnums=(1, 2))
def selective_copying(key, batch, L):
    k1, k2 = jax.random.split(key)
    toks = jax.random.randint(k1, (batch, K_COPY), 0, V_DATA)
    pos = jnp.sort(
        jax.vmap(lambda k: jax.random.choice(k, L - K_COPY, (K_COPY,), replace=False))(
            jax.random.split(k2, batch)
        ),
        axis=1,
    )
    x = jnp.full((batch, L), NOISE, jnp.int32).at[jnp.arange(batch)[:, None], pos].set(toks)
    x = x.at[:, L - K_COPY :].set(MARK)
    y = jnp.zeros((batch, L), jnp.int32).at[:, L - K_COPY :].set(toks)
    mask = jnp.zeros((batch, L)).at[:, L - K_COPY :].set(1.0)
    return x, y, mask


@partial(jax.jit, static_argnums=(1, 2))
def induction_heads(key, batch, L):
    k1, k2, k3 = jax.random.split(key, 3)
    x = jax.random.randint(k1, (batch, L), 0, V_DATA)
    p = jax.random.randint(k2, (batch,), 0, L - 2)
    target = jax.random.randint(k3, (batch,), 0, V_DATA)
    rows = jnp.arange(batch)
    x = x.at[rows, p].set(TRIG).at[rows, p + 1].set(target).at[:, L - 1].set(TRIG)
    y = jnp.zeros((batch, L), jnp.int32).at[:, L - 1].set(target)
    mask = jnp.zeros((batch, L)).at[:, L - 1].set(1.0)
    return x, y, mask


class OneHot(eqx.Module):
    """Token ids -> one-hot rows for the LTI model (its encoder is linear)."""

    model: ssm.SSMModel

    def __call__(self, x, *, key=None):
        return self.model(jax.nn.one_hot(x, VOCAB), key=key)


def make_mamba(d, key, **kw):
    return ssm.MambaModel(
        VOCAB, V_DATA, d_model=d, n_layers=CFG["layers"], embedding=True, pool=None, key=key, **kw
    )


def make_s4d(d, key):
    return OneHot(
        ssm.SSMModel(
            VOCAB, V_DATA, d_model=d, n_layers=CFG["layers"], state_size=32, pool=None, key=key
        )
    )


def matched_s4d(target, key):
    d = max(4, CFG["d"] // 2)
    # parameter counts from shapes only (eqx.filter_eval_shape builds no model)
    while training.num_real_parameters(eqx.filter_eval_shape(make_s4d, d + 2, key)) <= target:
        d += 2
    return make_s4d(d, key), d


def masked_ce(logits, target):
    """Cross-entropy at the answer positions; ``target`` is the label there and -1 elsewhere."""
    m = target >= 0
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, jnp.maximum(target, 0))
    return jnp.sum(ce * m) / jnp.sum(m)


@eqx.filter_jit
def masked_accuracy(model, x, y, m):
    pred = jnp.argmax(jax.vmap(model)(x), -1)
    return jnp.sum((pred == y) * m) / jnp.sum(m)


# AdamW, linear warm-up over 5% of the steps then cosine decay, gradients clipped to norm 1. One
# optimiser and one compiled step for both tasks: a model of the same structure is compiled once.
SYN_OPT = optax.chain(
    optax.clip_by_global_norm(1.0),
    optax.adamw(
        optax.warmup_cosine_decay_schedule(
            0.0, CFG["lr_syn"], max(1, CFG["steps_syn"] // 20), CFG["steps_syn"]
        ),
        weight_decay=0.01,
    ),
)
SYN_STEP = training.make_train_step(masked_ce, SYN_OPT)


def train(model, sampler, steps, seed=1):
    """Trains with ``SYN_OPT``; returns the model and the held-out accuracy curve."""
    opt_state = SYN_OPT.init(eqx.filter(model, eqx.is_inexact_array))
    x_ev, y_ev, m_ev = sampler(jax.random.key(999), CFG["n_eval"], CFG["L_syn"])
    every = max(1, steps // CFG["evals"])
    curve = []
    key = jax.random.key(seed)
    step_fn = SYN_STEP
    for s in range(steps):
        key, kd, ks = jax.random.split(key, 3)
        x, y, m = sampler(kd, CFG["batch_syn"], CFG["L_syn"])
        model, opt_state, loss = step_fn(model, opt_state, x, jnp.where(m > 0, y, -1), ks)
        if (s + 1) % every == 0 or s == steps - 1:
            curve.append((s + 1, float(masked_accuracy(model, x_ev, y_ev, m_ev))))
    return model, curve


# %%
key = jax.random.key(0)
synthetic = {}
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
for ax, (task, sampler) in zip(
    axes,
    # small size (a smoke run of the code) trains on selective copying only
    [("selective copying", selective_copying), ("induction heads", induction_heads)][
        : (1 if SIZE == "small" else 2)
    ]
    if "synthetic" in SECTIONS
    else [],
    strict=False,
):
    mamba = make_mamba(CFG["d"], key)
    n_mamba = training.num_real_parameters(mamba)
    s4d, d_s4d = matched_s4d(n_mamba, key)
    synthetic[task] = {}
    for name, model in (("Mamba", mamba), (f"S4D (d_model {d_s4d})", s4d)):
        t0 = time.perf_counter()
        _, curve = train(model, sampler, CFG["steps_syn"])
        steps_, acc = zip(*curve, strict=True)
        n_par = training.num_real_parameters(model)
        ax.plot(steps_, acc, "o-", label=f"{name}, {n_par} params")
        synthetic[task][name] = {
            "params": n_par,
            "curve": curve,
            "final_accuracy": acc[-1],
            "seconds": round(time.perf_counter() - t0, 1),
        }
        print(task, name, n_par, "params, accuracy curve", [round(a, 3) for a in acc])
    ax.axhline(1 / V_DATA, color="gray", ls=":", label="chance")
    ax.set_title(f"{task}, L = {CFG['L_syn']}")
    ax.set_xlabel("training step")
    ax.set_ylabel("held-out accuracy (answer positions)")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
if synthetic:
    fig.tight_layout()
    fig.savefig(FIG_DIR / "selective_ssm_synthetic.png", dpi=120)
    RESULTS["synthetic"] = synthetic

# %% [markdown]
# ## 3. Positive-definite, negative-definite and unconstrained `S_C^T S_B` on text
#
# Character-level language modelling (bytes, 128 symbols) on a fixed list of pure-Python modules of the
# standard library, split 90/10 by position into train and validation text. Three `MambaModel`s differing only
# in `io` (`"positive"`, `"negative"`, `None`), same seed, same batches, same optimiser. Validation bits per
# character on fixed windows. The paper reports (WikiText-103, *recalled, unverified*): positive-definite best,
# negative-definite clearly worst.

# %%
STDLIB = pathlib.Path(sysconfig.get_paths()["stdlib"])
FILES = ["textwrap.py", "heapq.py", "bisect.py", "fractions.py", "string.py", "shlex.py", "calendar.py",
         "difflib.py", "argparse.py", "dataclasses.py"]  # fmt: skip
text = "".join((STDLIB / f).read_text(encoding="utf-8") for f in FILES if (STDLIB / f).exists())
codes = np.frombuffer(text.encode("ascii", errors="replace"), np.uint8) % 128
split = int(0.9 * len(codes))
train_codes, val_codes = (
    jnp.asarray(codes[:split], jnp.int32),
    jnp.asarray(codes[split:], jnp.int32),
)
TL = CFG["text_L"]
n_val_windows = min(64, (len(val_codes) - 1) // TL)
val_x = jnp.stack([val_codes[i * TL : i * TL + TL] for i in range(n_val_windows)])
val_y = jnp.stack([val_codes[i * TL + 1 : i * TL + TL + 1] for i in range(n_val_windows)])
print(
    f"corpus: {len(FILES)} files, {len(codes)} characters ({split} train / {len(codes) - split} val)"
)


def text_batch(key, batch):
    start = jax.random.randint(key, (batch,), 0, len(train_codes) - TL - 1)
    idx = start[:, None] + jnp.arange(TL)
    return train_codes[idx], train_codes[idx + 1]


@eqx.filter_jit
def val_bpc(model):
    logits = jax.vmap(model)(val_x)
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, val_y)) / jnp.log(2.0)


text_results = {}
curves = {}
for io in ("positive", "negative", None) if "text" in SECTIONS else ():
    model = ssm.MambaModel(128, 128, d_model=CFG["text_d"], n_layers=CFG["layers"], embedding=True, pool=None, io=io,
                           key=jax.random.key(7))  # fmt: skip
    steps = CFG["text_steps"]
    opt = optax.adamw(
        optax.warmup_cosine_decay_schedule(0.0, 3e-3, max(1, steps // 20), steps), weight_decay=0.1
    )
    opt_state = opt.init(eqx.filter(model, eqx.is_inexact_array))
    step_fn = training.make_train_step(optax.softmax_cross_entropy_with_integer_labels, opt)
    key = jax.random.key(11)  # same batches for every variant
    t0 = time.perf_counter()
    curve = []
    every = max(1, steps // CFG["evals"])
    for s in range(steps):
        key, kd, ks = jax.random.split(key, 3)
        x, y = text_batch(kd, CFG["batch"])
        model, opt_state, loss = step_fn(model, opt_state, x, y, ks)
        if (s + 1) % every == 0 or s == steps - 1:
            curve.append((s + 1, float(val_bpc(model))))
    scen = [ssm.classify_token_dynamics(b.mixer) for b in model.blocks]
    label = {
        "positive": "positive-definite",
        "negative": "negative-definite",
        None: "unconstrained",
    }[io]
    text_results[label] = {
        "val_bpc": curve[-1][1],
        "curve": curve,
        "scenario_after_training": scen,
        "params": training.num_real_parameters(model),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    curves[label] = curve
    print(
        f"{label:18s} val bpc {curve[-1][1]:.3f}  scenarios {scen}  ({time.perf_counter() - t0:.0f} s)"
    )
if text_results:
    RESULTS["text"] = text_results

# %% [markdown]
# ## 4. Token reordering on a sequence classification task
#
# `jaxsci.data.delayed_recall`: the label is the class of the token at position 0 among distractors, read
# out by mean pooling at the end of a length-`L` sequence. Two `MambaModel`s, identical but for `reorder`
# (SoftSort, tau = 1, on a learned linear score of the pre-softplus `Delta`, first block only).

# %%
CL = CFG["cls_L"]


def cls_batch(key, batch):
    x, y = data.delayed_recall(key, batch, CL, 8, distractor_prob=0.1)
    return x, y


xc_ev, yc_ev = cls_batch(jax.random.key(321), CFG["n_eval"])


@eqx.filter_jit
def cls_accuracy(model, x, y):
    return jnp.mean(jnp.argmax(jax.vmap(model)(x), -1) == y)


reorder_results = {}
for reorder in (False, True) if "reorder" in SECTIONS else ():
    model = ssm.MambaModel(
        9,
        8,
        d_model=CFG["d"],
        n_layers=CFG["layers"],
        pool="mean",
        reorder=reorder,
        key=jax.random.key(5),
    )
    steps = CFG["cls_steps"]
    opt = optax.adamw(
        optax.warmup_cosine_decay_schedule(0.0, 3e-3, max(1, steps // 20), steps), weight_decay=0.01
    )
    opt_state = opt.init(eqx.filter(model, eqx.is_inexact_array))
    step_fn = training.make_train_step(optax.softmax_cross_entropy_with_integer_labels, opt)
    key = jax.random.key(13)
    t0 = time.perf_counter()
    curve = []
    every = max(1, steps // CFG["evals"])
    for s in range(steps):
        key, kd, ks = jax.random.split(key, 3)
        x, y = cls_batch(kd, CFG["batch"])
        model, opt_state, loss = step_fn(model, opt_state, x, y, ks)
        if (s + 1) % every == 0 or s == steps - 1:
            curve.append((s + 1, float(cls_accuracy(model, xc_ev, yc_ev))))
    reorder_results["reorder on" if reorder else "reorder off"] = {
        "accuracy": curve[-1][1],
        "curve": curve,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(
        f"reorder={reorder}: held-out accuracy {curve[-1][1]:.3f} ({time.perf_counter() - t0:.0f} s)"
    )
if reorder_results:
    RESULTS["reorder"] = reorder_results

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
for label, curve in curves.items():
    s_, b_ = zip(*curve, strict=True)
    axes[0].plot(s_, b_, "o-", label=f"{label}: {b_[-1]:.3f}")
axes[0].set_xlabel("training step")
axes[0].set_ylabel("validation bits per character")
axes[0].set_title(f"char-level stdlib corpus, L = {TL}")
axes[0].legend(fontsize=8)
for label, res in reorder_results.items():
    s_, a_ = zip(*res["curve"], strict=True)
    axes[1].plot(s_, a_, "o-", label=f"{label}: {a_[-1]:.3f}")
axes[1].axhline(1 / 8, color="gray", ls=":", label="chance")
axes[1].set_xlabel("training step")
axes[1].set_ylabel("held-out accuracy")
axes[1].set_title(f"delayed recall classification, L = {CL}")
axes[1].legend(fontsize=8)
fig.tight_layout()
if curves and reorder_results:
    fig.savefig(FIG_DIR / "selective_ssm_text_reorder.png", dpi=120)

# %%
RESULTS["total_seconds"] = round(time.perf_counter() - T_START, 1)
if SIZE != "small":
    out = pathlib.Path("results") / f"selective_ssm_{SIZE}.json"
    out.parent.mkdir(exist_ok=True)
    if out.exists() and len(SECTIONS) < 4:  # a partial rerun keeps the other sections' numbers
        previous = json.loads(out.read_text())
        RESULTS = {**previous, **RESULTS, "config": {**previous.get("config", {}), **CFG}}
    out.write_text(json.dumps(RESULTS, indent=1, default=str))
print(f"total {RESULTS['total_seconds']} s")

# %% [markdown]
# ## What the numbers support
#
# Cpu size (`notebooks/results/selective_ssm_cpu.json`, loaded 2-core CPU, one seed):
#
# - **Token dynamics**: supported. Tokens decay to zero for `mu < 0` and blow up in finite depth-time for
#   `mu > 0`; the discrete stack follows the ODE to O(dt).
# - **Selective copying** (L = 64, 600 steps): Mamba 0.84 against S4D 0.70 held-out accuracy at about
#   equal parameters (chance 0.125): the selective model is ahead, but the LTI model also learns at this
#   short length; the Mamba paper's clean separation (S4 near chance at L = 4096) is not reached here.
# - **Induction heads** (same training): both stay near chance (Mamba 0.137, S4D 0.152; chance 0.125):
#   no separation at cpu size.
# - **PD / ND / unconstrained `S_C^T S_B`** (150 steps): 3.42 / 3.39 / 3.40 bits per character, within
#   seed-to-seed noise: the paper's ranking is not reproduced at this scale.
# - **Reordering** on the delayed-recall classification task: both variants stay at chance (0.133 each),
#   no conclusion.
