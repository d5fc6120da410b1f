# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Learning to relax: SOR whose ω is tuned online by bandits
#
# Reproduces, with `jaxsci.relax`, figures of Khodak, Chow, Balcan & Talwalkar, *Learning to Relax:
# Setting Solver Parameters Across a Sequence of Linear System Instances* (ICLR 2024):
#
# - **Figure 2 (centre-left) / Figure 5 (left)**: "instances remaining" against cumulative SOR
#   sweeps (`stats["num_steps"]`, the paper's iteration count) on the shifted-Laplacian sequence
#   `A_t = delsq(numgrid('S', 12)) + c_t I`,
#   `c_t = −0.15 + 0.6·Beta(2, 6)`, truncated-Gaussian `b_t`, for Tsallis-INF, Tsallis-INF-CB,
#   ChebCB, the best fixed ω in hindsight, the instance-optimal ω*(A_t) and ω = 1 (T = 5000, mean of
#   the trials).
# - **Figure 5 (centre, right)**: Tsallis-INF against fixed ω ∈ {1.0, 1.2, 1.4, 1.6, 1.8}, for the
#   low-variance shifts and the high-variance shifts `c_t = 0.6·Beta(½, 3/2)` (also with the
#   contextual learners and the instance-optimal ω there).
# - **Figure 2 (centre-right / right), Figure 6**: the 2D heat equation (Crank–Nicolson, κ(t) =
#   max(0.1 sin 2πt, −10 sin 2πt), Δt = 1e−3, 5000 steps) solved by warm-started SSOR-PCG with the
#   natural (MATLAB column-major) ordering, for n_x ∈ {25, 50, 100}: total CG iterations per method
#   and the cost landscape cost(t, ω) with the learners' choices; plus one live `run_online` run.
#
# Numbers (ratios at T = 1000/2000/5000, totals, wall times) are written to
# `relax_results.json` next to the figures.
#
# The **cost-table trick**: an instance's cost depends only on ω, so each trial's `(T, 20)` table of
# SOR sweep counts is computed once (batched solves) and the learners are *replayed* against it
# (`jaxsci.relax.replay`, one `lax.scan`, vmapped over trials). For the heat equation the table is
# computed along one trajectory (all arms agree to the 1e−8 solver tolerance), with the SSOR-PCG
# splitting built once per time step (`SSORPCG.init`) and shared by the 20 arms. A failed solve would
# cost the budget `max_steps` (none fails here).
#
# Size knob: `JAXSCI_NOTEBOOK_SIZE=small` (tests) or `paper` (default). `JAXSCI_RELAX_TRIALS`,
# `JAXSCI_RELAX_HV_TRIALS` and `JAXSCI_RELAX_HEAT_STEPS` override the number of trials (low / high
# variance) and heat steps; `JAXSCI_RELAX_SECTIONS` (comma-separated subset of
# low,high,heat,multigrid) runs only some sections — the paper-size runs take long on a CPU.

# %%
import json
import os
import pathlib
import time

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import jaxsci.relax as R

SIZE = os.environ.get("JAXSCI_NOTEBOOK_SIZE", "paper")
FIGDIR = pathlib.Path(os.environ.get("JAXSCI_FIGURE_DIR", "figures"))
FIGDIR.mkdir(parents=True, exist_ok=True)
SMALL = SIZE == "small"
T = 150 if SMALL else 5000
TRIALS = int(os.environ.get("JAXSCI_RELAX_TRIALS", 2 if SMALL else 40))
HEAT_NX = (6, 10) if SMALL else (25, 50, 100)
HEAT_STEPS = int(os.environ.get("JAXSCI_RELAX_HEAT_STEPS", 40 if SMALL else 5000))
HV_TRIALS = int(os.environ.get("JAXSCI_RELAX_HV_TRIALS", 1 if SMALL else TRIALS))  # high variance
ALL_SECTIONS = ("low", "high", "heat", "multigrid")
SECTIONS = tuple(
    x for x in os.environ.get("JAXSCI_RELAX_SECTIONS", ",".join(ALL_SECTIONS)).split(",") if x
)
assert set(SECTIONS) <= set(ALL_SECTIONS), SECTIONS
D = 20  # arms
OMEGAS = jnp.linspace(1.0, 1.95, D)  # the paper's grid
RESULTS = {
    "size": SIZE,
    "T": T,
    "trials": TRIALS,
    "hv_trials": HV_TRIALS,
    "heat_steps": HEAT_STEPS,
    "sections": list(SECTIONS),
    "device": jax.devices()[0].device_kind,
}
print(
    f"size={SIZE}: T={T}, trials={TRIALS} (high variance {HV_TRIALS}), heat n_x={HEAT_NX}, "
    f"heat steps={HEAT_STEPS}, sections={SECTIONS}"
)

