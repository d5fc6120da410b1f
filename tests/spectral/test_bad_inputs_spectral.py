"""Bad-input probes of ``jaxsci.spectral`` (issue 11): every public name, valid and bad inputs."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.fft
from badinputs import arg, error, ok, probe_ids, run_probe, status

from jaxsci import RESULTS
from jaxsci.spectral import (
    FNO,
    GRID_LAYOUTS,
    SpectralConv,
    dirichlet_eigenvalues,
    dst1,
    dstn,
    grid_coordinates,
    idstn,
    num_blocks,
    solve_dirichlet,
    solve_periodic,
    solve_periodic_sharded,
    spectral_conv,
    spectral_conv_sharded,
    spectral_derivative,
    spectral_gradient,
    spectral_laplacian,
    wavenumbers,
)

KEY = jax.random.key(0)
N = 16
X = np.arange(N) / N  # periodic grid
F = np.sin(2 * np.pi * X)  # float64
F2 = np.sin(2 * np.pi * X)[:, None] * np.cos(2 * np.pi * X)[None, :]
NI = 7
XI = np.arange(1, NI + 1) / (NI + 1)  # interior Dirichlet nodes
FD = np.sin(np.pi * XI)
R = np.random.default_rng(0).standard_normal((3, 5))
NAN = np.array([0.0, np.nan, 1.0, 2.0])
_MESH = jax.sharding.Mesh(np.asarray(jax.devices()[:8]), ("x",))
_ROWS = jax.sharding.NamedSharding(_MESH, jax.sharding.PartitionSpec("x", None))
_CROWS = jax.sharding.NamedSharding(_MESH, jax.sharding.PartitionSpec(None, "x", None))
XC2 = np.cos(np.arange(2 * N * N).reshape(2, N, N) / 7.0)
WC2 = np.sin(np.arange(2 * 2 * 3 * 3 * 3).reshape(2, 2, 3, 3, 3) / 5.0)


def _rows(x):
    """``x`` placed over the 8 devices along its first spatial axis (axis 0, or 1 for channels)."""
    spec = ("x", None) if np.ndim(x) == 2 else (None, "x", None)
    return jax.device_put(x, jax.sharding.NamedSharding(_MESH, jax.sharding.PartitionSpec(*spec)))


def _cols(x):
    return jax.device_put(
        x, jax.sharding.NamedSharding(_MESH, jax.sharding.PartitionSpec(None, "x"))
    )


def close(ref, tol=1e-10):
    """A check: the output (or a Solution's value) equals ``ref`` to ``tol`` relative to max |ref|."""

    def check(out):
        value = out.value if hasattr(out, "value") and hasattr(out, "result") else out
        value = np.asarray(value, np.float64)
        scale = max(float(np.max(np.abs(ref))), 1e-300)
        return value.shape == np.shape(ref) and np.max(np.abs(value - ref)) <= tol * scale

    return check


def nan_where(expected):
    """A check for a call that returns ``jnp.isnan(output)``: NaN propagates where the input had it
    (a linear map of a NaN input; not a silent NaN: the caller passed it)."""
    return lambda out: bool(np.array_equal(np.asarray(out), expected))


def is_nan(fn):
    return lambda: jnp.isnan(fn())


def results(sol):
    """Per-member statuses of a vmapped Solution as a bool array ``[successful, nonfinite]``."""
    return jnp.stack([sol.result == RESULTS.successful, sol.result == RESULTS.nonfinite])


U_PERIODIC = F / (4 * np.pi**2 + 1)
U_DIRICHLET = FD / np.pi**2

# identity weights, every mode kept: spectral_conv is the identity map
W1 = np.zeros((1, 1, 1, 9))
W1[0, 0, 0] = 1.0
XC = np.stack([F + 0.3 * np.cos(6 * np.pi * X)])  # (1, 16)


def _conv(x=XC, w_re=W1, w_im=None, modes=9, **kw):
    return spectral_conv(x, w_re, np.zeros_like(W1) if w_im is None else w_im, modes, **kw)


def _small_fno(**kw):
    args = dict(modes=(4,), width=4, depth=1, projection_width=4, key=KEY)
    args.update(kw)
    return FNO(1, 1, **args)


FNO_MODEL = _small_fno()
LAYER = SpectralConv(1, 1, (4,), key=KEY)
X1 = jnp.asarray(XC)

REGISTRY = {
    "solve_periodic": [
        ok("valid", lambda: solve_periodic(F, k=1.0), check=close(U_PERIODIC)),
        ok("valid", lambda: solve_periodic(F - F.mean()), check=close(F / (4 * np.pi**2))),
        error("shape", lambda: solve_periodic(np.ones((2,) * 4)), arg("f")),
        error("shape", lambda: solve_periodic(np.float64(1.0)), arg("f")),
        error("shape", lambda: solve_periodic(F, k=np.ones(2)), arg("k")),
        error("dtype", lambda: solve_periodic(np.arange(N)), arg("f")),
        error("dtype", lambda: solve_periodic(F + 1j * F), arg("f")),
        error("dtype", lambda: solve_periodic(F > 0), arg("f")),
        error("dtype", lambda: solve_periodic("abc"), arg("f")),
        error("dtype", lambda: solve_periodic(F, k=1j), arg("k")),
        ok(
            "dtype",
            lambda: solve_periodic(jnp.asarray(F, jnp.float16), k=1.0),
            check=close(U_PERIODIC, 1e-2),
        ),
        ok(
            "dtype",
            lambda: solve_periodic(jnp.asarray(F, jnp.bfloat16), k=1.0),
            check=close(U_PERIODIC, 3e-2),
        ),
        ok(
            "dtype",
            lambda: solve_periodic(jnp.asarray(F, jnp.float32), k=1.0),
            check=close(U_PERIODIC, 1e-5),
        ),
        error("range", lambda: solve_periodic(F, stencil="bogus"), arg("stencil")),
        error("range", lambda: solve_periodic(F, compatibility="bogus"), arg("compatibility")),
        error("range", lambda: solve_periodic(F, length=-1.0), arg("length")),
        error("range", lambda: solve_periodic(F, length=(1.0, 2.0)), arg("length")),
        status(
            "range",
            lambda: solve_periodic(F, k=-4 * np.pi**2, throw=False),
            "incompatible",
        ),
        status("range", lambda: solve_periodic(F + 1.0, throw=False), "incompatible"),
        status("nonfinite", lambda: solve_periodic(NAN, throw=False), "nonfinite"),
        status("nonfinite", lambda: solve_periodic(F, k=np.nan, throw=False), "nonfinite"),
        status(
            "nonfinite", lambda: solve_periodic(F, k=jnp.asarray(np.inf), throw=False), "nonfinite"
        ),
        status(
            "nonfinite",
            lambda: solve_periodic(np.where(X > 0.5, np.inf, F), k=1.0, throw=False),
            "nonfinite",
        ),
        error("nonfinite", lambda: solve_periodic(NAN, k=1.0), arg("f")),
        error("nonfinite", lambda: solve_periodic(F, k=np.nan), arg("k")),
        error("empty", lambda: solve_periodic(np.zeros(0)), arg("f")),
        error("empty", lambda: solve_periodic(np.zeros((4, 0))), arg("f")),
        ok("magnitude", lambda: solve_periodic(1e300 * F, k=1.0), check=close(1e300 * U_PERIODIC)),
        ok(
            "magnitude",
            lambda: solve_periodic(1e-300 * F, k=1.0),
            check=close(1e-300 * U_PERIODIC, 1e-8),
        ),
        ok(
            "magnitude",
            lambda: solve_periodic(jnp.asarray(1e30 * F, jnp.float32), k=1.0),
            check=close(1e30 * U_PERIODIC, 1e-5),
        ),
        ok(
            "magnitude",
            lambda: solve_periodic(jnp.asarray(1e-30 * F, jnp.float32), k=1.0),
            check=close(1e-30 * U_PERIODIC, 1e-5),
        ),
        error("list", lambda: solve_periodic(F.tolist(), k=1.0), arg("f")),
        error("list", lambda: solve_periodic(F2.tolist(), k=1.0), arg("f")),
        ok(
            "transform",
            lambda: jax.jit(lambda f, k: solve_periodic(f, k=k))(jnp.asarray(F), 1.0),
            check=close(U_PERIODIC),
        ),
        status(
            "transform",
            lambda: jax.jit(lambda f: solve_periodic(f, k=1.0, throw=False))(jnp.asarray(NAN)),
            "nonfinite",
        ),
        error(
            "transform",
            lambda: eqx.filter_jit(lambda k: solve_periodic(F, k=k))(jnp.nan),
            arg("k"),
        ),
        ok(
            "transform",
            lambda: results(
                jax.vmap(lambda f: solve_periodic(f, k=1.0, throw=False))(
                    jnp.stack([jnp.asarray(F[:4]), jnp.asarray(NAN)])
                )
            ),
            check=lambda r: np.array_equal(np.asarray(r), [[True, False], [False, True]]),
        ),
        error(
            "transform",
            lambda: jax.vmap(lambda f: solve_periodic(f, k=1.0))(
                jnp.stack([jnp.asarray(F[:4]), jnp.asarray(NAN)])
            ),
            arg("f"),
        ),
        ok(
            "transform",
            lambda: jax.grad(lambda f: jnp.sum(solve_periodic(f, k=1.0).value ** 2))(
                jnp.asarray(F)
            ),
            check=close(2 * F / (4 * np.pi**2 + 1) ** 2),
        ),
    ],
    "solve_dirichlet": [
        ok("valid", lambda: solve_dirichlet(FD), check=close(U_DIRICHLET)),
        ok("valid", lambda: solve_dirichlet(FD, k=1.0), check=close(FD / (np.pi**2 + 1))),
        error("shape", lambda: solve_dirichlet(np.ones((2,) * 4)), arg("f")),
        error("shape", lambda: solve_dirichlet(FD, k=np.ones(2)), arg("k")),
        error("dtype", lambda: solve_dirichlet(np.arange(NI)), arg("f")),
        error("dtype", lambda: solve_dirichlet(FD + 1j), arg("f")),
        error("dtype", lambda: solve_dirichlet(FD, k=1j), arg("k")),
        ok(
            "dtype",
            lambda: solve_dirichlet(jnp.asarray(FD, jnp.float16)),
            check=close(U_DIRICHLET, 1e-2),
        ),
        ok(
            "dtype",
            lambda: solve_dirichlet(jnp.asarray(FD, jnp.bfloat16)),
            check=close(U_DIRICHLET, 3e-2),
        ),
        error("range", lambda: solve_dirichlet(FD, k=-1.0), arg("k")),
        error("range", lambda: solve_dirichlet(FD, k=jnp.asarray(-1.0)), arg("k")),
        error("range", lambda: solve_dirichlet(FD, length=0.0), arg("length")),
        error("range", lambda: solve_dirichlet(FD, stencil="x"), arg("stencil")),
        error("nonfinite", lambda: solve_dirichlet(np.where(XI > 0.5, np.nan, FD)), arg("f")),
        error("nonfinite", lambda: solve_dirichlet(FD, k=jnp.asarray(np.inf)), arg("k")),
        error("nonfinite", lambda: solve_dirichlet(FD, k=np.nan), arg("k")),
        error("empty", lambda: solve_dirichlet(np.zeros(0)), arg("f")),
        ok("magnitude", lambda: solve_dirichlet(1e300 * FD), check=close(1e300 * U_DIRICHLET)),
        ok("magnitude", lambda: solve_dirichlet(1e-300 * FD), check=close(1e-300 * U_DIRICHLET)),
        error("list", lambda: solve_dirichlet(FD.tolist()), arg("f")),
        ok(
            "transform",
            lambda: jax.jit(lambda f: solve_dirichlet(f))(jnp.asarray(FD)),
            check=close(U_DIRICHLET),
        ),
        error(
            "transform",
            lambda: eqx.filter_jit(lambda k: solve_dirichlet(FD, k=k))(-1.0),
            arg("k"),
        ),
        error(
            "transform",
            lambda: jax.vmap(solve_dirichlet)(jnp.stack([jnp.asarray(FD), jnp.full(NI, jnp.nan)])),
            arg("f"),
        ),
    ],
    "dirichlet_eigenvalues": [
        ok(
            "valid",
            lambda: dirichlet_eigenvalues((3,)),
            check=close((np.pi * np.arange(1, 4)) ** 2),
        ),
        ok(
            "valid",
            lambda: dirichlet_eigenvalues((3, 2), stencil="fd"),
            check=lambda v: v.shape == (3, 2) and np.all(v > 0),
        ),
        error("range", lambda: dirichlet_eigenvalues((3,), stencil="x"), arg("stencil")),
        error("range", lambda: dirichlet_eigenvalues((-1,)), arg("shape")),
        error("range", lambda: dirichlet_eigenvalues((3,), length=-1.0), arg("length")),
        error("range", lambda: dirichlet_eigenvalues((3,), length=(1.0, 1.0)), arg("length")),
        error("dtype", lambda: dirichlet_eigenvalues((2.5,)), arg("shape")),
        error("empty", lambda: dirichlet_eigenvalues(()), arg("shape")),
        error("empty", lambda: dirichlet_eigenvalues((0,)), arg("shape")),
        ok("list", lambda: dirichlet_eigenvalues([3]), check=close((np.pi * np.arange(1, 4)) ** 2)),
    ],
    "dst1": [
        ok("valid", lambda: dst1(R), check=close(scipy.fft.dst(R, type=1))),
        ok(
            "valid",
            lambda: dst1(R, 0, norm="ortho"),
            check=close(scipy.fft.dst(R, type=1, axis=0, norm="ortho")),
        ),
        error("shape", lambda: dst1(R, 2), arg("axis")),
        error("shape", lambda: dst1(np.float64(1.0)), arg("axis")),
        error("dtype", lambda: dst1(R + 1j * R), arg("x")),
        error("dtype", lambda: dst1("abc"), arg("x")),
        ok("dtype", lambda: dst1(np.arange(5)), check=close(scipy.fft.dst(np.arange(5.0), type=1))),
        ok(
            "dtype",
            lambda: dst1(jnp.asarray(R, jnp.float16)),
            check=close(scipy.fft.dst(R, type=1), 1e-2),
        ),
        ok(
            "dtype",
            lambda: dst1(jnp.asarray(R, jnp.bfloat16)),
            check=close(scipy.fft.dst(R, type=1), 3e-2),
        ),
        error("range", lambda: dst1(R, norm="forward"), arg("norm")),
        error("dtype", lambda: dst1(R, axis=0.5), arg("axis")),
        ok(
            "nonfinite",
            is_nan(lambda: dst1(NAN)),
            check=nan_where([True] * 4),
        ),
        ok("empty", lambda: dst1(np.zeros((3, 0))), check=lambda v: v.shape == (3, 0)),
        ok("magnitude", lambda: dst1(1e300 * R), check=close(1e300 * scipy.fft.dst(R, type=1))),
        ok("magnitude", lambda: dst1(1e-300 * R), check=close(1e-300 * scipy.fft.dst(R, type=1))),
        error("list", lambda: dst1(R.tolist()), arg("x")),
        ok(
            "transform",
            lambda: jax.vmap(dst1)(jnp.asarray(R)),
            check=close(scipy.fft.dst(R, type=1)),
        ),
    ],
    "dstn": [
        ok("valid", lambda: dstn(R), check=close(scipy.fft.dstn(R, type=1))),
        ok(
            "valid",
            lambda: dstn(R, axes=(0,), norm="ortho"),
            check=close(scipy.fft.dstn(R, type=1, axes=(0,), norm="ortho")),
        ),
        error("shape", lambda: dstn(R, axes=(0, 0)), arg("axes")),
        error("shape", lambda: dstn(R, axes=(3,)), arg("axes")),
        error("dtype", lambda: dstn(R + 1j), arg("x")),
        ok(
            "dtype",
            lambda: dstn(jnp.asarray(R, jnp.float16)),
            check=close(scipy.fft.dstn(R, type=1), 2e-2),
        ),
        error("range", lambda: dstn(R, norm="x"), arg("norm")),
        error("list", lambda: dstn(R.tolist()), arg("x")),
        ok("magnitude", lambda: dstn(1e300 * R), check=close(1e300 * scipy.fft.dstn(R, type=1))),
        ok("transform", lambda: jax.jit(dstn)(R), check=close(scipy.fft.dstn(R, type=1))),
    ],
    "idstn": [
        ok("valid", lambda: idstn(R), check=close(scipy.fft.idstn(R, type=1))),
        ok("valid", lambda: idstn(dstn(R)), check=close(R)),
        error("shape", lambda: idstn(R, axes=(5,)), arg("axes")),
        error("dtype", lambda: idstn(R + 1j), arg("x")),
        ok(
            "dtype",
            lambda: idstn(jnp.asarray(R, jnp.bfloat16)),
            check=close(scipy.fft.idstn(R, type=1), 3e-2),
        ),
        error("range", lambda: idstn(R, norm="x"), arg("norm")),
        error("list", lambda: idstn(R.tolist()), arg("x")),
        ok(
            "magnitude",
            lambda: idstn(1e-300 * R),
            check=close(1e-300 * scipy.fft.idstn(R, type=1)),
        ),
    ],
    "wavenumbers": [
        ok("valid", lambda: wavenumbers(4), check=close(2 * np.pi * np.array([0, 1, -2, -1]))),
        ok("valid", lambda: wavenumbers(4, 2.0, rfft=True), check=close(np.pi * np.arange(3))),
        error("range", lambda: wavenumbers(0), arg("n")),
        error("range", lambda: wavenumbers(-3), arg("n")),
        error("range", lambda: wavenumbers(4, 0.0), arg("length")),
        error("range", lambda: wavenumbers(4, -1.0), arg("length")),
        error("nonfinite", lambda: wavenumbers(4, np.nan), arg("length")),
        error("dtype", lambda: wavenumbers(4.5), arg("n")),
        error("dtype", lambda: wavenumbers("4"), arg("n")),
    ],
    "spectral_derivative": [
        ok(
            "valid",
            lambda: spectral_derivative(F, 0),
            check=close(2 * np.pi * np.cos(2 * np.pi * X)),
        ),
        ok(
            "valid",
            lambda: spectral_derivative(F2, 1, order=2, length=(1.0, 2.0)),
            check=close(-(np.pi**2) * F2),
        ),
        error("shape", lambda: spectral_derivative(F, 1), arg("axis")),
        error("shape", lambda: spectral_derivative(np.ones((2,) * 4), 0), arg("u")),
        error("dtype", lambda: spectral_derivative(np.arange(N), 0), arg("u")),
        error("dtype", lambda: spectral_derivative(F + 1j, 0), arg("u")),
        error("dtype", lambda: spectral_derivative(F, 0.0), arg("axis")),
        ok(
            "dtype",
            lambda: spectral_derivative(jnp.asarray(F, jnp.float16), 0),
            check=close(2 * np.pi * np.cos(2 * np.pi * X), 1e-2),
        ),
        ok(
            "dtype",
            lambda: spectral_derivative(jnp.asarray(F, jnp.bfloat16), 0),
            check=close(2 * np.pi * np.cos(2 * np.pi * X), 3e-2),
        ),
        error("range", lambda: spectral_derivative(F, 0, order=-1), arg("order")),
        error("range", lambda: spectral_derivative(F, 0, length=0.0), arg("length")),
        ok("nonfinite", is_nan(lambda: spectral_derivative(NAN, 0)), check=nan_where([True] * 4)),
        error("empty", lambda: spectral_derivative(np.zeros(0), 0), arg("u")),
        ok(
            "magnitude",
            lambda: spectral_derivative(1e300 * F, 0),
            check=close(1e300 * 2 * np.pi * np.cos(2 * np.pi * X)),
        ),
        error("list", lambda: spectral_derivative(F.tolist(), 0), arg("u")),
        ok(
            "transform",
            lambda: jax.vmap(lambda u: spectral_derivative(u, 0))(jnp.stack([F, F])),
            check=close(np.stack([2 * np.pi * np.cos(2 * np.pi * X)] * 2)),
        ),
    ],
    "spectral_gradient": [
        ok(
            "valid",
            lambda: spectral_gradient(F),
            check=close(2 * np.pi * np.cos(2 * np.pi * X)[None]),
        ),
        error("shape", lambda: spectral_gradient(np.float64(1.0)), arg("u")),
        error("dtype", lambda: spectral_gradient(np.arange(4)), arg("u")),
        ok(
            "dtype",
            lambda: spectral_gradient(jnp.asarray(F, jnp.float16)),
            check=close(2 * np.pi * np.cos(2 * np.pi * X)[None], 1e-2),
        ),
        error("range", lambda: spectral_gradient(F2, length=(1.0,)), arg("length")),
        error("empty", lambda: spectral_gradient(np.zeros((0, 4))), arg("u")),
        error("list", lambda: spectral_gradient(F.tolist()), arg("u")),
        ok(
            "magnitude",
            lambda: spectral_gradient(1e-300 * F),
            check=close(1e-300 * 2 * np.pi * np.cos(2 * np.pi * X)[None]),
        ),
    ],
    "spectral_laplacian": [
        ok("valid", lambda: spectral_laplacian(F2), check=close(-8 * np.pi**2 * F2)),
        error("shape", lambda: spectral_laplacian(np.ones((2,) * 4)), arg("u")),
        error("dtype", lambda: spectral_laplacian(F + 1j), arg("u")),
        error("dtype", lambda: spectral_laplacian(np.ones(4, bool)), arg("u")),
        ok(
            "dtype",
            lambda: spectral_laplacian(jnp.asarray(F2, jnp.bfloat16)),
            check=close(-8 * np.pi**2 * F2, 1e-1),  # bf16 rounding noise times |k|^2
        ),
        error("range", lambda: spectral_laplacian(F, length=-2.0), arg("length")),
        ok("nonfinite", is_nan(lambda: spectral_laplacian(NAN)), check=nan_where([True] * 4)),
        error("empty", lambda: spectral_laplacian(np.zeros(0)), arg("u")),
        error("list", lambda: spectral_laplacian(F2.tolist()), arg("u")),
        ok(
            "magnitude",
            lambda: spectral_laplacian(1e300 * F),
            check=close(-4e300 * np.pi**2 * F),
        ),
    ],
    "spectral_conv": [
        ok("valid", lambda: _conv(), check=close(XC)),
        ok("valid", lambda: _conv(method="dft"), check=close(XC)),
        error("shape", lambda: _conv(x=XC[0]), arg("x")),
        error("shape", lambda: _conv(w_re=W1[0]), arg("w_re")),
        error("shape", lambda: _conv(w_im=np.zeros((1, 1, 1, 8))), arg("w_im")),
        error("shape", lambda: _conv(modes=10), "`modes"),
        error("shape", lambda: _conv(out_shape=(8,)), arg("out_shape")),
        error("dtype", lambda: _conv(x=XC.astype(int)), arg("x")),
        error("dtype", lambda: _conv(x=XC + 1j), arg("x")),
        error("dtype", lambda: _conv(w_re=W1 + 1j), arg("w_re")),
        error("dtype", lambda: _conv(modes=9.0), arg("modes")),
        ok("dtype", lambda: _conv(x=jnp.asarray(XC, jnp.float16)), check=close(XC, 1e-2)),
        ok("dtype", lambda: _conv(x=jnp.asarray(XC, jnp.bfloat16)), check=close(XC, 3e-2)),
        ok(
            "dtype",
            lambda: _conv(x=jnp.asarray(XC, jnp.float16), method="dft"),
            check=close(XC, 1e-2),
        ),
        error("range", lambda: _conv(method="x"), arg("method")),
        error("range", lambda: _conv(modes=0), arg("modes")),
        ok(
            "nonfinite",
            is_nan(lambda: _conv(x=np.where(X > 0.9, np.nan, XC))),
            check=nan_where(np.ones((1, N), bool)),
        ),
        error("empty", lambda: _conv(x=np.zeros((1, 0))), arg("x")),
        error("empty", lambda: _conv(x=np.zeros((0, N))), arg("x")),
        ok("magnitude", lambda: _conv(x=1e300 * XC), check=close(1e300 * XC)),
        ok("magnitude", lambda: _conv(x=1e-300 * XC), check=close(1e-300 * XC)),
        ok(
            "magnitude",
            lambda: _conv(x=jnp.asarray(1e30 * XC, jnp.float32), w_re=W1.astype(np.float32)),
            check=close(1e30 * XC, 1e-5),
        ),
        error("list", lambda: _conv(x=XC.tolist()), arg("x")),
        error("list", lambda: _conv(w_re=W1.tolist()), arg("w_re")),
        ok(
            "transform",
            lambda: jax.vmap(lambda x: _conv(x=x))(jnp.stack([XC, 2 * XC])),
            check=close(np.stack([XC, 2 * XC])),
        ),
        ok(
            "transform",
            lambda: jax.grad(lambda w: jnp.sum(_conv(w_re=w)))(jnp.asarray(W1)),
            check=lambda g: g.shape == W1.shape and np.all(np.isfinite(g)),
        ),
    ],
    "SpectralConv": [
        ok(
            "valid",
            lambda: LAYER(XC),
            check=close(np.asarray(spectral_conv(XC, LAYER.w_re, LAYER.w_im, 4))),
        ),
        ok(
            "valid",
            lambda: SpectralConv(2, 3, (2, 3), key=KEY),
            check=lambda m: m.w_re.shape == (2, 2, 3, 2, 3),
        ),
        error("shape", lambda: LAYER(np.ones((2, N))), arg("x")),
        error("shape", lambda: LAYER(np.ones(N)), arg("x")),
        error("range", lambda: SpectralConv(0, 1, (4,), key=KEY), arg("in_channels")),
        error("range", lambda: SpectralConv(1, 1, (0,), key=KEY), arg("modes")),
        error("range", lambda: SpectralConv(1, 1, 4, key=KEY), arg("ndim")),
        error("range", lambda: SpectralConv(1, 1, (4,), method="x", key=KEY), arg("method")),
        error("range", lambda: SpectralConv(1, 1, (4,) * 4, key=KEY), arg("ndim")),
        error("dtype", lambda: SpectralConv(1, 1, (4,), dtype=jnp.int32, key=KEY), arg("dtype")),
        error("dtype", lambda: LAYER(XC + 1j), arg("x")),
        error("dtype", lambda: SpectralConv(1.0, 1, (4,), key=KEY), arg("in_channels")),
        ok("dtype", lambda: LAYER(XC.astype(np.float16)), check=lambda y: y.dtype == jnp.float64),
        ok(
            "dtype",
            lambda: SpectralConv(1, 1, (4,), dtype=jnp.bfloat16, key=KEY)(XC),
            check=lambda y: y.dtype == jnp.bfloat16,
        ),
        error("empty", lambda: LAYER(np.zeros((1, 0))), arg("x")),
        error("list", lambda: LAYER(XC.tolist()), arg("x")),
        ok(
            "key",
            lambda: SpectralConv(1, 1, (4,), key=jax.random.key_data(KEY)),
            check=lambda m: np.array_equal(m.w_re, LAYER.w_re),
        ),
        error("key", lambda: SpectralConv(1, 1, (4,), key=jax.random.split(KEY, 2)), arg("key")),
        error("key", lambda: SpectralConv(1, 1, (4,), key=0), arg("key")),
        ok(
            "transform",
            lambda: eqx_vmap_layers(),
            check=lambda w: w.shape == (2, 1, 1, 1, 4),
        ),
    ],
    "FNO": [
        ok("valid", lambda: FNO_MODEL(X1), check=lambda y: y.shape == (1, N)),
        ok(
            "valid",
            lambda: FNO_MODEL(jnp.stack([F2[0]])),
            check=lambda y: np.allclose(y, eqx.filter_jit(FNO_MODEL)(jnp.stack([F2[0]]))),
        ),
        error("shape", lambda: FNO_MODEL(np.ones((2, N))), arg("x")),
        error("shape", lambda: FNO_MODEL(np.ones((1, 4, 4))), arg("x")),
        error("shape", lambda: FNO_MODEL(np.ones((1, 5))), arg("x")),
        error("range", lambda: _small_fno(width=0), arg("width")),
        error("range", lambda: _small_fno(depth=0), arg("depth")),
        error("range", lambda: _small_fno(padding=1.5), arg("padding")),
        error("range", lambda: _small_fno(padding=-0.1), arg("padding")),
        error("range", lambda: _small_fno(modes=4), arg("modes")),
        error("range", lambda: _small_fno(modes=(4,) * 4), "modes"),
        error("range", lambda: _small_fno(grid_layout="x"), arg("grid_layout")),
        error("range", lambda: _small_fno(method="x"), arg("method")),
        error("dtype", lambda: _small_fno(dtype=jnp.int32), arg("dtype")),
        error("dtype", lambda: FNO_MODEL(X1 + 1j), arg("x")),
        error("dtype", lambda: FNO_MODEL("x"), arg("x")),
        ok("dtype", lambda: FNO_MODEL(np.ones((1, N), int)), check=lambda y: y.shape == (1, N)),
        ok(
            "dtype",
            lambda: FNO_MODEL(X1.astype(jnp.float16)),
            check=lambda y: np.allclose(y, FNO_MODEL(X1), atol=1e-2),
        ),
        ok(
            "dtype",
            lambda: _small_fno(dtype=jnp.float16)(X1),
            check=lambda y: y.dtype == jnp.float16,
        ),
        error("empty", lambda: FNO_MODEL(np.zeros((1, 0))), arg("x")),
        error("list", lambda: FNO_MODEL(XC.tolist()), arg("x")),
        ok(
            "magnitude",
            lambda: FNO_MODEL(1e-300 * X1),
            check=lambda y: np.allclose(y, FNO_MODEL(0 * X1)),
        ),
        ok(
            "key",
            lambda: _small_fno(key=jax.random.key_data(KEY)),
            check=lambda m: np.array_equal(m.lift_w, FNO_MODEL.lift_w),
        ),
        error("key", lambda: _small_fno(key=jax.random.split(KEY, 2)), arg("key")),
        ok(
            "transform",
            lambda: jax.vmap(FNO_MODEL)(jnp.stack([X1, 2 * X1])),
            check=lambda y: y.shape == (2, 1, N),
        ),
        ok(
            "transform",
            lambda: jax.grad(lambda x: jnp.sum(FNO_MODEL(x)))(X1),
            check=lambda g: g.shape == (1, N),
        ),
    ],
    "grid_coordinates": [
        ok("valid", lambda: grid_coordinates((5,)), check=close(np.linspace(0, 1, 5)[None])),
        ok(
            "valid",
            lambda: grid_coordinates((4, 2), layout="periodic"),
            check=lambda g: g.shape == (2, 4, 2) and np.allclose(g[0, :, 0], X[::4]),
        ),
        error("range", lambda: grid_coordinates((0,)), arg("spatial")),
        error("range", lambda: grid_coordinates((4,), layout="x"), arg("layout")),
        error("dtype", lambda: grid_coordinates((4,), jnp.int32), arg("dtype")),
        error("dtype", lambda: grid_coordinates(4), arg("spatial")),
        error("dtype", lambda: grid_coordinates((4.0,)), arg("spatial")),
        error("empty", lambda: grid_coordinates(()), arg("spatial")),
        ok("list", lambda: grid_coordinates([5]), check=close(np.linspace(0, 1, 5)[None])),
        ok(
            "dtype",
            lambda: grid_coordinates((5,), jnp.float16),
            check=lambda g: g.dtype == jnp.float16,
        ),
    ],
    "num_blocks": [
        ok("valid", lambda: [num_blocks(d) for d in (1, 2, 3)], check=lambda v: v == [1, 2, 4]),
        error("range", lambda: num_blocks(0), arg("ndim")),
        error("range", lambda: num_blocks(-1), arg("ndim")),
        error("dtype", lambda: num_blocks(2.0), arg("ndim")),
        error("dtype", lambda: num_blocks("2"), arg("ndim")),
    ],
    "GRID_LAYOUTS": [
        ok(
            "valid",
            lambda: GRID_LAYOUTS,
            check=lambda v: v == ("nodes", "interior", "periodic", "cells"),
        ),
    ],
    # sharded spectral operators (issue 16): 16 x 16 fields over the 8 fake devices
    "solve_periodic_sharded": [
        ok(
            "valid",
            lambda: solve_periodic_sharded(_rows(F2), k=1.0),
            check=close(solve_periodic(F2, k=1.0).value),
        ),
        error("shape", lambda: solve_periodic_sharded(F, sharding=_ROWS), arg("f")),
        error("shape", lambda: solve_periodic_sharded(_rows(np.ones((16, 4))), k=1.0), arg("f")),
        error("dtype", lambda: solve_periodic_sharded(_rows(F2) + 0j, sharding=_ROWS), arg("f")),
        error("dtype", lambda: solve_periodic_sharded(_rows(F2), k=1j), arg("k")),
        error("range", lambda: solve_periodic_sharded(F2), arg("sharding")),
        error("range", lambda: solve_periodic_sharded(F2, sharding="x"), arg("sharding")),
        error("range", lambda: solve_periodic_sharded(_rows(F2), stencil="x"), arg("stencil")),
        error("range", lambda: solve_periodic_sharded(_cols(F2)), arg("sharding")),
        error("nonfinite", lambda: solve_periodic_sharded(_rows(F2 + np.nan), k=1.0), arg("f")),
    ],
    "spectral_conv_sharded": [
        ok(
            "valid",
            lambda: spectral_conv_sharded(_rows(XC2), WC2, WC2, (3, 3), sharding=_CROWS),
            check=close(spectral_conv(XC2, WC2, WC2, (3, 3))),
        ),
        error(
            "shape",
            lambda: spectral_conv_sharded(_rows(XC2), WC2, WC2, (3, 3, 3), sharding=_CROWS),
            arg("modes"),
        ),
        error("range", lambda: spectral_conv_sharded(XC2, WC2, WC2, (3, 3)), arg("sharding")),
        error(
            "range",
            lambda: spectral_conv_sharded(_rows(XC2), WC2, WC2, (3, 3), sharding=_ROWS),
            arg("sharding"),
        ),
        error(
            "nonfinite",
            lambda: spectral_conv_sharded(_rows(XC2 + np.nan), WC2, WC2, (3, 3), sharding=_CROWS),
            arg("x"),
        ),
    ],
}


def eqx_vmap_layers():
    layers = eqx.filter_vmap(lambda k: SpectralConv(1, 1, (4,), key=k))(jax.random.split(KEY, 2))
    return layers.w_re


REGISTRY = {name: [p for p in probes if p is not None] for name, probes in REGISTRY.items()}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name, index, probe", probe_ids(REGISTRY), ids=lambda v: str(v)[:40])
def test_probe(name, index, probe):
    run_probe(probe)
