"""Bad-input probes of ``jaxsci.data`` (issue 11): every public name, valid and bad inputs."""

import math
import tempfile

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from badinputs import arg, error, ok, probe_ids, run_probe, status

from jaxsci.data import (
    burgers,
    burgers_solve,
    cache_path,
    darcy,
    darcy_coefficient,
    darcy_operator,
    darcy_solve,
    delayed_recall,
    etdrk4_coefficients,
    grf,
    grf_eigenvalues,
)

KEY = jax.random.key(0)
KEYS = jax.random.split(KEY, 2)
RAW = jax.random.key_data(KEY)
TMP = tempfile.mkdtemp(prefix="jaxsci_bad_inputs_data_")
N = 16
X = np.arange(N) / N
U0 = 1e-6 * np.sin(2 * np.pi * X)  # linear regime: u(t) = exp(-nu (2 pi)^2 t) u0
S = 9  # darcy node grid (7 x 7 interior)


def _burgers_solve(u0=U0, **kw):
    args = dict(nu=0.1, t_final=0.1, num_steps=10)
    args.update(kw)
    return burgers_solve(u0, **args)


def _burgers(**kw):
    args = dict(num_steps=10, solve_resolution=16, progress=False)
    args.update(kw)
    key = args.pop("key", KEY)
    return burgers(key, 2, 8, **args)


def _darcy(**kw):
    args = dict(progress=False)
    args.update(kw)
    key = args.pop("key", KEY)
    return darcy(key, 1, S, **args)


def _grf(**kw):
    args = dict(alpha=2.0, tau=3.0)
    args.update(kw)
    key = args.pop("key", KEY)
    shape = args.pop("shape", (8,))
    return grf(key, 2, shape, **args)


def _residual(a, u):
    """``||1 - A u_interior|| / ||1||`` of a Darcy solve."""
    op = darcy_operator(jnp.asarray(a))
    r = 1.0 - op.mv(jnp.asarray(u)[1:-1, 1:-1])
    return float(jnp.linalg.norm(r) / math.sqrt(r.size))


def _lap5(u, h):
    p = np.pad(u, 1)
    return (4 * u - p[:-2, 1:-1] - p[2:, 1:-1] - p[1:-1, :-2] - p[1:-1, 2:]) / h**2


A1 = np.ones((S, S))
A2 = np.where(np.add.outer(np.arange(S), np.arange(S)) % 3 == 0, 12.0, 3.0)
UI = np.random.default_rng(0).standard_normal((S - 2, S - 2))

