# %% [markdown]
# # Geometric multigrid: the textbook numbers
#
# Reproduces the classical multigrid behaviour on the 2D Poisson problem (Briggs, Henson,
# McCormick, *A Multigrid Tutorial*, 2nd ed., 2000, ch. 3-4; Trottenberg et al., *Multigrid*, 2001):
# residual histories per smoother and cycle type, h-independence of the V-cycle convergence
# factor, and full multigrid (FMG) reaching the discretisation error in one pass; then the
# coefficient-jump case (averaged vs Galerkin coarse operators, plain cycle vs PCG), and robust
# multigrid for jumps and anisotropy (Dendy's operator-dependent interpolation, line relaxation)
# against pyamg.
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
# `a = 1000` in a square, `1` outside; bilinear transfers and point (red-black) Gauss-Seidel
# V-cycles throughout (the options of before the robust defaults, set explicitly). With
# coefficient-averaged (rediscretised) coarse operators the plain V-cycle breaks down (it
# diverges here and reports it); the Galerkin coarse operators
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
        sol = method(
            op_j,
            f_j,
            rtol=1e-8,
            coarse=coarse,
            smoother="rbgs",
            cycle="V",
            max_steps=60,
            throw=False,
        )
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

# %% [markdown]
# ## Jumps and anisotropy: operator-dependent interpolation, line relaxation, pyamg
#
# Checkerboards (8x8 and 32x32 blocks, jumps 1e3 and 1e6, aligned and shifted by one cell), random
# log-uniform block fields and the anisotropic `-(eps u_xx + u_yy)` (per-axis coefficients,
# `mg.diffusion((eps * ones, ones))`), f = 1, rtol 1e-8. Per configuration the mean residual factor
# per cycle (or CG iteration) and the number of steps (`-` where 100 cycles did not reach rtol):
# bilinear Galerkin + point GS V(1,1) (`coarse="galerkin", smoother="rbgs"`); Dendy's
# operator-dependent interpolation + point GS; the same + alternating zebra line GS; the defaults of
# `mg.solve` (Dendy + line GS, W(1,1)) and of `mg.pcg` (Dendy + line GS, V(1,1) in CG); pyamg
# Ruge-Stuben stationary and with CG, smoothed aggregation with CG, on the same matrix.

# %%
import json  # noqa: E402

import pyamg  # noqa: E402

RESULTS_DIR = pathlib.Path(
    os.environ.get("JAXSCI_RESULTS_DIR", FIG if SMALL else pathlib.Path("results"))
)
RESULTS_DIR.mkdir(parents=True, exist_ok=True)
nr = 63 if SMALL else 127


def checkerboard(n, blocks, jump, shift=0):
    i = (np.arange(n) + shift) * blocks // (n + 1)
    return np.where((i[:, None] + i[None, :]) % 2 == 0, 1.0, jump)


def random_blocks(n, blocks, hi, seed):
    v = np.exp(np.random.default_rng(seed).uniform(0, np.log(hi), (blocks, blocks)))
    i = np.arange(n) * blocks // n
    return v[i[:, None], i[None, :]]


robust_cases = {
    "cb8 1e3": checkerboard(nr, 8, 1e3),
    "cb8 1e6 shifted": checkerboard(nr, 8, 1e6, 1),
    "cb32 1e6": checkerboard(nr, 32, 1e6),
    "cb32 1e3 shifted": checkerboard(nr, 32, 1e3, 1),
    "random8 1e3": random_blocks(nr, 8, 1e3, 1),
    "random32 1e6": random_blocks(nr, 32, 1e6, 2),
    "eps 1e-2": (1e-2 * np.ones((nr, nr)), np.ones((nr, nr))),
    "eps 1e-4": (1e-4 * np.ones((nr, nr)), np.ones((nr, nr))),
}
if SMALL:  # the test run: four cases, three of the configurations
    keep = ("cb8 1e6 shifted", "cb32 1e3 shifted", "random8 1e3", "eps 1e-4")
    robust_cases = {k: robust_cases[k] for k in keep}
configs_r = {
    "bilinear+GS V": dict(coarse="galerkin", smoother="rbgs", cycle="V"),
    "Dendy+GS V": dict(coarse="dendy", smoother="rbgs", cycle="V"),
    "Dendy+line V": dict(coarse="dendy", smoother="line", cycle="V"),
    "default solve": dict(),
}
if SMALL:
    del configs_r["Dendy+line V"]
f_r = jnp.ones((nr, nr))
table = {}
for name, a in robust_cases.items():
    a = tuple(jnp.asarray(x) for x in a) if isinstance(a, tuple) else jnp.asarray(a)
    op_r = mg.diffusion(a)
    row = {}
    for label, kw in configs_r.items():
        sol = mg.solve(op_r, f_r, rtol=1e-8, max_steps=100, throw=False, **kw)
        ok = bool(sol.result == RESULTS.successful)
        row[label] = (float(sol.stats["convergence_factor"]), int(sol.stats["num_steps"]), ok)
    sol = mg.pcg(op_r, f_r, rtol=1e-8, throw=False)
    row["default pcg"] = (
        float(sol.stats["convergence_factor"]),
        int(sol.stats["num_steps"]),
        bool(sol.result == RESULTS.successful),
    )
    A_r = op_r.as_scipy().tocsr()
    for label, build, accel in (
        ("pyamg RS", pyamg.ruge_stuben_solver, None),
        ("pyamg RS+CG", pyamg.ruge_stuben_solver, "cg"),
        ("pyamg SA+CG", pyamg.smoothed_aggregation_solver, "cg"),
    ):
        res = []
        build(A_r).solve(np.ones(A_r.shape[0]), tol=1e-8, residuals=res, maxiter=100, accel=accel)
        k = len(res) - 1
        row[label] = (float((res[-1] / res[0]) ** (1 / k)), k, bool(res[-1] <= 1e-8 * res[0]))
    table[name] = row

labels = list(next(iter(table.values())))
lines = [
    f"Jumps and anisotropy, {nr}x{nr}, f = 1, rtol 1e-8: factor per step / steps",
    "",
    "| case | " + " | ".join(labels) + " |",
    "|---" * (len(labels) + 1) + "|",
]
for name, row in table.items():
    cells = [f"{fa:.2f} / {k if ok else '-'}" for fa, k, ok in row.values()]
    lines.append(f"| {name} | " + " | ".join(cells) + " |")
report = "\n".join(lines)
print(report)
(RESULTS_DIR / f"multigrid_robust_{nr}.md").write_text(report + "\n")
(RESULTS_DIR / f"multigrid_robust_{nr}.json").write_text(
    json.dumps({k: {c: list(v) for c, v in r.items()} for k, r in table.items()}, indent=1)
)

fig, ax = plt.subplots(figsize=(9, 4))
width = 0.8 / len(labels)
for j, label in enumerate(labels):
    vals = [table[name][label][0] for name in table]
    ax.bar(np.arange(len(table)) + j * width, np.minimum(vals, 1.0), width, label=label)
ax.set_xticks(np.arange(len(table)) + 0.4 - width / 2)
ax.set_xticklabels(list(table), rotation=30, ha="right", fontsize=7)
ax.set_ylabel("residual factor per step")
ax.set_ylim(0, 1)
ax.set_title(f"jumps and anisotropy, {nr}x{nr}")
ax.legend(fontsize=6, ncol=2)
fig.tight_layout()
fig.savefig(FIG / "multigrid_robust.png", dpi=100)
