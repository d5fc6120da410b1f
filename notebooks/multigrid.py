# %% [markdown]
# # Geometric multigrid: the textbook numbers
#
# Reproduces the classical multigrid behaviour on the 2D Poisson problem (Briggs, Henson,
# McCormick, *A Multigrid Tutorial*, 2nd ed., 2000, ch. 3-4; Trottenberg et al., *Multigrid*, 2001):
# residual histories per smoother and cycle type, h-independence of the V-cycle convergence
# factor, and full multigrid (FMG) reaching the discretisation error in one pass; then the
# coefficient-jump case (averaged vs Galerkin coarse operators, plain cycle vs PCG).
# Size knob: `JAXSCI_NOTEBOOK_SIZE=small|paper`; figures go to `JAXSCI_FIGURE_DIR`.

# %%
import os
import pathlib

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import jaxsci.multigrid as mg
from jaxsci import RESULTS

SMALL = os.environ.get("JAXSCI_NOTEBOOK_SIZE", "paper") == "small"
FIG = pathlib.Path(os.environ.get("JAXSCI_FIGURE_DIR", "figures"))
FIG.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)
n = 63 if SMALL else 255

# %% [markdown]
# ## Residual histories per smoother and cycle type

# %%
op = mg.poisson((n, n))
f = jnp.asarray(rng.standard_normal((n, n)))
configs = [
    ("rbgs", "V"),
    ("jacobi", "V"),
    ("chebyshev", "V"),
    ("rbgs", "W"),
    ("rbgs", "F"),
    ("rbgs", "fmg"),
]
fig, ax = plt.subplots(figsize=(6, 4))
for smoother, cyc in configs:
    sol = mg.solve(op, f, rtol=1e-10, smoother=smoother, cycle=cyc, max_steps=40, throw=False)
    h = np.asarray(sol.stats["residual_history"])
    ax.semilogy(
        h, marker=".", label=f"{cyc}(1,1) {smoother}: {float(sol.stats['convergence_factor']):.3f}"
    )
ax.set_xlabel("cycle")
ax.set_ylabel("||f - A u|| / ||f||")
ax.set_title(f"2D Poisson, {n}x{n}")
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(FIG / "multigrid_histories.png", dpi=100)

# %% [markdown]
# ## h-independence of the convergence factor (V(1,1), RB-GS and Jacobi 4/5)

# %%
sizes = [15, 31, 63] if SMALL else [31, 63, 127, 255, 511]
factors = {"rbgs": [], "jacobi": []}
for m in sizes:
    op_m = mg.poisson((m, m))
    f_m = jnp.asarray(rng.standard_normal((m, m)))
    for smoother in factors:
        sol = mg.solve(op_m, f_m, rtol=1e-9, smoother=smoother, throw=False)
        factors[smoother].append(float(sol.stats["convergence_factor"]))
print({k: np.round(v, 3) for k, v in factors.items()})
fig, ax = plt.subplots(figsize=(5, 3.5))
for k, v in factors.items():
    ax.plot([1 / (m + 1) for m in sizes], v, marker="o", label=k)
ax.set_xscale("log")
ax.set_xlabel("h")
ax.set_ylabel("mean residual factor per cycle")
ax.set_ylim(0, 0.5)
ax.legend()
fig.tight_layout()
fig.savefig(FIG / "multigrid_h_independence.png", dpi=100)

# %% [markdown]
# ## FMG error against discretisation error

# %%
disc, alg = [], []
fmg_sizes = [15, 31, 63] if SMALL else [31, 63, 127, 255, 511]
for m in fmg_sizes:
    x = jnp.arange(1, m + 1) / (m + 1)
    u = jnp.sin(jnp.pi * x)[:, None] * jnp.sin(jnp.pi * x)[None, :]
    op_m = mg.poisson((m, m))
    f_m = 2 * jnp.pi**2 * u
    u_h = mg.solve(op_m, f_m, rtol=1e-11).value
    u_fmg = mg.fmg_solve(op_m, f_m).value
    disc.append(float(jnp.max(jnp.abs(u_h - u))))
    alg.append(float(jnp.max(jnp.abs(u_fmg - u_h))))
print("discretisation", disc, "\nFMG algebraic", alg)
fig, ax = plt.subplots(figsize=(5, 3.5))
hs = [1 / (m + 1) for m in fmg_sizes]
ax.loglog(hs, disc, "o-", label="|u_h - u| (discretisation)")
ax.loglog(hs, alg, "s-", label="|u_FMG - u_h| (algebraic, one FMG-V(1,1))")
ax.set_xlabel("h")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(FIG / "multigrid_fmg.png", dpi=100)

# %% [markdown]
# ## Coefficient jumps of 10^3: averaged vs Galerkin coarse operators, plain cycle vs PCG
#
# `a = 1000` in a square, `1` outside. With coefficient-averaged (rediscretised) coarse operators the
# plain V-cycle breaks down (it diverges here and reports it); the Galerkin coarse operators
# `R A P` (`coarse="galerkin"`) restore convergence, and multigrid-preconditioned CG is robust in
# both cases. The legend states the mean residual factor per cycle / iteration.

# %%
m = 63 if SMALL else 255
x = (np.arange(m) + 1) / (m + 1)
inside = (np.abs(x[:, None] - 0.5) < 0.2) & (np.abs(x[None, :] - 0.5) < 0.2)
op_j = mg.diffusion(jnp.asarray(np.where(inside, 1e3, 1.0)))
f_j = jnp.ones((m, m))
fig, ax = plt.subplots(figsize=(6, 4))
jump_factors = {}
for coarse in ("average", "galerkin"):
    for name, method in (("V-cycle", mg.solve), ("PCG", mg.pcg)):
        sol = method(op_j, f_j, rtol=1e-8, coarse=coarse, max_steps=60, throw=False)
        h = np.asarray(sol.stats["residual_history"])
        factor = float(sol.stats["convergence_factor"])
        converged = bool(sol.result == RESULTS.successful)
        jump_factors[(coarse, name)] = (round(factor, 3), int(sol.stats["num_steps"]), converged)
        ax.semilogy(h, marker=".", label=f"{name}, {coarse}: {factor:.3f}")
print(jump_factors)
ax.set_ylim(1e-10, 1e4)
ax.set_xlabel("cycle / iteration")
ax.set_ylabel("||f - A u|| / ||f||")
ax.set_title(f"jump 1e3, {m}x{m}")
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(FIG / "multigrid_jumps.png", dpi=100)