REGISTRY = {
    "burgers_solve": [
        ok(
            "valid",
            lambda: _burgers_solve(),
            check=lambda u: np.allclose(
                u, np.exp(-0.1 * 4 * np.pi**2 * 0.1) * U0, rtol=1e-6, atol=1e-14
            ),
        ),
        ok(
            "valid",
            lambda: _burgers_solve(u0=np.full(N, 0.3)),
            check=lambda u: np.allclose(u, 0.3),
        ),
        error("shape", lambda: _burgers_solve(u0=np.ones((2, N))), arg("u0")),
        error("shape", lambda: _burgers_solve(u0=np.ones(15)), r"u0"),
        error("dtype", lambda: _burgers_solve(u0=U0 + 1j), arg("u0")),
        ok(
            "dtype",
            lambda: _burgers_solve(u0=jnp.asarray(1e3 * U0, jnp.float16)),
            check=lambda u: np.allclose(
                np.asarray(u, float), 1e3 * np.exp(-0.4 * np.pi**2 * 0.1) * U0, atol=2e-5
            ),
        ),
        ok("dtype", lambda: _burgers_solve(u0=np.zeros(N, int)), check=lambda u: np.all(u == 0)),
        error("range", lambda: _burgers_solve(nu=-0.1), arg("nu")),
        error("range", lambda: _burgers_solve(nu=0.0), arg("nu")),
        error("range", lambda: _burgers_solve(t_final=-1.0), arg("t_final")),
        error("range", lambda: _burgers_solve(num_steps=0), arg("num_steps")),
        error("nonfinite", lambda: _burgers_solve(nu=np.nan), arg("nu")),
        error("nonfinite", lambda: _burgers_solve(u0=np.where(X > 0.5, np.nan, U0)), arg("u0")),
        error(
            "magnitude",
            lambda: _burgers_solve(u0=1e30 * np.sin(2 * np.pi * X), num_steps=2),
            arg("num_steps"),
        ),
        error("empty", lambda: _burgers_solve(u0=np.zeros(0)), r"u0"),
        error("list", lambda: _burgers_solve(u0=U0.tolist()), arg("u0")),
        ok(
            "transform",
            lambda: jax.vmap(_burgers_solve)(jnp.stack([U0, 2 * U0])),
            check=lambda u: u.shape == (2, N),
        ),
        error(
            "transform",
            lambda: jax.vmap(_burgers_solve)(jnp.stack([U0, jnp.full(N, jnp.nan)])),
            arg("u0"),
        ),
    ],
    "burgers": [
        ok(
            "valid",
            lambda: _burgers(),
            check=lambda out: out[0].shape == out[1].shape == (2, 8),
        ),
        error("range", lambda: burgers(KEY, 2, 7, progress=False), arg("resolution")),
        error("range", lambda: burgers(KEY, 2, 0, progress=False), arg("resolution")),
        error("range", lambda: burgers(KEY, 0, 8, progress=False), arg("num_samples")),
        error("range", lambda: _burgers(nu=-1.0), arg("nu")),
        error("range", lambda: _burgers(t_final=-1.0), arg("t_final")),
        error("range", lambda: _burgers(solve_resolution=12), arg("solve_resolution")),
        error("range", lambda: _burgers(chunk_size=0), arg("chunk_size")),
        error("dtype", lambda: burgers(KEY, 2, 8.0, progress=False), arg("resolution")),
        error("nonfinite", lambda: _burgers(nu=np.inf), arg("nu")),
        error("key", lambda: _burgers(key=KEYS), arg("key")),
        error("key", lambda: _burgers(key=0), arg("key")),
        ok(
            "key",
            lambda: _burgers(key=RAW),
            check=lambda out: np.array_equal(out[0], _burgers()[0]),
        ),
        ok(  # one big step to t = 100 (exact diffusion): finite, decayed towards the zero mean
            "magnitude",
            lambda: _burgers(num_steps=1, t_final=100.0),
            check=lambda out: np.abs(out[1]).max() < 0.1 * np.abs(out[0]).max(),
        ),
    ],
    "etdrk4_coefficients": [
        ok(
            "valid",
            lambda: etdrk4_coefficients(np.array([-1.0, -100.0]), 0.01),
            check=lambda c: (
                np.allclose(c["E"], np.exp([-0.01, -1.0]))
                and np.allclose(
                    c["Q"], 0.01 * (np.exp([-0.005, -0.5]) - 1) / np.array([-0.01, -1.0])
                )
            ),
        ),
        ok(
            "valid",
            lambda: etdrk4_coefficients(np.zeros(1), 0.1),
            check=lambda c: np.allclose(c["Q"], 0.05) and np.allclose(c["f1"], 0.1 / 6),
        ),
        error("dtype", lambda: etdrk4_coefficients(np.array([-1.0 + 1j]), 0.1), arg("linear")),
        error("dtype", lambda: etdrk4_coefficients("abc", 0.1), arg("linear")),
        error("range", lambda: etdrk4_coefficients(np.array([-1.0]), -0.1), arg("dt")),
        error("range", lambda: etdrk4_coefficients(np.array([-1.0]), 0.0), arg("dt")),
        error(
            "range",
            lambda: etdrk4_coefficients(np.array([-1.0]), 0.1, num_contour=0),
            arg("num_contour"),
        ),
        error("nonfinite", lambda: etdrk4_coefficients(np.array([np.nan]), 0.1), arg("linear")),
        error("magnitude", lambda: etdrk4_coefficients(np.array([1e300]), 0.1), arg("linear")),
        ok(
            "magnitude",
            lambda: etdrk4_coefficients(np.array([-1e300]), 0.1),
            check=lambda c: c["E"][0] == 0 and np.all([np.isfinite(v).all() for v in c.values()]),
        ),
        error("list", lambda: etdrk4_coefficients([-1.0], 0.1), arg("linear")),
        ok(
            "empty",
            lambda: etdrk4_coefficients(np.zeros(0), 0.1),
            check=lambda c: c["E"].shape == (0,),
        ),
    ],
    "grf_eigenvalues": [
        ok(
            "valid",
            lambda: grf_eigenvalues((4,), alpha=2.0, tau=3.0),
            check=lambda v: np.allclose(
                v, ((2 * np.pi * np.array([0, 1, -2, -1])) ** 2 + 9.0) ** -2.0
            ),
        ),
        ok(
            "valid",
            lambda: grf_eigenvalues((3, 2), alpha=1.0, tau=1.0, sigma=2.0, bc="neumann"),
            check=lambda v: np.isclose(v[2, 1], 4.0 / (np.pi**2 * 5 + 1)),
        ),
        error(
            "range", lambda: grf_eigenvalues((4,), alpha=2.0, tau=3.0, bc="dirichlet"), arg("bc")
        ),
        error("range", lambda: grf_eigenvalues((4,), alpha=2.0, tau=3.0, bc="Periodic"), arg("bc")),
        error("range", lambda: grf_eigenvalues((4,), alpha=-2.0, tau=3.0), arg("alpha")),
        error("range", lambda: grf_eigenvalues((4,), alpha=2.0, tau=0.0), arg("tau")),
        error("range", lambda: grf_eigenvalues((4,), alpha=2.0, tau=3.0, sigma=-1.0), arg("sigma")),
        error("range", lambda: grf_eigenvalues((0,), alpha=2.0, tau=3.0), arg("shape")),
        error("nonfinite", lambda: grf_eigenvalues((4,), alpha=np.nan, tau=3.0), arg("alpha")),
        error(
            "nonfinite",
            lambda: grf_eigenvalues((4,), alpha=2.0, tau=jnp.asarray(np.inf)),
            arg("tau"),
        ),
        error("empty", lambda: grf_eigenvalues((), alpha=2.0, tau=3.0), arg("shape")),
        error("dtype", lambda: grf_eigenvalues((4.5,), alpha=2.0, tau=3.0), arg("shape")),
        error("dtype", lambda: grf_eigenvalues(4, alpha=2.0, tau=3.0), arg("shape")),
        ok(
            "list",
            lambda: grf_eigenvalues([4], alpha=2.0, tau=3.0),
            check=lambda v: v.shape == (4,),
        ),
        error(
            "transform",
            lambda: eqx.filter_jit(lambda t: grf_eigenvalues((4,), alpha=2.0, tau=t))(-1.0),
            arg("tau"),
        ),
    ],
    "grf": [
        ok(
            "valid",
            lambda: _grf(mean_zero=True),
            check=lambda u: u.shape == (2, 8) and np.allclose(u.mean(1), 0, atol=1e-12),
        ),
        ok("valid", lambda: _grf(shape=(4, 4), bc="neumann"), check=lambda u: u.shape == (2, 4, 4)),
        error("range", lambda: _grf(bc="dirichlet"), arg("bc")),
        error("range", lambda: _grf(alpha=-1.0), arg("alpha")),
        error("range", lambda: _grf(tau=0.0), arg("tau")),
        error("range", lambda: _grf(shape=(1,)), r"shape"),
        error("range", lambda: _grf(shape=(4,) * 4), arg("shape")),
        error("range", lambda: grf(KEY, 0, 8, alpha=2.0, tau=3.0), arg("num_samples")),
        error("nonfinite", lambda: _grf(sigma=np.nan), arg("sigma")),
        error("nonfinite", lambda: _grf(tau=jnp.asarray(np.nan)), arg("tau")),
        error("magnitude", lambda: _grf(tau=1e-300), arg("tau")),
        error("magnitude", lambda: _grf(sigma=1e300), arg("sigma")),
        ok(
            "magnitude", lambda: _grf(tau=1e-300, mean_zero=True), check=lambda u: u.shape == (2, 8)
        ),
        error("empty", lambda: _grf(shape=()), arg("shape")),
        error("dtype", lambda: _grf(shape=(8.0,)), r"shape"),
        ok("list", lambda: _grf(shape=[8]), check=lambda u: u.shape == (2, 8)),
        error("key", lambda: _grf(key=KEYS), arg("key")),
        error("key", lambda: _grf(key=0), arg("key")),
        ok("key", lambda: _grf(key=RAW), check=lambda u: np.array_equal(u, _grf())),
    ],
    "darcy_coefficient": [
        ok(
            "valid",
            lambda: darcy_coefficient(KEY, 8),
            check=lambda a: a.shape == (8, 8) and set(np.unique(a)) <= {3.0, 12.0},
        ),
        error("range", lambda: darcy_coefficient(KEY, 1), arg("resolution")),
        error("range", lambda: darcy_coefficient(KEY, 8, alpha=-1.0), arg("alpha")),
        error("range", lambda: darcy_coefficient(KEY, 8, tau=0.0), arg("tau")),
        error("nonfinite", lambda: darcy_coefficient(KEY, 8, alpha=np.nan), arg("alpha")),
        error("dtype", lambda: darcy_coefficient(KEY, 8.0), arg("resolution")),
        error("key", lambda: darcy_coefficient(KEYS, 8), arg("key")),
        ok(
            "key",
            lambda: darcy_coefficient(RAW, 8),
            check=lambda a: np.array_equal(a, darcy_coefficient(KEY, 8)),
        ),
    ],
    "darcy_operator": [
        ok(
            "valid",
            lambda: darcy_operator(A1).mv(jnp.asarray(UI)),
            check=lambda v: np.allclose(v, _lap5(UI, 1 / (S - 1))),
        ),
        error("shape", lambda: darcy_operator(np.ones(S)), arg("a")),
        error("shape", lambda: darcy_operator(np.ones((S, S + 1))), arg("a")),
        error("shape", lambda: darcy_operator(np.ones((2, 2))), arg("a")),
        error("dtype", lambda: darcy_operator(A1 + 1j), arg("a")),
        error("list", lambda: darcy_operator(A1.tolist()), arg("a")),
        error("range", lambda: darcy_operator(-A1), arg("a")),
    ],
    "darcy_solve": [
        ok("valid", lambda: (A1, darcy_solve(A1)), check=lambda out: _residual(*out) < 1e-8),
        ok(
            "valid",
            lambda: (A2, darcy_solve(A2)),  # a two-valued (12/3) coefficient with jumps
            check=lambda out: _residual(*out) < 1e-8,
        ),
        error("shape", lambda: darcy_solve(np.ones(S)), arg("a")),
        error("shape", lambda: darcy_solve(np.ones((S, S + 1))), arg("a")),
        error("dtype", lambda: darcy_solve(A1 + 1j), arg("a")),
        error("range", lambda: darcy_solve(-A1), arg("a")),
        error("range", lambda: darcy_solve(A1, rtol=-1.0), arg("rtol")),
        error("range", lambda: darcy_solve(A1, max_steps=0), arg("max_steps")),
        # throw=False used to return a bare array with no status after a failed solve
        status(
            "range",
            lambda: darcy_solve(np.ones((33, 33)), max_steps=1, throw=False),
            "max_steps_reached",
        ),
        ok(
            "valid",
            lambda: (A1, darcy_solve(A1, throw=False).value),
            check=lambda out: _residual(*out) < 1e-8,
        ),
        error("nonfinite", lambda: darcy_solve(np.where(np.eye(S) > 0, np.nan, A1)), arg("a")),
        error("list", lambda: darcy_solve(A1.tolist()), arg("a")),
        ok(
            "magnitude",
            lambda: (1e-30 * A1, darcy_solve(1e-30 * A1)),
            check=lambda out: np.allclose(out[1], 1e30 * np.asarray(darcy_solve(A1)), rtol=1e-6),
        ),
        error(
            "transform",
            lambda: jax.vmap(darcy_solve)(jnp.stack([A1, -A1])),
            arg("a"),
        ),
    ],
    "darcy": [
        ok(
            "valid",
            lambda: _darcy(),
            check=lambda out: out[0].shape == (1, S, S) and _residual(out[0][0], out[1][0]) < 1e-6,
        ),
        error("range", lambda: darcy(KEY, 1, 3, progress=False), arg("resolution")),
        error("range", lambda: _darcy(rtol=0.0), arg("rtol")),
        error("range", lambda: _darcy(alpha=-2.0), arg("alpha")),
        error("range", lambda: _darcy(max_steps=0), arg("max_steps")),
        error("range", lambda: _darcy(chunk_size=0), arg("chunk_size")),
        error("nonfinite", lambda: _darcy(tau=np.nan), arg("tau")),
        error("dtype", lambda: darcy(KEY, 1, 9.0, progress=False), arg("resolution")),
        error("key", lambda: _darcy(key=KEYS), arg("key")),
        error("key", lambda: _darcy(key=0), arg("key")),
    ],
    "cache_path": [
        ok(
            "valid",
            lambda: cache_path(TMP, "grf", {"resolution": 8}, KEY, 4),
            check=lambda p: p.name.startswith("grf_8_4_") and p.suffix == ".npz",
        ),
        ok(
            "key",
            lambda: cache_path(TMP, "grf", {"resolution": 8}, RAW, 4),
            check=lambda p: p == cache_path(TMP, "grf", {"resolution": 8}, KEY, 4),
        ),
        error("key", lambda: cache_path(TMP, "grf", {}, KEYS, 4), arg("key")),
        error("dtype", lambda: cache_path(None, "grf", {}, KEY, 4), arg("cache_dir")),
        error("dtype", lambda: cache_path(TMP, "grf", {"f": object()}, KEY, 4), arg("params")),
        error("range", lambda: cache_path(TMP, "grf", {}, KEY, 0), arg("num_samples")),
    ],
    "delayed_recall": [
        ok(
            "valid",
            lambda: delayed_recall(KEY, 4, 6, 3),
            check=lambda out: (
                out[0].shape == (4, 6, 4)
                and np.array_equal(np.argmax(out[0][:, 0], -1), out[1])
                and np.all(out[0].sum(-1) == 1)
            ),
        ),
        error("range", lambda: delayed_recall(KEY, 0, 6), arg("batch")),
        error("range", lambda: delayed_recall(KEY, 4, 1), arg("L")),
        error("range", lambda: delayed_recall(KEY, 4, 6, 1), arg("n_classes")),
        error(
            "range", lambda: delayed_recall(KEY, 4, 6, distractor_prob=1.5), arg("distractor_prob")
        ),
        error(
            "nonfinite",
            lambda: delayed_recall(KEY, 4, 6, distractor_prob=np.nan),
            arg("distractor_prob"),
        ),
        error("dtype", lambda: delayed_recall(KEY, 4.0, 6), arg("batch")),
        error("key", lambda: delayed_recall(KEYS, 4, 6), arg("key")),
        error("key", lambda: delayed_recall(0, 4, 6), arg("key")),
        ok(
            "key",
            lambda: delayed_recall(RAW, 4, 6)[1],
            check=lambda y: np.array_equal(y, delayed_recall(KEY, 4, 6)[1]),
        ),
        ok(
            "transform",
            lambda: jax.jit(lambda k: delayed_recall(k, 4, 6))(KEY)[1],
            check=lambda y: np.array_equal(y, delayed_recall(KEY, 4, 6)[1]),
        ),
    ],
}


