# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # jaxsci.spectral: FFT/DST solves, spectral derivatives, zero-shot super-resolution
#
# Three checks of `jaxsci.spectral`, each written to a figure:
#
# 1. **Poisson convergence** (`spectral_poisson.png`): error of the FFT (periodic) and DST-I (Dirichlet)
#    solves of `-Δu = f` against the exact solution as the grid refines, for the spectral symbol and
#    the 5-point finite-difference symbol. Expected: spectral convergence (down to round-off) for the
#    periodic spectral solve and for the Dirichlet solve of a sine-series-smooth solution; O(h²) for the
#    FD symbol; O(h²) also for the spectral DST solve when `f` does not vanish on the boundary (its odd
#    extension is discontinuous).
# 2. **Spectral derivatives** (`spectral_derivative.png`): error of `spectral_derivative` for
#    `u = exp(sin x)` against second-order central differences.
# 3. **Zero-shot super-resolution of a spectral convolution** (`spectral_superres.png`): the property
#    behind Figure 1 / Section 5.4 of Li et al., "Fourier Neural Operator for Parametric PDEs" (ICLR
#    2021): a Fourier layer defines a map between functions, so evaluating it on a coarse input with
#    `out_shape` set to a fine grid equals evaluating it on the fine input whenever the input is
#    band-limited. We show this for a random (untrained) layer and measure the error for inputs that
#    are not band-limited. No trained-model figure of the paper is reproduced here.
#
# Size knob: `JAXSCI_NOTEBOOK_SIZE=small|paper` (default `paper`); figures go to `JAXSCI_FIGURE_DIR`.

# %%
import os
import pathlib

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

jax.config.update("jax_enable_x64", True)

from jaxsci.spectral import (
    SpectralConv,
    solve_dirichlet,
    solve_periodic,
    spectral_conv,
    spectral_derivative,
)

SIZE = os.environ.get("JAXSCI_NOTEBOOK_SIZE", "paper")
FIG_DIR = pathlib.Path(os.environ.get("JAXSCI_FIGURE_DIR", "figures"))
FIG_DIR.mkdir(parents=True, exist_ok=True)
SMALL = SIZE == "small"
print(f"size={SIZE}, figures -> {FIG_DIR}")

# %% [markdown]
# ## 1. FFT and DST-I Poisson solves: error against the exact solution

# %%
ns = [8, 16, 32, 64] if SMALL else [8, 16, 32, 64, 128, 256, 512]


def periodic_case(n):
    # u = exp(sin 2πx + cos 2πy) on [0, 1)^2 (zero mean removed), f = -Δu
    s = np.arange(n) / n
    X, Y = np.meshgrid(s, s, indexing="ij")
    a, b = np.sin(2 * np.pi * X), np.cos(2 * np.pi * Y)
    u = np.exp(a + b)
    ux2 = (2 * np.pi) ** 2 * (np.cos(2 * np.pi * X) ** 2 - a) * u
    uy2 = (2 * np.pi) ** 2 * (np.sin(2 * np.pi * Y) ** 2 - b) * u
    return -(ux2 + uy2), u


def dirichlet_sine_case(n):
    # u = sin(sin πx sin πy): an odd function of g = sin πx sin πy, so its odd periodic extension is
    # smooth and the sine series converges spectrally
    s = np.arange(1, n + 1) / (n + 1)
    X, Y = np.meshgrid(s, s, indexing="ij")
    g = np.sin(np.pi * X) * np.sin(np.pi * Y)
    # -Δ sin(g) = -(cos(g) Δg - sin(g) |∇g|^2)
    grad2 = np.pi**2 * (
        np.cos(np.pi * X) ** 2 * np.sin(np.pi * Y) ** 2
        + np.sin(np.pi * X) ** 2 * np.cos(np.pi * Y) ** 2
    )
    lap_g = -2 * np.pi**2 * g
    return -(np.cos(g) * lap_g - np.sin(g) * grad2), np.sin(g)


def dirichlet_poly_case(n):
    # u = (x - x^4)(y - y^2): f = 12 x^2 (y - y^2) + 2 (x - x^4) does not vanish on the boundary
    s = np.arange(1, n + 1) / (n + 1)
    X, Y = np.meshgrid(s, s, indexing="ij")
    return 12 * X**2 * (Y - Y**2) + 2 * (X - X**4), (X - X**4) * (Y - Y**2)


errors = {
    k: []
    for k in (
        "periodic spectral",
        "periodic fd",
        "DST spectral (smooth odd ext.)",
        "DST fd (smooth odd ext.)",
        "DST spectral (f≠0 on boundary)",
        "DST fd (f≠0 on boundary)",
    )
}
for n in ns:
    f, u = periodic_case(n)
    for st in ("spectral", "fd"):
        # f = -Δu has zero mean, but its samples on a coarse grid do not quite (the trapezoid rule's
        # error): project the mean out instead of reporting RESULTS.incompatible (the default "check")
        v = np.asarray(solve_periodic(f, stencil=st, compatibility="project").value)
        errors[f"periodic {st}"].append(np.abs(v - (u - u.mean())).max())
    for case, label in (
        (dirichlet_sine_case, "smooth odd ext."),
        (dirichlet_poly_case, "f≠0 on boundary"),
    ):
        f, u = case(n)
        for st in ("spectral", "fd"):
            errors[f"DST {st} ({label})"].append(
                np.abs(np.asarray(solve_dirichlet(f, stencil=st)) - u).max()
            )