# %% [markdown]
# ## Shifted Laplacian: cost tables and replays
#
# Cost tables by batched lexicographic SOR (exact MATLAB ordering, equal to `jaxsci.relax.sor`'s
# `stats["num_steps"]`);
# the learners are replayed on them, vmapped over trials. The contextual learners see c_t.


# %%
def shifted_laplacian_experiment(variance, trials):
    """Cost tables for `trials` sequences of T instances, then every learner and comparator."""
    t0 = time.perf_counter()
    tables, opt_costs, shifts = [], [], []
    for trial in range(trials):
        seq = R.shifted_laplacian_sequence(jax.random.key(trial), T, variance=variance)
        wstar = np.asarray(seq.young_omega())
        both = np.concatenate([np.broadcast_to(np.asarray(OMEGAS), (T, D)), wstar[:, None]], axis=1)
        table = R.shifted_laplacian_cost_table(seq, both, chunk=1024 if SMALL else 4096)
        tables.append(table[:, :D])
        opt_costs.append(table[:, D])  # SOR at the exact instance-optimal ω*(A_t)
        shifts.append(np.asarray(seq.shifts))
    tables = jnp.asarray(np.stack(tables), float)  # (trials, T, D)
    shifts = jnp.asarray(np.stack(shifts))
    table_s = time.perf_counter() - t0
    print(f"[{variance}] cost tables: {trials} x {T} x {D + 1} SOR solves in {table_s:.1f} s")
    learners = {
        "Tsallis-INF": R.TsallisINF(D),
        "Tsallis-INF-CB": R.TsallisINFCB(D, num_bins=5, context_range=(-0.15, 0.65)),
        "ChebCB": R.ChebCB(D, context_range=(-0.15, 0.65)),
    }
    t0 = time.perf_counter()
    paid = {}
    keys = jax.random.split(jax.random.key(1234), trials)
    for name, learner in learners.items():
        run = jax.jit(jax.vmap(lambda c, k, x, learner=learner: R.replay(learner, c, k, x)[1]))
        paid[name] = np.asarray(run(tables, keys, shifts))
    replay_s = time.perf_counter() - t0
    print(
        f"[{variance}] replay of {len(learners)} learners x {trials} trials: {replay_s:.1f} s; "
        f"experiment wall time (tables + replays): {table_s + replay_s:.1f} s"
    )
    tab = np.asarray(tables)
    best_arm = np.argmin(tab.sum(1), axis=1)  # best fixed ω in hindsight per trial
    paid["best fixed ω"] = tab[np.arange(trials), :, best_arm]
    paid["instance-optimal ω*"] = np.stack(opt_costs)
    paid["ω = 1"] = tab[:, :, 0]
    print(f"[{variance}] best fixed ω per trial:", np.asarray(OMEGAS)[best_arm])
    out = {
        "trials": trials,
        "cost_table_s": table_s,
        "replay_s": replay_s,
        "experiment_wall_s": table_s + replay_s,
        "best_fixed_omega_per_trial": np.asarray(OMEGAS)[best_arm].tolist(),
        "ratios": {},
    }
    # total cost of each method relative to the best fixed ω in hindsight over the first Tn
    for Tn in sorted({1000, 2000, 5000, T}):
        if Tn > T:
            continue
        tot = {k: v[:, :Tn].sum(1).mean() for k, v in paid.items()}
        best_T = tab[:, :Tn].sum(1).min(1).mean()
        ratios = {f"{k} / best fixed": float(v / best_T) for k, v in tot.items()}
        ratios["ω = 1 / Tsallis-INF"] = float(tot["ω = 1"] / tot["Tsallis-INF"])
        # spread over trials of the Tsallis-INF ratio (each trial against its own best fixed ω)
        per_trial = paid["Tsallis-INF"][:, :Tn].sum(1) / tab[:, :Tn].sum(1).min(1)
        ratios["Tsallis-INF / best fixed, min over trials"] = float(per_trial.min())
        ratios["Tsallis-INF / best fixed, max over trials"] = float(per_trial.max())
        out["ratios"][str(Tn)] = ratios
        print(
            f"[{variance}] T={Tn}: Tsallis-INF / best-fixed = {tot['Tsallis-INF'] / best_T:.3f} "
            f"(trials {per_trial.min():.3f}..{per_trial.max():.3f}), "
            f"ω=1 / Tsallis-INF = {tot['ω = 1'] / tot['Tsallis-INF']:.2f}, "
            f"ChebCB / best-fixed = {tot['ChebCB'] / best_T:.3f}, "
            f"Tsallis-INF-CB / best-fixed = {tot['Tsallis-INF-CB'] / best_T:.3f}, "
            f"instance-optimal / best-fixed = {tot['instance-optimal ω*'] / best_T:.3f}"
        )
    out["totals"] = {k: float(v.sum(1).mean()) for k, v in paid.items()}
    print(
        f"[{variance}] T={T} (all): " + ", ".join(f"{k}: {v:.0f}" for k, v in out["totals"].items())
    )
    return paid, tab, out


