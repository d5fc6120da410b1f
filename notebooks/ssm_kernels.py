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
# # S4D kernels: LegS, Inv and Lin against the full HiPPO-LegS kernel
#
# Reproduces the kernel figure of Gu, Gupta, Goel, Ré, *On the Parameterization and Initialization of
# Diagonal State Space Models* (S4D, NeurIPS 2022): the basis kernels ``K_n(t) = e_n^T e^{tA} B`` of the full
# (dense, non-normal) HiPPO-LegS SSM, beside those of its diagonal approximation S4D-LegS (the normal part
# ``S = A + P P^T`` with ``B/2``, diagonalised on the host in float64), and the mode kernels
# ``2 Re e^{t A_n} B_n`` of S4D-Inv and S4D-Lin. The full kernels are computed by powers of the dense
# discretised matrix in float64; the diagonal ones by `jaxsci.ssm.vandermonde`.
#
# The diagonal-of-LegS kernel approaches the full one as N grows **weakly** (as the S4D paper proves, and as
# PTD (Yu et al. 2024) stresses): its integrals against smooth test functions (here the running integral, i.e.
# the step response) converge, while pointwise it keeps oscillating around the full kernel. The last panel plots
# both errors against N.
#
# Size knob: `JAXSCI_NOTEBOOK_SIZE=small|paper` (default paper). Figures go to `JAXSCI_FIGURE_DIR`.

# %%
import os
import pathlib

import jax

jax.config.update("jax_enable_x64", True)
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import scipy.linalg

from jaxsci import ssm

SIZE = os.environ.get("JAXSCI_NOTEBOOK_SIZE", "paper")
FIG_DIR = pathlib.Path(os.environ.get("JAXSCI_FIGURE_DIR", "figures"))
FIG_DIR.mkdir(parents=True, exist_ok=True)
N_SHOW, T, L = (32, 4.0, 800) if SIZE == "small" else (64, 4.0, 4000)
N_SWEEP = [8, 16, 32] if SIZE == "small" else [8, 16, 32, 64, 128, 256]
dt = T / L
t = np.arange(L) * dt
n_basis = 4


# %%
def full_legs_basis(N):
    """e_n^T exp(l dt A) B for n < n_basis, by powers of the dense matrix (float64 NumPy)."""
    A, B, _ = ssm.hippo("legs", N)
    Abar = scipy.linalg.expm(dt * A)
    out = np.empty((L, n_basis))
    x = B.copy()
    for l in range(L):
        out[l] = x[:n_basis]
        x = Abar @ x
    return out.T


def diag_legs_basis(N):
    """The same coordinates for the diagonal normal part with B/2: 2 Re sum_m V[n,m] e^{l dt Lambda_m} (V^* B/2)_m."""
    d = ssm.hippo_nplr("legs", N)
    W = d.V[:n_basis] * (d.B / 2)[None, :]
    z = np.broadcast_to(dt * d.Lambda, W.shape)
    return np.asarray(ssm.vandermonde(W, z, L))


def mode_kernels(kind, N, modes):
    A, B = ssm.s4d_init(kind, N)
    W = B[modes][:, None]
    z = (dt * A[modes])[:, None]
    return np.asarray(ssm.vandermonde(W, z, L))


def smooth(K, width=0.1):
    """Moving average over a window of `width` time units (what a smooth test function sees)."""
    w = max(1, int(width / dt))
    return np.stack([np.convolve(k, np.ones(w) / w, mode="same") for k in K])


full = full_legs_basis(N_SHOW)
diag = diag_legs_basis(N_SHOW)
# S4D-Inv's lowest frequencies are its last modes; S4D-Lin's are its first
inv_modes = np.arange(N_SHOW // 2 - n_basis, N_SHOW // 2)[::-1]
inv = mode_kernels("inv", N_SHOW, inv_modes)
lin = mode_kernels("lin", N_SHOW, np.arange(n_basis))

# %%
errs_weak, errs_point = [], []
for N in N_SWEEP:
    f, g = full_legs_basis(N), diag_legs_basis(N)
    F, G = np.cumsum(f, 1) * dt, np.cumsum(g, 1) * dt
    errs_weak.append(np.max(np.abs(F - G)) / np.max(np.abs(F)))
    errs_point.append(np.max(np.abs(f - g)[:, t > 1.0]) / np.max(np.abs(f)))
for N, ew, ep in zip(N_SWEEP, errs_weak, errs_point, strict=False):
    print(f"N={N:4d}  weak (running-integral) error {ew:.2e}   pointwise error for t>1 {ep:.2f}")

# %% [markdown]
# S4D-LegS as trained by state-spaces/s4 clips ``Im B`` to ``[-2, 2]`` (``nplr(..., B_clip=2.0)``), in the
# eigenbasis whose first entries ``V[0, n]`` are real (here: real and positive). `ssm.s4d_init("legs", N)` does
# the same by default (`b_clip=None` turns it off). How much it changes ``B`` and the kernel (``C = 1``,
# ``dt = 0.01``, ``L = 1000``):

# %%
A64, B_clip = ssm.s4d_init("legs", 64)
_, B_exact = ssm.s4d_init("legs", 64, b_clip=None)


def zoh_kernel(A, B, dt=0.01, L=1000):
    return np.asarray(ssm.vandermonde(B * np.expm1(dt * A) / A, dt * A, L))


changed = np.abs(B_clip - B_exact) > 1e-12
k_clip, k_exact = zoh_kernel(A64, B_clip), zoh_kernel(A64, B_exact)
rel = np.linalg.norm(k_clip - k_exact) / np.linalg.norm(k_clip)
print(
    f"N=64: {changed.sum()} of 32 modes clipped, max change in |B| {np.abs(B_clip - B_exact).max():.1f}; "
    f"kernel change (relative to the clipped kernel) {rel:.0%}"
)

# %%
fig, axes = plt.subplots(1, 5, figsize=(20, 3.6))
panels = [
    (full, "S4-LegS (full, dense)", range(n_basis)),
    (diag, "S4D-LegS (thin) and its 0.1-moving average (bold)", range(n_basis)),
    (inv, "S4D-Inv (lowest-frequency modes)", inv_modes),
    (lin, "S4D-Lin", range(n_basis)),
]
for ax, (K, title, labels) in zip(axes, panels, strict=False):
    for n, lab in enumerate(labels):
        ax.plot(t, K[n], lw=1 if ax is not axes[1] else 0.3, color=f"C{n}", label=f"n={lab}")
    ax.set_title(f"{title}, N={N_SHOW}", fontsize=9)
    ax.set_xlabel("t")
for n, k in enumerate(smooth(diag)):
    axes[1].plot(t, k, lw=2, color=f"C{n}")
    axes[1].plot(t, full[n], "k--", lw=0.8)
axes[0].legend(fontsize=7)
axes[2].legend(fontsize=7)
axes[1].set_ylim(axes[0].get_ylim())
ax = axes[4]
ax.loglog(N_SWEEP, errs_weak, "o-", label="weak: max |∫K_full - ∫K_diag|")
ax.loglog(N_SWEEP, errs_point, "s--", label="pointwise, t > 1")
ax.set_xlabel("state size N")
ax.set_title("S4D-LegS → S4-LegS as N grows", fontsize=9)
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(FIG_DIR / "ssm_kernels.png", dpi=90)
print("wrote", FIG_DIR / "ssm_kernels.png")
assert errs_weak[-1] < errs_weak[0]