fig, ax = plt.subplots(figsize=(6, 4.2))
styles = ["o-", "o--", "s-", "s--", "^-", "^--"]
for (label, err), st in zip(errors.items(), styles, strict=False):
    ax.loglog(ns, np.maximum(err, 1e-17), st, label=label)
ax.loglog(ns, [0.5 * (1 / n) ** 2 for n in ns], "k:", label="O(h²)")
ax.set_xlabel("n (points per axis)")
ax.set_ylabel("max error vs exact u")
ax.set_title("−Δu = f on the unit square: FFT (periodic) and DST-I (Dirichlet)")
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(FIG_DIR / "spectral_poisson.png", dpi=110)
for k, v in errors.items():
    print(f"{k:34s}", " ".join(f"{e:.1e}" for e in v))

# %% [markdown]
# ## 2. Spectral derivative of `exp(sin x)` against central differences

# %%
ns_d = [8, 12, 16, 24, 32, 48, 64] if SMALL else [8, 12, 16, 24, 32, 48, 64, 128, 256]
err_spec, err_fd = [], []
for n in ns_d:
    x = np.arange(n) * 2 * np.pi / n
    u = np.exp(np.sin(x))
    du = np.cos(x) * u
    h = 2 * np.pi / n
    err_spec.append(np.abs(np.asarray(spectral_derivative(u, 0, length=2 * np.pi)) - du).max())
    err_fd.append(np.abs((np.roll(u, -1) - np.roll(u, 1)) / (2 * h) - du).max())
fig, ax = plt.subplots(figsize=(5, 3.6))
ax.semilogy(ns_d, np.maximum(err_spec, 1e-17), "o-", label="spectral_derivative")
ax.semilogy(ns_d, err_fd, "s--", label="central difference")
ax.set_xlabel("n")
ax.set_ylabel("max error of du/dx")
ax.set_title("u = exp(sin x) on [0, 2π)")
ax.legend()
fig.tight_layout()
fig.savefig(FIG_DIR / "spectral_derivative.png", dpi=110)
print("spectral:", " ".join(f"{e:.1e}" for e in err_spec))

# %% [markdown]
# ## 3. Zero-shot super-resolution of a spectral convolution
#
# A random `SpectralConv` (2 → 1 channels, 8×8 modes per corner block). The input is a band-limited
# random field (frequencies |k| < 8) sampled at 32², or a non-band-limited one (a smooth periodic
# bump plus a band-limited part). We compare `layer(x_coarse, out_shape=(128, 128))` with
# `layer(x_fine)` evaluated on the 128² samples of the same input.

# %%
key = jax.random.key(0)
layer = SpectralConv(2, 1, (8, 8), dtype=jnp.float64, key=key)
rng = np.random.default_rng(0)
coef = (rng.standard_normal((2, 15, 15)) + 1j * rng.standard_normal((2, 15, 15))) / (
    1 + np.add.outer(np.arange(-7, 8) ** 2, np.arange(-7, 8) ** 2)
)


def band_limited(n):
    s = np.arange(n) / n
    X, Y = np.meshgrid(s, s, indexing="ij")
    out = np.zeros((2, n, n))
    for i, k1 in enumerate(range(-7, 8)):
        for j, k2 in enumerate(range(-7, 8)):
            out += np.real(coef[:, i, j, None, None] * np.exp(2j * np.pi * (k1 * X + k2 * Y)))
    return out


def bump(n):
    s = np.arange(n) / n
    X, Y = np.meshgrid(s, s, indexing="ij")
    return np.exp(4 * (np.cos(2 * np.pi * X) + np.cos(2 * np.pi * Y)) - 8)[None].repeat(2, 0)


fine = 128
y_fine = np.asarray(layer(jnp.asarray(band_limited(fine))))
y_zero_shot = np.asarray(layer(jnp.asarray(band_limited(32)), out_shape=(fine, fine)))
print("band-limited input: max |zero-shot - fine| =", np.abs(y_zero_shot - y_fine).max())

coarse_ns = [16, 24, 32, 48, 64]
sr_err = []
for n in coarse_ns:
    xf = band_limited(fine) + 3 * bump(fine)
    xc = band_limited(n) + 3 * bump(n)
    yf = np.asarray(layer(jnp.asarray(xf)))
    yc = np.asarray(spectral_conv(xc, layer.w_re, layer.w_im, (8, 8), out_shape=(fine, fine)))
    sr_err.append(np.abs(yc - yf).max() / np.abs(yf).max())

fig, axes = plt.subplots(1, 4, figsize=(13, 3.2))
im = axes[0].imshow(band_limited(32)[0], cmap="RdBu_r")
axes[0].set_title("input (channel 0), 32²")
axes[1].imshow(y_zero_shot[0], cmap="RdBu_r")
axes[1].set_title("layer(32² input, out_shape=128²)")
axes[2].imshow(y_zero_shot[0] - y_fine[0], cmap="RdBu_r")
axes[2].set_title(f"minus layer(128² input)\nmax {np.abs(y_zero_shot - y_fine).max():.1e}")
for a in axes[:3]:
    a.set_xticks([])
    a.set_yticks([])
axes[3].semilogy(coarse_ns, sr_err, "o-")
axes[3].set_xlabel("input resolution n (output 128²)")
axes[3].set_ylabel("relative max error")
axes[3].set_title("non-band-limited input")
fig.tight_layout()
fig.savefig(FIG_DIR / "spectral_superres.png", dpi=110)
print("non-band-limited:", " ".join(f"{e:.1e}" for e in sr_err))
