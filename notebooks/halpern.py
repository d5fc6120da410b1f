# %% [markdown]
# # Variance-reduced Halpern iteration (Cai, Alacaoglu & Diakonikolas, ICLR 2024), Figure 1
#
# Operator residual against epochs for EG, EAG, VR-EG, Algorithm 1 (`vr_halpern`) and Algorithm 2
# (`inexact_vr_halpern`) on (1) the policeman-and-burglar game (n = 500, 5000 epochs at paper size) and
# (2) the Ouyang–Xu quadratic (n = 200; the paper runs 1e6 epochs — far beyond a CPU notebook; we run
# `QP_EPOCHS` below). Step sizes are the paper's (solvers.md table). Plus robust logistic regression.
# `JAXSCI_NOTEBOOK_SIZE=small` uses tiny sizes and budgets.

# %%
import os

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import jaxsci.monotone as mono

SMALL = os.environ.get("JAXSCI_NOTEBOOK_SIZE", "paper") == "small"
FIG = os.environ.get("JAXSCI_FIGURE_DIR", "figures")
os.makedirs(FIG, exist_ok=True)
N_GAME, GAME_EPOCHS = (50, 20) if SMALL else (500, 5000)
N_QP, QP_EPOCHS = (20, 20) if SMALL else (200, 2000)
# Optional overrides for a CPU-sized run of the paper problems (the committed figure used 300 / 300 epochs).
GAME_EPOCHS = int(os.environ.get("JAXSCI_HALPERN_GAME_EPOCHS", GAME_EPOCHS))
QP_EPOCHS = int(os.environ.get("JAXSCI_HALPERN_QP_EPOCHS", QP_EPOCHS))
KEY = jax.random.key(0)


# %%
def run_all(prob, n, epochs, steps):
    z0 = jnp.full(prob.dim, 1.0 / n)
    common = dict(max_epochs=epochs, throw=False, num_logs=101)
    out = {}
    out["EG"] = mono.extragradient(prob, z0, step_size=steps["eg"], **common)
    out["EAG"] = mono.anchored_extragradient(prob, z0, step_size=steps["eag"], **common)
    out["VR-EG"] = mono.vr_extragradient(prob, z0, step_size=steps["vreg"], key=KEY, **common)
    out["Algorithm 1"] = mono.vr_halpern(prob, z0, step_size=steps["alg1"], key=KEY, **common)
    out["Algorithm 2"] = mono.inexact_vr_halpern(prob, z0, step_size=steps["alg2"],
                                                 inner_step_size=steps["alg2_inner"], key=KEY, **common)
    return out


def plot(ax, out, title):
    for name, s in out.items():
        k = int(s.stats["num_logged"])
        ax.semilogy(np.asarray(s.stats["epochs"])[:k], np.asarray(s.stats["residual"])[:k], label=name)
    ax.set_xlabel("# of epochs")
    ax.set_ylabel("operator norm")
    ax.set_title(title)
    ax.legend()


# %%
game = mono.policeman_and_burglar(N_GAME)
a = np.asarray(game.matrix)
op, fro, p = np.linalg.norm(a, 2), np.linalg.norm(a), 1.0 / N_GAME
game_out = run_all(game, N_GAME, GAME_EPOCHS, dict(
    eg=5 / op, eag=5 / op, vreg=3 * np.sqrt(p) / fro, alg1=5 / fro, alg2=np.sqrt(N_GAME) / fro,
    alg2_inner=5 * np.sqrt(p * (1 - p)) / (np.sqrt(N_GAME) + 1)))
qp = mono.ouyang_xu_quadratic(N_QP)
qp_out = run_all(qp, N_QP, QP_EPOCHS, dict(eg=0.5, eag=0.3, vreg=0.01, alg1=0.3, alg2=np.sqrt(N_QP),
                                           alg2_inner=0.001))

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
plot(axes[0], game_out, f"policeman and burglar, n={N_GAME}")
plot(axes[1], qp_out, f"Ouyang–Xu quadratic, n={N_QP}")
fig.tight_layout()
fig.savefig(os.path.join(FIG, "halpern_figure1.png"), dpi=80)


# %%
def epochs_to(s, thr):
    k = int(s.stats["num_logged"])
    r, e = np.asarray(s.stats["residual"])[:k], np.asarray(s.stats["epochs"])[:k]
    hit = np.nonzero(r <= thr)[0]
    return float(e[hit[0]]) if hit.size else None


for thr in (5e-2, 2e-2, 1e-2):
    print(thr, {name: epochs_to(s, thr) for name, s in game_out.items()})

# %% [markdown]
# ## Applied example: distributionally robust logistic regression (breast cancer, N = 569)

# %%
dro = mono.robust_logistic_regression("breast_cancer", rho=1.0, mu=1e-3)
n = dro.num_components
z0 = jnp.concatenate([jnp.zeros(dro.features.shape[1]), jnp.full(n, 1.0 / n)])
dro_epochs = 10 if SMALL else 200
s_eg = mono.extragradient(dro, z0, step_size=0.05, max_epochs=dro_epochs, throw=False)
s_vr = mono.vr_halpern(dro, z0, step_size=0.05, max_epochs=dro_epochs, key=KEY, throw=False)
fig, ax = plt.subplots(figsize=(5, 4))
plot(ax, {"EG": s_eg, "Algorithm 1": s_vr}, "DRO logistic regression")
fig.savefig(os.path.join(FIG, "halpern_dro.png"), dpi=80)
w, pw = dro.split(s_vr.value)
print("train accuracy", float(jnp.mean(jnp.sign(dro.features @ w) == dro.labels)))