def remaining_plot(ax, curves, title):
    for name, costs in curves.items():
        cum = np.cumsum(costs, axis=-1).mean(0)
        ax.plot(cum, T - np.arange(1, T + 1), label=name)
    ax.set_xlabel("total SOR sweeps (cumulative)")
    ax.set_ylabel("instances remaining")
    ax.set_xscale("log")
    ax.set_title(title)
    ax.legend(fontsize=8)


def fixed_omegas(tab):
    return {
        f"ω = {w:.1f}": tab[:, :, int(round((w - 1) / 0.05))] for w in (1.0, 1.2, 1.4, 1.6, 1.8)
    }


# %% [markdown]
# ### Low-variance shifts c_t = −0.15 + 0.6·Beta(2, 6): Figure 2 (centre-left), Figure 5 (left, centre)
#
# The ratios of Tsallis-INF's total cost to the best fixed ω in hindsight at T = 1000, 2000, 5000
# and to ω = 1 are printed below and stored in `relax_results.json` ("ratios").

# %%
if "low" in SECTIONS:
    paid, tab, RESULTS["low"] = shifted_laplacian_experiment("low", TRIALS)
    # the headline numbers (low variance) also at the top level of the results
    RESULTS.update({k: RESULTS["low"][k] for k in ("ratios", "totals", "experiment_wall_s")})
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    remaining_plot(axes[0], paid, f"shifted Laplacian, Beta(2,6) shifts, mean of {TRIALS} trials")
    remaining_plot(
        axes[1], {"Tsallis-INF": paid["Tsallis-INF"], **fixed_omegas(tab)}, "Tsallis-INF vs fixed ω"
    )
    fig.tight_layout()
    fig.savefig(FIGDIR / "relax_fig2_fig5_shifted_laplacian.png", dpi=110)

# %% [markdown]
# ### High-variance shifts c_t = 0.6·Beta(½, 3/2): Figure 5 (right)