# issue 15: the Navier-Stokes generator (tiny grids, large steps: every probe compiles in seconds)
from jaxsci.data import navier_stokes, navier_stokes_forcing, navier_stokes_solve  # noqa: E402

NS_W0 = np.sin(2 * np.pi * np.arange(8) / 8)[:, None] * np.ones((1, 8))


def _ns_solve(w0=NS_W0, **kw):
    args = dict(nu=1e-2, num_records=2, record_interval=0.1, dt=0.05)
    args.update(kw)
    return navier_stokes_solve(w0, **args)


def _ns(**kw):
    args = dict(nu=1e-3, T=2, record_interval=0.1, dt=0.05, solve_resolution=8, progress=False)
    args.update(kw)
    key = args.pop("key", KEY)
    return navier_stokes(key, 2, 4, **args)


REGISTRY.update(
    {
        "navier_stokes_solve": [
            ok(
                "valid",
                lambda: _ns_solve(forcing=None),
                # a single shear mode is a steady Euler flow: it decays by the CN factor only
                check=lambda w: np.allclose(
                    w[1],
                    ((1 - 0.5e-2 * 0.05 * 4 * np.pi**2) / (1 + 0.5e-2 * 0.05 * 4 * np.pi**2)) ** 4
                    * NS_W0,
                    atol=1e-10,
                ),
            ),
            error("list", lambda: _ns_solve(NS_W0.tolist()), arg("w0")),
            error("shape", lambda: _ns_solve(np.ones((8, 6))), arg("w0")),
            error("shape", lambda: _ns_solve(np.ones(8)), arg("w0")),
            error("shape", lambda: _ns_solve(forcing=np.ones((4, 4))), arg("forcing")),
            error("dtype", lambda: _ns_solve(NS_W0 + 0j), arg("w0")),
            error("dtype", lambda: _ns_solve(forcing="kolmogorov"), arg("forcing")),
            error("range", lambda: _ns_solve(nu=0.0), arg("nu")),
            error("range", lambda: _ns_solve(dt=-0.1), arg("dt")),
            error("range", lambda: _ns_solve(dt=0.03), arg("record_interval")),
            error("range", lambda: _ns_solve(num_records=0), arg("num_records")),
            error("nonfinite", lambda: _ns_solve(np.full((8, 8), np.nan)), "`w0`|`dt`"),
            error("nonfinite", lambda: _ns_solve(nu=np.inf), arg("nu")),
            error("empty", lambda: _ns_solve(np.ones((0, 0))), arg("w0.shape[0]")),
            ok(
                "transform",
                lambda: jax.jit(lambda w: _ns_solve(w))(NS_W0),
                check=lambda w: np.allclose(w, _ns_solve(NS_W0)),
            ),
        ],
        "navier_stokes_forcing": [
            ok(
                "valid",
                lambda: navier_stokes_forcing(4),
                check=lambda f: np.allclose(
                    f[0],
                    0.1 * (np.sin(np.pi * np.arange(4) / 2) + np.cos(np.pi * np.arange(4) / 2)),
                ),
            ),
            error("range", lambda: navier_stokes_forcing(1), arg("resolution")),
            error("dtype", lambda: navier_stokes_forcing(4.0), arg("resolution")),
        ],
        "navier_stokes": [
            ok("valid", lambda: _ns(), check=lambda w: w.shape == (2, 2, 4, 4)),
            error("range", lambda: navier_stokes(KEY, 2, 3, progress=False), arg("resolution")),
            error("range", lambda: _ns(solve_resolution=10), arg("solve_resolution")),
            error("range", lambda: _ns(nu=-1.0), arg("nu")),
            error("range", lambda: _ns(T=0), arg("T")),
            error("range", lambda: _ns(dt=0.03), arg("record_interval")),
            error("range", lambda: _ns(chunk_size=0), arg("chunk_size")),
            error("nonfinite", lambda: _ns(dt=np.nan), arg("dt")),
            error("dtype", lambda: _ns(include_initial=1), arg("include_initial")),
            error("dtype", lambda: _ns(sharding="batch"), arg("sharding")),
            error("key", lambda: _ns(key=KEYS), arg("key")),
            error("key", lambda: _ns(key=0), arg("key")),
        ],
    }
)