# %%
if "high" in SECTIONS:
    paid_hv, tab_hv, RESULTS["high"] = shifted_laplacian_experiment("high", HV_TRIALS)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    remaining_plot(
        axes[0], paid_hv, f"shifted Laplacian, 0.6·Beta(1/2,3/2) shifts, mean of {HV_TRIALS} trials"
    )
    remaining_plot(
        axes[1],
        {"Tsallis-INF": paid_hv["Tsallis-INF"], **fixed_omegas(tab_hv)},
        "Tsallis-INF vs fixed ω (high variance)",
    )
    fig.tight_layout()
    fig.savefig(FIGDIR / "relax_fig5_high_variance.png", dpi=110)

# %% [markdown]
# ## Heat equation: warm-started SSOR-PCG (natural-order SSOR preconditioner), context κ(t)
#
# The SSOR preconditioner uses MATLAB's column-major ordering (`ssor_pcg`'s default `sweep`), as in
# the authors' `h2d.m`; with the red-black ordering (`sweep="redblack"`) the SSOR condition number
# does not improve with ω and ω = 1 would be about optimal, leaving nothing to learn.

# %%
if "heat" in SECTIONS:
    heat = {}
    for nx in HEAT_NX:
        t0 = time.perf_counter()
        prob = R.HeatEquation(nx, num_steps=HEAT_STEPS)
        costs, _ = jax.jit(lambda p=prob: R.heat_cost_table(p, OMEGAS))()
        costs = jnp.asarray(costs, float)
        ctx = prob.contexts()
        lo, hi = float(ctx.min()), float(ctx.max()) + 1e-9
        heat_learners = {
            "Tsallis-INF": R.TsallisINF(D),
            "Tsallis-INF-CB": R.TsallisINFCB(D, num_bins=6, context_range=(lo, hi)),
            "ChebCB": R.ChebCB(D, context_range=(lo, hi)),
        }
        hk = jax.random.split(jax.random.key(0), 3)
        res = {}
        for name, learner in heat_learners.items():
            arms, p = jax.vmap(
                lambda k, learner=learner, costs=costs, ctx=ctx: R.replay(learner, costs, k, ctx)
            )(hk)
            res[name] = (np.asarray(p).sum(1).mean(), np.asarray(arms[0]))
        cn = np.asarray(costs)

        def cg_step(u, k, p=prob):
            sol = R.cg(p.operator(k), p.rhs(u, k), x0=u, rtol=1e-8)
            return sol.value, sol.stats["num_steps"]

        cg_iters = jax.jit(
            lambda p=prob: jax.lax.scan(cg_step, p.initial(), jnp.arange(p.num_steps))[1]
        )()
        res["ω = 1"] = (cn[:, 0].sum(), None)
        res["ω = 1.5"] = (cn[:, 10].sum(), None)
        res["best fixed ω"] = (cn.sum(0).min(), None)
        res["instance-optimal (grid)"] = (cn.min(1).sum(), None)
        res["vanilla CG"] = (float(np.sum(cg_iters)), None)
        heat[nx] = (res, cn, np.asarray(ctx))
        RESULTS.setdefault("heat", {})[str(nx)] = {
            **{k: float(v[0]) for k, v in res.items()},
            "best fixed ω value": float(np.asarray(OMEGAS)[cn.sum(0).argmin()]),
            "seconds": time.perf_counter() - t0,
        }
        print(
            f"n_x={nx}: {time.perf_counter() - t0:.1f} s; "
            + ", ".join(f"{k}: {v[0]:.0f}" for k, v in res.items())
        )

# %%
if "heat" in SECTIONS:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    ns = np.array([(nx - 1) ** 2 for nx in HEAT_NX])
    for name in heat[HEAT_NX[0]][0]:
        axes[0].loglog(ns, [heat[nx][0][name][0] for nx in HEAT_NX], "o-", label=name)
    axes[0].set_xlabel("n (unknowns)")
    axes[0].set_ylabel(f"total CG iterations over {HEAT_STEPS} steps")
    axes[0].legend(fontsize=7)
    axes[0].set_title("heat equation: total SSOR-PCG iterations")
    res, cn, ctx = heat[HEAT_NX[-1]]
    tt = np.arange(cn.shape[0]) * 1e-3
    im = axes[1].pcolormesh(tt, np.asarray(OMEGAS), np.log10(cn.T), shading="auto")
    fig.colorbar(im, ax=axes[1], label="log10 CG iterations")
    axes[1].plot(tt, np.asarray(OMEGAS)[res["ChebCB"][1]], "w.", ms=1, label="ChebCB ω_t")
    axes[1].plot(tt, np.asarray(OMEGAS)[cn.argmin(1)], "r-", lw=0.8, label="instance-optimal")
    axes[1].set_xlabel("t")
    axes[1].set_ylabel("ω")
    axes[1].legend(fontsize=7)
    axes[1].set_title(f"cost(t, ω), n_x = {HEAT_NX[-1]}")
    axes[2].plot(tt, ctx)
    axes[2].set_xlabel("t")
    axes[2].set_ylabel("κ(t + Δt/2)")
    axes[2].set_title("diffusivity (the context)")
    fig.tight_layout()
    fig.savefig(FIGDIR / "relax_fig2_fig6_heat.png", dpi=110)

# %% [markdown]
# ### Live: `run_online` really solves each Crank–Nicolson step with the ω ChebCB picks
#
# The simulation state `u` is the carry (warm start and right-hand side of the next step). The costs
# match the replay on the cost table up to the 1e−8 trajectory differences between arms.

# %%
if "heat" in SECTIONS:
    nx0 = HEAT_NX[0]
    prob = R.HeatEquation(nx0, num_steps=HEAT_STEPS)
    ctx = prob.contexts()
    lo, hi = float(ctx.min()), float(ctx.max()) + 1e-9
    live_learner = R.ChebCB(D, context_range=(lo, hi))

    pcg = R.SSORPCG(rtol=1e-8)

    def cn_step(u, k, w, prob=prob):
        # the splitting of this step's operator, then the solve at the learner's ω (traced)
        A = prob.operator(k)
        sol = pcg.solve(pcg.init(A), prob.rhs(u, k), omega=w, x0=u, throw=False)
        return sol.value, sol  # run_online reads the cost: num_steps (max_steps if it failed)

    t0 = time.perf_counter()
    live_arms, live_costs, u_final = jax.jit(
        lambda key: R.run_online(
            live_learner,
            jnp.arange(HEAT_STEPS),
            cn_step,
            key,
            omegas=OMEGAS,
            contexts=ctx,
            carry=prob.initial(),
        )
    )(jax.random.key(0))
    live_s = time.perf_counter() - t0
    rep_arms, rep_paid = R.replay(
        live_learner, jnp.asarray(heat[nx0][1], float), jax.random.key(0), ctx
    )
    agree = float(np.mean(np.asarray(live_arms) == np.asarray(rep_arms)))
    RESULTS["heat_live"] = {
        "nx": nx0,
        "live_total": float(live_costs.sum()),
        "replay_total": float(rep_paid.sum()),
        "arm_agreement": agree,
        "seconds": live_s,
    }
    print(
        f"n_x={nx0} live run_online (ChebCB): {float(live_costs.sum()):.0f} CG iterations in {live_s:.1f} s; "
        f"replay on the table: {float(rep_paid.sum()):.0f}; same arm in {100 * agree:.1f}% of the steps"
    )

# %% [markdown]
# ## Beyond the paper: learning the multigrid smoother weight
#
# The same learners tune the damping ω of the Jacobi smoother of `jaxsci.multigrid` (V(1,1)-cycles)
# across a sequence of diffusion problems `−div(a_t ∇u) = 1`, `a_t = exp(σ_t g_t)` with `g_t` a smooth
# random field and contrast `σ_t ~ U(0, 3)` (the context); the cost is the number of V-cycles to
# reach rtol 1e−8 (`R.solve_cost`: a solve that fails — diverges, stagnates or hits the cap of 200 —
# costs 200: ω = 1 makes plain Jacobi a poor smoother and the cycle stalls).
# Only the public API of `jaxsci.multigrid` is used (`diffusion`, `solve`); the smoother weight is a
# static configuration there, so the table is built arm by arm, vmapped over instances.