# ------------------------------------------------------------- Informer windows, AR(p) (issue 14)
from jaxsci.data import (  # noqa: E402
    DataFileNotFoundError,
    InformerWindows,
    ar_coefficients,
    ar_process,
    informer_windows,
)


def _toy_csv():
    import pathlib

    path = pathlib.Path(TMP) / "informer_toy.csv"
    if not path.exists():
        path.write_text("date,OT\n" + "".join(f"t{i},{i % 7}\n" for i in range(30)))
    return path


def _iw(**kw):
    args = dict(lag=4, horizon=2, borders=(12, 20, 28))
    args.update(kw)
    return informer_windows(_toy_csv(), **args)


REGISTRY.update(
    {
        "informer_windows": [
            ok("valid", lambda: _iw().x, check=lambda x: x.shape == (7, 4)),
            error("range", lambda: _iw(lag=0), arg("lag")),
            error("range", lambda: _iw(horizon=0), arg("horizon")),
            error("range", lambda: _iw(split="dev"), arg("split")),
            error("range", lambda: _iw(lag=10, horizon=10), arg("lag")),
            error("range", lambda: _iw(borders=(5, 3, 28)), arg("borders")),
            error("dtype", lambda: _iw(lag=4.0), arg("lag")),
            error("dtype", lambda: informer_windows(3, lag=4), arg("path")),
            error("empty", lambda: informer_windows(TMP + "/absent.csv"), arg("path")),
        ],
        "InformerWindows": [
            ok(
                "valid",
                lambda: _iw(split="test"),
                check=lambda w: isinstance(w, InformerWindows) and w.y.shape == (7, 2),
            ),
        ],
        "DataFileNotFoundError": [
            ok(
                "valid",
                lambda: np.zeros(1),
                check=lambda _: issubclass(DataFileNotFoundError, (FileNotFoundError, ValueError)),
            ),
        ],
        "ar_coefficients": [
            ok(
                "valid",
                lambda: ar_coefficients(KEY, 3),
                check=lambda phi: np.all(np.abs(np.roots(np.r_[1.0, -np.asarray(phi)])) < 1),
            ),
            error("range", lambda: ar_coefficients(KEY, 0), arg("p")),
            error("range", lambda: ar_coefficients(KEY, 2, r_max=1.5), arg("r_max")),
            error("dtype", lambda: ar_coefficients(KEY, 2.0), arg("p")),
            ok(
                "transform",
                lambda: jax.jit(lambda k: ar_coefficients(k, 4))(KEY),
                check=lambda phi: np.allclose(phi, ar_coefficients(KEY, 4)),
            ),
        ],
        "ar_process": [
            ok(
                "valid",
                lambda: ar_process(KEY, np.array([0.5, -0.2]), 20, noise_std=0.0),
                check=lambda x: np.allclose(x[0, 2:], 0.5 * x[0, 1:-1] - 0.2 * x[0, :-2]),
            ),
            error("range", lambda: ar_process(KEY, np.array([0.5]), 0), arg("length")),
            error("range", lambda: ar_process(KEY, np.array([0.5]), 5, batch=0), arg("batch")),
            error(
                "range",
                lambda: ar_process(KEY, np.array([0.5]), 5, noise_std=-1.0),
                arg("noise_std"),
            ),
            error("empty", lambda: ar_process(KEY, np.zeros(0), 5), arg("phi")),
        ],
    }
)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name, index, probe", probe_ids(REGISTRY), ids=lambda v: str(v)[:40])
def test_probe(name, index, probe):
    run_probe(probe)