# %%
if "multigrid" in SECTIONS:
    import jaxsci.multigrid as mg  # noqa: E402

    MG_N = 15 if SMALL else 63
    MG_T = 6 if SMALL else 400
    MG_W = jnp.array([0.6, 0.8]) if SMALL else jnp.linspace(0.5, 1.0, 6)

    def coefficient(key, sigma, n=MG_N):
        x = jnp.linspace(0, 1, n)
        modes = jnp.sin(jnp.pi * jnp.arange(1, 5)[:, None] * x[None, :])
        c = jax.random.normal(key, (4, 4)) / (1 + jnp.arange(4)[:, None] + jnp.arange(4)[None, :])
        return jnp.exp(sigma * jnp.einsum("ij,ia,jb->ab", c, modes, modes))

    t0 = time.perf_counter()
    sig = jax.random.uniform(jax.random.key(11), (MG_T,), maxval=3.0)
    coef = jax.vmap(coefficient)(jax.random.split(jax.random.key(12), MG_T), sig)
    rhs = jnp.ones((MG_N, MG_N))
    mg_costs = []
    for w in np.asarray(MG_W):
        cyc = jax.jit(
            jax.vmap(
                lambda a, w=float(w): R.solve_cost(  # cycles; a failed solve costs the cap
                    mg.solve(
                        mg.diffusion(a),
                        rhs,
                        smoother="jacobi",
                        omega=w,
                        rtol=1e-8,
                        max_steps=200,
                        throw=False,
                    )
                )
            )
        )(coef)
        mg_costs.append(np.asarray(cyc))
    mg_costs = jnp.asarray(np.stack(mg_costs, axis=1), float)  # (T, arms)
    mg_res = {}
    for name, learner in {
        "Tsallis-INF": R.TsallisINF(len(MG_W)),
        "ChebCB": R.ChebCB(len(MG_W), context_range=(0.0, 3.0)),
    }.items():
        _, p = jax.vmap(lambda k, learner=learner: R.replay(learner, mg_costs, k, sig))(
            jax.random.split(jax.random.key(0), 3)
        )
        mg_res[name] = np.asarray(p)
    mc = np.asarray(mg_costs)
    mg_res["best fixed ω"] = mc[:, mc.sum(0).argmin()][None]
    mg_res["instance-optimal"] = mc.min(1)[None]
    mg_res[f"ω = {float(MG_W[-1]):g}"] = mc[:, -1][None]
    print(
        f"multigrid smoother tuning ({time.perf_counter() - t0:.1f} s): arms ω = {np.asarray(MG_W)}, "
        f"mean cycles per arm {mc.mean(0).round(1)}"
    )
    print(", ".join(f"{k}: {v.sum(1).mean():.0f} cycles" for k, v in mg_res.items()))
    RESULTS["multigrid"] = {
        "arms": np.asarray(MG_W).tolist(),
        "instances": MG_T,
        "n": MG_N,
        **{k: float(v.sum(1).mean()) for k, v in mg_res.items()},
    }
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for name, v in mg_res.items():
        ax.plot(np.cumsum(v, axis=1).mean(0), MG_T - np.arange(1, MG_T + 1), label=name)
    ax.set_xscale("log")
    ax.set_xlabel("total V-cycles (cumulative)")
    ax.set_ylabel("instances remaining")
    ax.set_title(f"Jacobi weight of multigrid, {MG_N}² diffusion")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(FIGDIR / "relax_multigrid_smoother.png", dpi=110)

# %%
# all sections: relax_results.json; a subset: relax_results_<sections>.json
name = (
    "relax_results.json"
    if set(SECTIONS) == set(ALL_SECTIONS)
    else (f"relax_results_{'_'.join(SECTIONS)}.json")
)
(FIGDIR / name).write_text(json.dumps(RESULTS, indent=1, sort_keys=True))
print(json.dumps({k: RESULTS[k]["ratios"] for k in ("low", "high") if k in RESULTS}, indent=1))
