"""Bad-input probes of ``jaxsci.ssm`` (issue 11): every public name, a valid call with a float64 reference
check first, then shapes, dtypes, ranges, NaN/inf, empty arrays, magnitudes, lists, transforms and keys.

Sizes are tiny and shared (``H = 2`` channels, ``M = 2`` stored modes, ``L = 6`` steps) so compiled programs
are reused across probes. NaN in the inputs of the kernels, convolutions, scans and layers is a run-time
error naming the argument (``eqx.error_if``); the elementwise :func:`ssm.phi1` and the one-step recurrences
(:func:`ssm.s4d_step`, :func:`ssm.s5_step`, :func:`ssm.diagonal_scan`) propagate NaN as documented in their
docstrings, which the ``nonfinite`` probes of those names assert (an output mask, not a silent NaN).
"""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from badinputs import arg, error, ok, probe_ids, run_probe

from jaxsci import ssm

H, M, L = 2, 2, 6
KEY = jax.random.key(0)
RAW_KEY = jax.random.PRNGKey(0)
NAN = float("nan")
INF = float("inf")


# ------------------------------------------------------------------------------------------------ fixtures
def _params():
    rng = np.random.default_rng(0)
    A = -rng.uniform(0.2, 1.0, (H, M)) + 2j * rng.normal(size=(H, M))
    B = rng.normal(size=(H, M)) + 1j * rng.normal(size=(H, M))
    C = rng.normal(size=(H, M)) + 1j * rng.normal(size=(H, M))
    return A, B, C


A0, B0, C0 = _params()
A, B, C = (jnp.asarray(x) for x in (A0, B0, C0))
DT = jnp.array([0.1, 0.3])
U0 = np.random.default_rng(1).normal(size=(L, H))
U = jnp.asarray(U0)
D0 = np.array([0.5, -1.0])
D = jnp.asarray(D0)
LAM = jnp.array([-0.5 + 1.0j, -0.3 - 2.0j])  # S5: P = 2 modes
B5 = jnp.asarray(np.random.default_rng(2).normal(size=(2, H)) + 0j)
C5 = jnp.asarray(np.random.default_rng(3).normal(size=(H, 2)) + 0j)


def _set(x, value, index=(0, 0)):
    return jnp.asarray(x).at[index].set(value)


@functools.cache
def s4d_layer(bidirectional=False, dtype=None):
    return ssm.S4DLayer(H, 2 * M, bidirectional=bidirectional, dtype=dtype, key=KEY)


@functools.cache
def s5_layer(dtype=None):
    return ssm.S5Layer(H, 2 * M, dtype=dtype, key=KEY)


@functools.cache
def model(layer="s4d", pool="mean"):
    return ssm.SSMModel(
        H, 1, d_model=2, n_layers=1, state_size=2 * M, layer=layer, pool=pool, key=KEY
    )


@eqx.filter_jit
def call(module, x, key=None):
    """``module(x, key=key)`` compiled once per module and input shape (eager calls dispatch op by op)."""
    return module(x, key=key)


@eqx.filter_jit
def vcall(module, xs):
    return jax.vmap(module)(xs)


# ---------------------------------------------------------------------------------- float64 references
def ref_discretize(A, B, dt, method="zoh"):
    A, B = np.asarray(A, complex), np.asarray(B, complex)
    dt = np.asarray(dt, float)
    dt = dt[..., None] if dt.ndim == A.ndim - 1 else dt
    if method == "zoh":
        return np.exp(dt * A), (np.exp(dt * A) - 1) / A * B
    return (1 + dt * A / 2) / (1 - dt * A / 2), dt * B / (1 - dt * A / 2)


def ref_kernel(A, B, C, dt, L, method="zoh"):
    Ab, Bb = ref_discretize(A, B, dt, method)
    l = np.arange(L)
    return 2 * np.real(np.einsum("hn,hnl->hl", np.asarray(C) * Bb, Ab[..., None] ** l))


def ref_dense(a, b, c, dt, L, method="zoh"):
    """``sum_n c_n Bbar_n Abar_n^l`` of one diagonal (complex) system: the dense kernel of diag(a)."""
    Ab, Bb = ref_discretize(a, b, dt, method)
    return np.array([np.sum(c * Bb * Ab**l) for l in range(L)])


def ref_conv(u, K, D=None):
    u, K = np.asarray(u, float), np.asarray(K, float)
    Lu = u.shape[0]
    y = np.zeros_like(u)
    for t in range(Lu):
        for s in range(t + 1):
            y[t] += K[:, t - s] * u[s]
    if D is not None:
        y = y + np.asarray(D) * u
    return y


def ref_vandermonde(W, z, L):
    W, z = np.asarray(W, complex), np.asarray(z, complex)
    return 2 * np.real(np.einsum("...n,...nl->...l", W, np.exp(z[..., None] * np.arange(L))))


def _np(out):
    o = np.asarray(out)
    return o if o.dtype.kind in "fc" else o.astype(float)  # bfloat16 (kind "V"), ints, bools


def close(ref, rtol=1e-9, atol=1e-12):
    def check(out):
        np.testing.assert_allclose(_np(out), ref, rtol, atol)

    return check


def close_first(ref, rtol=1e-9, atol=1e-12):
    return lambda out: close(ref, rtol, atol)(out[0])


K0 = ref_kernel(A0, B0, C0, np.asarray(DT), L)
Y0 = ref_conv(U0, K0, D0)


def ref_s5(Lam, Bm, Cm, dt, u, D=None, conj_sym=True):
    Lam = np.asarray(Lam, complex)
    Lb = np.exp(dt * Lam)
    Bb = ((Lb - 1) / Lam)[:, None] * np.asarray(Bm)
    x = np.zeros(Lam.shape, complex)
    ys = []
    for t in range(u.shape[0]):
        x = Lb * x + Bb @ u[t]
        y = (2 if conj_sym else 1) * np.real(np.asarray(Cm) @ x)
        ys.append(y + (0 if D is None else np.asarray(D) * u[t]))
    return np.array(ys)


Y5 = ref_s5(LAM, B5, C5, 0.1, U0, D0)


def layer_ref(layer, u):
    A_, B_, C_, dt = (np.asarray(x) for x in layer.ssm())
    return ref_conv(u, ref_kernel(A_, B_, C_, dt, u.shape[0], layer.method), np.asarray(layer.D))


def s5_layer_ref(layer, u):
    Lam, Bm, Cm, dt = (np.asarray(x) for x in layer.ssm())
    Lb = np.exp(dt * Lam)
    Bb = ((Lb - 1) / Lam)[:, None] * Bm
    x = np.zeros(Lam.shape, complex)
    ys = []
    for t in range(u.shape[0]):
        x = Lb * x + Bb @ u[t]
        ys.append(2 * np.real(Cm @ x) + np.asarray(layer.D) * u[t])
    return np.array(ys)


def close_pair(refs, rtol=1e-9, atol=1e-12):
    def check(out):
        for o, r in zip(out, refs, strict=True):
            close(r, rtol, atol)(o)

    return check


def ptd_check(p):
    """``V`` diagonalises ``A + E`` and the kept modes are eigenvalues of it."""
    AE = ssm.hippo("legs", 4)[0] + p.E
    T = np.linalg.solve(p.V, AE @ p.V)
    w = np.linalg.eigvals(AE)
    return (
        np.allclose(T - np.diag(np.diag(T)), 0, atol=1e-8)
        and all(np.min(np.abs(w - lam)) < 1e-8 for lam in p.Lambda)
        and p.Lambda.shape == (2,)
    )


def mask_check(expected):
    """``out`` is a boolean mask that must equal ``expected`` (documented NaN propagation)."""

    def check(out):
        np.testing.assert_array_equal(np.asarray(out), np.asarray(expected))

    return check


# ------------------------------------------------------------------------------------------------- probes
def _scan_nan_mask():
    Ab, Bb = ssm.discretize(A, B, DT)
    y, x = ssm.s4d_step(Ab, Bb, C, jnp.zeros((H, M), complex), U[0], _set(D, NAN, 0))
    return jnp.isnan(y), jnp.isnan(x)


REGISTRY = {
    # -------------------------------------------------------------------------------- initialisations
    "hippo": [
        ok(
            "valid",
            lambda: ssm.hippo("legs", 3)[0],
            check=close(
                np.array(
                    [
                        [-1, 0, 0],
                        [-np.sqrt(3), -2, 0],
                        [-np.sqrt(5), -np.sqrt(15), -3],
                    ]
                )
            ),
        ),
        ok("valid", lambda: ssm.hippo("legt", 4)),
        ok("valid", lambda: ssm.hippo("fout", 4), check=lambda o: o[0].shape == (4, 4)),
        error("range", lambda: ssm.hippo("legs", 0), arg("N")),
        error("range", lambda: ssm.hippo("legs", -3), arg("N")),
        error("range", lambda: ssm.hippo("fout", 3), arg("N")),
        error("range", lambda: ssm.hippo("legendre", 4), arg("measure")),
        error("dtype", lambda: ssm.hippo("legs", 4.0), arg("N")),
        error("dtype", lambda: ssm.hippo("legs", True), arg("N")),
        error("dtype", lambda: ssm.hippo("legs", "4"), arg("N")),
        error("dtype", lambda: ssm.hippo(1, 4), arg("measure")),
        error("dtype", lambda: ssm.hippo("legs", np.int64(2)), arg("N")),
        error("transform", lambda: jax.jit(ssm.hippo, static_argnums=0)("legs", 4), arg("N")),
    ],
    "hippo_nplr": [
        ok(
            "valid",
            lambda: ssm.hippo_nplr("legs", 4),
            check=lambda d: (
                np.allclose(d.Lambda.real, -0.5)
                and np.allclose(
                    d.V @ np.diag(d.Lambda) @ d.V.conj().T
                    + (d.V @ np.diag(d.Lambda) @ d.V.conj().T).conj(),
                    d.S,
                )
            ),
        ),
        ok("valid", lambda: ssm.hippo_nplr("fout", 4)),
        error("range", lambda: ssm.hippo_nplr("legs", 3), arg("N")),
        error("range", lambda: ssm.hippo_nplr("legs", 0), arg("N")),
        error("range", lambda: ssm.hippo_nplr("foo", 4), arg("measure")),
        error("dtype", lambda: ssm.hippo_nplr("legs", 4.0), arg("N")),
    ],
    "NPLR": [
        ok(
            "valid",
            lambda: ssm.hippo_nplr("legt", 4),
            check=lambda d: isinstance(d, ssm.NPLR) and d.B.shape == (2,) and d.P.shape == (2, 2),
        ),
    ],
    "s4d_init": [
        ok(
            "valid",
            lambda: ssm.s4d_init("lin", 4),
            check=lambda o: np.allclose(o[0], [-0.5, -0.5 + 1j * np.pi]) and np.allclose(o[1], 1),
        ),
        ok(
            "valid",
            lambda: ssm.s4d_init("inv", 4, real=0.25),
            check=lambda o: np.allclose(
                o[0], -0.25 + 1j * (4 / np.pi) * (4 / np.array([1, 3]) - 1)
            ),
        ),
        ok("valid", lambda: ssm.s4d_init("legs", 4), check=lambda o: np.all(o[0].real < 0)),
        ok("valid", lambda: ssm.s4d_init("real", 4), check=lambda o: np.allclose(o[0], [-1, -2])),
        ok("valid", lambda: ssm.s4d_init("legs", 4, b_clip=None)),
        error("range", lambda: ssm.s4d_init("lin", 4, real=-0.5), arg("real")),
        error("range", lambda: ssm.s4d_init("inv", 4, real=0.0), arg("real")),
        error("nonfinite", lambda: ssm.s4d_init("lin", 4, real=NAN), arg("real")),
        error("nonfinite", lambda: ssm.s4d_init("lin", 4, real=INF), arg("real")),
        error("dtype", lambda: ssm.s4d_init("lin", 4, real="0.5"), arg("real")),
        error("dtype", lambda: ssm.s4d_init("lin", 4, real=0.5j), arg("real")),
        error("range", lambda: ssm.s4d_init("lin", 3), arg("N")),
        error("range", lambda: ssm.s4d_init("lin", 0), arg("N")),
        error("range", lambda: ssm.s4d_init("lin", -2), arg("N")),
        error("range", lambda: ssm.s4d_init("legt", 4), arg("kind")),
        error("range", lambda: ssm.s4d_init("legs", 4, b_clip=-1.0), arg("b_clip")),
        error("nonfinite", lambda: ssm.s4d_init("legs", 4, b_clip=NAN), arg("b_clip")),
        error("dtype", lambda: ssm.s4d_init("lin", 4.0), arg("N")),
        ok("magnitude", lambda: ssm.s4d_init("lin", 4, real=1e-300)),
        ok("magnitude", lambda: ssm.s4d_init("lin", 4, real=1e300)),
    ],
    "s5_init": [
        ok(
            "valid",
            lambda: ssm.s5_init(8, blocks=2),
            check=lambda o: (
                o[1].shape == (8, 4)
                and np.allclose(o[1].conj().T @ o[1], np.eye(4))
                and np.allclose(o[0].real, -0.5)
            ),
        ),
        ok("valid", lambda: ssm.s5_init(4, conj_sym=False), check=lambda o: o[1].shape == (4, 4)),
        error("range", lambda: ssm.s5_init(3), arg("P")),
        error("range", lambda: ssm.s5_init(0), arg("P")),
        error("range", lambda: ssm.s5_init(4, blocks=0), arg("blocks")),
        error("range", lambda: ssm.s5_init(4, blocks=3), arg("blocks")),
        error("dtype", lambda: ssm.s5_init(4.0), arg("P")),
        error("dtype", lambda: ssm.s5_init(4, blocks=1.5), arg("blocks")),
    ],
    "ptd_legs": [
        ok(
            "valid",
            lambda: ssm.ptd_legs(4, steps=2),
            check=ptd_check,
        ),
        error("range", lambda: ssm.ptd_legs(3), arg("N")),
        error("range", lambda: ssm.ptd_legs(0), arg("N")),
        error("range", lambda: ssm.ptd_legs(4, gamma=-1.0), arg("gamma")),
        error("nonfinite", lambda: ssm.ptd_legs(4, gamma=NAN), arg("gamma")),
        error("range", lambda: ssm.ptd_legs(4, steps=-1), arg("steps")),
        error("range", lambda: ssm.ptd_legs(4, steps=2, lr=-0.1), arg("lr")),
        error("range", lambda: ssm.ptd_legs(4, steps=2, lr=0.0), arg("lr")),
        error("nonfinite", lambda: ssm.ptd_legs(4, steps=2, lr=NAN), arg("lr")),
        error("dtype", lambda: ssm.ptd_legs(4, steps=2, lr="0.1"), arg("lr")),
        error("dtype", lambda: ssm.ptd_legs(4, steps=2.5), arg("steps")),
        error("dtype", lambda: ssm.ptd_legs(4, steps=2, seed="a"), arg("seed")),
    ],
    "PTD": [
        ok(
            "valid",
            lambda: ssm.ptd_legs(4, steps=0),
            check=lambda p: isinstance(p, ssm.PTD) and p.cond_V >= 1 and p.norm_E >= 0,
        ),
    ],
    "dense_ssm_kernel": [
        ok(
            "valid",
            lambda: ssm.dense_ssm_kernel(np.diag(A0[0]), B0[0], C0[0], 0.1, L),
            check=close(ref_dense(A0[0], B0[0], C0[0], 0.1, L), rtol=1e-12),
        ),
        ok(
            "valid",
            lambda: ssm.dense_ssm_kernel(np.diag(A0[0]), B0[0], C0[0], 0.1, L, method="bilinear"),
            check=close(ref_dense(A0[0], B0[0], C0[0], 0.1, L, "bilinear"), rtol=1e-12),
        ),
        error(
            "shape",
            lambda: ssm.dense_ssm_kernel(np.ones((2, 3)), np.ones(2), np.ones(2), 0.1, 4),
            arg("A"),
        ),
        error(
            "shape",
            lambda: ssm.dense_ssm_kernel(-np.eye(2), np.ones(3), np.ones(2), 0.1, 4),
            arg("B"),
        ),
        error(
            "shape",
            lambda: ssm.dense_ssm_kernel(-np.eye(2), np.ones(2), np.ones(3), 0.1, 4),
            arg("C"),
        ),
        error(
            "shape",
            lambda: ssm.dense_ssm_kernel(-np.ones(2), np.ones(2), np.ones(2), 0.1, 4),
            arg("A"),
        ),
        error(
            "range",
            lambda: ssm.dense_ssm_kernel(-np.eye(2), np.ones(2), np.ones(2), -0.1, 4),
            arg("dt"),
        ),
        error(
            "range",
            lambda: ssm.dense_ssm_kernel(-np.eye(2), np.ones(2), np.ones(2), 0.1, 0),
            arg("L"),
        ),
        error(
            "range",
            lambda: ssm.dense_ssm_kernel(-np.eye(2), np.ones(2), np.ones(2), 0.1, 4, "euler"),
            arg("method"),
        ),
        error(
            "nonfinite",
            lambda: ssm.dense_ssm_kernel(-np.eye(2), np.ones(2), np.ones(2), NAN, 4),
            arg("dt"),
        ),
        error(
            "nonfinite",
            lambda: ssm.dense_ssm_kernel(np.diag([NAN, -1.0]), np.ones(2), np.ones(2), 0.1, 4),
            arg("A"),
        ),
        error(
            "nonfinite",
            lambda: ssm.dense_ssm_kernel(-np.eye(2), np.array([INF, 1.0]), np.ones(2), 0.1, 4),
            arg("B"),
        ),
        error(
            "empty",
            lambda: ssm.dense_ssm_kernel(np.zeros((0, 0)), np.zeros(0), np.zeros(0), 0.1, 4),
            arg("A"),
        ),
        error(
            "dtype",
            lambda: ssm.dense_ssm_kernel(np.array([["a"]]), np.ones(1), np.ones(1), 0.1, 4),
            arg("A"),
        ),
        error("list", lambda: ssm.dense_ssm_kernel([[-1.0]], [1.0], [1.0], 0.1, 4), arg("A")),
        ok(
            "magnitude",
            lambda: ssm.dense_ssm_kernel(-np.eye(1), np.ones(1), np.ones(1), 1e-300, 3),
            check=close(np.full(3, 1e-300), rtol=1e-12, atol=0),
        ),
        error(
            "magnitude",
            lambda: ssm.dense_ssm_kernel(np.eye(1) * 1e3, np.ones(1), np.ones(1), 1.0, 3),
            arg("A"),
        ),
    ],
    "init_dt": [
        ok(
            "valid",
            lambda: ssm.init_dt(KEY, 64, 1e-3, 1e-1),
            check=lambda o: o.shape == (64,) and np.all((o >= 1e-3) & (o <= 1e-1)),
        ),
        ok("valid", lambda: ssm.init_dt(KEY, (2, 3)), check=lambda o: o.shape == (2, 3)),
        ok(
            "valid",
            lambda: ssm.init_dt(KEY, 3, dtype=jnp.float32),
            check=lambda o: o.dtype == jnp.float32,
        ),
        error("range", lambda: ssm.init_dt(KEY, 3, -1e-3), arg("dt_min")),
        error("range", lambda: ssm.init_dt(KEY, 3, 0.5, 0.1), arg("dt_min")),
        error("range", lambda: ssm.init_dt(KEY, 0), arg("H")),
        error("range", lambda: ssm.init_dt(KEY, (2, 0)), arg("H")),
        error("nonfinite", lambda: ssm.init_dt(KEY, 3, NAN), arg("dt_min")),
        error("nonfinite", lambda: ssm.init_dt(KEY, 3, 1e-3, INF), arg("dt_max")),
        error("dtype", lambda: ssm.init_dt(KEY, 3, "0.001"), arg("dt_min")),
        error("dtype", lambda: ssm.init_dt(KEY, 3.0), arg("H")),
        error("dtype", lambda: ssm.init_dt(KEY, 3, dtype=jnp.int32), arg("dtype")),
        error("list", lambda: ssm.init_dt(KEY, [2, 3]), arg("H")),
        ok("magnitude", lambda: ssm.init_dt(KEY, 3, 1e-300, 1e-299), check=lambda o: np.all(o > 0)),
        error(
            "magnitude", lambda: ssm.init_dt(KEY, 3, 1e-3, 1e300, dtype=jnp.float32), arg("dt_max")
        ),
        ok(
            "transform",
            lambda: eqx.filter_vmap(lambda k: ssm.init_dt(k, 3))(jax.random.split(KEY, 2)),
            check=lambda o: o.shape == (2, 3) and not np.allclose(o[0], o[1]),
        ),
        ok("transform", lambda: jax.jit(lambda k: ssm.init_dt(k, 3))(KEY)),
        error("key", lambda: ssm.init_dt(jax.random.split(KEY, 3), 4), arg("key")),
        ok("key", lambda: ssm.init_dt(RAW_KEY, 4)),
        error("key", lambda: ssm.init_dt(jax.random.split(RAW_KEY, 2), 4), arg("key")),
        error("key", lambda: ssm.init_dt(None, 4), arg("key")),
        error("key", lambda: ssm.init_dt(jnp.zeros(3, jnp.uint32), 4), arg("key")),
    ],
    # ------------------------------------------------------------------------- discretisation
    "phi1": [
        ok(
            "valid",
            lambda: ssm.phi1(jnp.array([0.0, 1e-6, 0.5, -2.0, 1 + 2j])),
            check=close(
                np.array([1.0, *[np.expm1(x) / x for x in (1e-6, 0.5, -2.0, 1 + 2j)]]), rtol=1e-12
            ),
        ),
        ok(
            "dtype",
            lambda: ssm.phi1(jnp.array([0, 1, 2])),
            check=close(np.array([1, np.e - 1, (np.e**2 - 1) / 2])),
        ),
        ok(
            "dtype",
            lambda: ssm.phi1(jnp.array([0.0, 0.5], jnp.float16)),
            check=lambda o: (
                o.dtype == jnp.complex64 and np.allclose(o, [1, np.expm1(0.5) / 0.5], rtol=1e-3)
            ),
        ),
        ok(
            "dtype",
            lambda: ssm.phi1(jnp.array([0.5], jnp.bfloat16)),
            check=lambda o: o.dtype == jnp.complex64,
        ),
        error("dtype", lambda: ssm.phi1("a"), arg("x")),
        error("dtype", lambda: ssm.phi1(jnp.array([True])), arg("x")),
        ok("empty", lambda: ssm.phi1(jnp.zeros(0)), check=lambda o: o.shape == (0,)),
        error("list", lambda: ssm.phi1([0.0, 1.0]), arg("x")),
        ok(
            "nonfinite",  # documented: elementwise, NaN propagates to its own entry only
            lambda: jnp.isnan(ssm.phi1(jnp.array([NAN, 1.0]))),
            check=mask_check([True, False]),
        ),
        ok(
            "magnitude",
            lambda: ssm.phi1(jnp.array([-1e300, 1e-300])),
            check=close(np.array([1e-300, 1.0]), rtol=1e-12, atol=0),
        ),
        ok(
            "magnitude",  # overflow: +inf, as exp itself; the imaginary part stays 0 (no NaN)
            lambda: (
                jnp.isposinf(jnp.real(ssm.phi1(jnp.array([1e300, 1e30])))),
                jnp.imag(ssm.phi1(jnp.array([1e300, 1e30]))),
            ),
            check=lambda o: np.all(o[0]) and np.all(o[1] == 0),
        ),
        ok(
            "magnitude",
            lambda: ssm.phi1(jnp.array([-1e30], jnp.float32)),
            check=close(np.array([1e-30]), rtol=1e-6, atol=0),
        ),
        ok(
            "transform",
            lambda: jax.grad(lambda x: jnp.real(ssm.phi1(x)))(0.0),
            check=close(np.array(0.5), rtol=1e-12),
        ),
        ok("transform", lambda: jax.vmap(ssm.phi1)(jnp.array([0.0, 1.0]))),
    ],
    "discretize": [
        ok(
            "valid",
            lambda: ssm.discretize(A, B, DT),
            check=close_pair(ref_discretize(A0, B0, np.asarray(DT))),
        ),
        ok(
            "valid",
            lambda: ssm.discretize(A, B, DT, "bilinear")[1],
            check=close(ref_discretize(A0, B0, np.asarray(DT), "bilinear")[1]),
        ),
        ok(
            "valid",
            lambda: ssm.discretize(A, B, 0.1)[1],
            check=close(ref_discretize(A0, B0, 0.1)[1]),
        ),
        ok(
            "valid",
            lambda: ssm.discretize(A, B, jnp.full((H, M), 0.1))[1],
            check=close(ref_discretize(A0, B0, 0.1)[1]),
        ),
        error("range", lambda: ssm.discretize(A, B, DT, "euler"), arg("method")),
        error("shape", lambda: ssm.discretize(A, B[:, :1], DT), arg("B")),
        error("shape", lambda: ssm.discretize(A[0, 0], B[0, 0], DT), arg("A")),
        error("shape", lambda: ssm.discretize(A, B, jnp.ones(3)), arg("dt")),
        error("range", lambda: ssm.discretize(A, B, -0.1), arg("dt")),
        error("range", lambda: ssm.discretize(A, B, 0.0), arg("dt")),
        error("range", lambda: ssm.discretize(A, B, jnp.array([0.1, -0.1])), arg("dt")),
        error("nonfinite", lambda: ssm.discretize(A, B, jnp.array([NAN, 0.1])), arg("dt")),
        error("nonfinite", lambda: ssm.discretize(A, B, INF), arg("dt")),
        error("nonfinite", lambda: ssm.discretize(_set(A, NAN), B, DT), arg("A")),
        error("nonfinite", lambda: ssm.discretize(A, _set(B, INF), DT), arg("B")),
        error(
            "range",
            lambda: ssm.discretize(jnp.array([2.0 + 0j]), jnp.ones(1), 1.0, "bilinear"),
            arg("A"),
        ),
        error("dtype", lambda: ssm.discretize(A, B, 0.1j), arg("dt")),
        error("dtype", lambda: ssm.discretize(A, B, "0.1"), arg("dt")),
        ok(
            "dtype",
            lambda: ssm.discretize(jnp.array([-1, -2]), jnp.array([1, 1]), 0.5)[1],
            check=close(ref_discretize(np.array([-1, -2]), np.ones(2), 0.5)[1]),
        ),
        ok(
            "dtype",
            lambda: ssm.discretize(
                A.astype(jnp.complex64), B.astype(jnp.complex64), DT.astype(jnp.float16)
            )[1],
            check=lambda o: (
                o.dtype == jnp.complex64
                and np.allclose(o, ref_discretize(A0, B0, np.asarray(DT))[1], rtol=1e-3)
            ),
        ),
        ok(
            "empty",
            lambda: ssm.discretize(jnp.ones((2, 0)), jnp.ones((2, 0)), 0.1),
            check=lambda o: o[0].shape == (2, 0),
        ),
        error("list", lambda: ssm.discretize(A0.tolist(), B0.tolist(), 0.1), arg("A")),
        ok("magnitude", lambda: ssm.discretize(A, B, 1e300)[1], check=close(-B0 / A0, rtol=1e-9)),
        ok(
            "magnitude",
            lambda: ssm.discretize(A, B, 1e-300)[1],
            check=close(1e-300 * B0, rtol=1e-9, atol=0),
        ),
        ok("magnitude", lambda: ssm.discretize(A * 1e-300, B, 1.0)[1], check=close(B0, rtol=1e-9)),
        ok("transform", lambda: jax.jit(ssm.discretize, static_argnums=3)(A, B, DT, "zoh")),
        error(
            "transform",
            lambda: jax.vmap(lambda d: ssm.discretize(A, B, d))(jnp.array([0.1, -0.1])),
            arg("dt"),
        ),
        error(
            "transform",
            lambda: jax.vmap(lambda d: ssm.discretize(A, B, d))(jnp.array([0.1, NAN])),
            arg("dt"),
        ),
        ok(
            "transform",
            lambda: jax.grad(lambda d: jnp.sum(jnp.abs(ssm.discretize(A, B, d)[1]) ** 2))(0.1),
        ),
    ],
    "discretize_s5": [
        ok(
            "valid",
            lambda: ssm.discretize_s5(LAM, B5, 0.1)[1],
            check=close(
                ((np.exp(0.1 * np.asarray(LAM)) - 1) / np.asarray(LAM))[:, None] * np.asarray(B5)
            ),
        ),
        ok("valid", lambda: ssm.discretize_s5(LAM, B5, jnp.array([0.1, 0.2]), "bilinear")),
        error("shape", lambda: ssm.discretize_s5(LAM[None], B5, 0.1), arg("Lambda")),
        error("shape", lambda: ssm.discretize_s5(LAM, B5[:1], 0.1), arg("B")),
        error("shape", lambda: ssm.discretize_s5(LAM, B5, jnp.ones(3)), arg("dt")),
        error("range", lambda: ssm.discretize_s5(LAM, B5, -0.1), arg("dt")),
        error("range", lambda: ssm.discretize_s5(LAM, B5, 0.1, "foh"), arg("method")),
        error("nonfinite", lambda: ssm.discretize_s5(LAM, B5, jnp.array(NAN)), arg("dt")),
        error("nonfinite", lambda: ssm.discretize_s5(_set(LAM, NAN, 0), B5, 0.1), arg("Lambda")),
        error("nonfinite", lambda: ssm.discretize_s5(LAM, _set(B5, INF), 0.1), arg("B")),
        error("dtype", lambda: ssm.discretize_s5(LAM, B5, 0.1j), arg("dt")),
        error("list", lambda: ssm.discretize_s5([-0.5, -1.0], [[1.0], [1.0]], 0.1), arg("Lambda")),
        ok(
            "empty",
            lambda: ssm.discretize_s5(jnp.zeros(0, complex), jnp.zeros((0, 2)), 0.1),
            check=lambda o: o[1].shape == (0, 2),
        ),
        ok("magnitude", lambda: ssm.discretize_s5(LAM, B5 * 1e300, 0.1)),
        error(
            "transform",
            lambda: jax.vmap(lambda d: ssm.discretize_s5(LAM, B5, d))(jnp.array([0.1, -1.0])),
            arg("dt"),
        ),
    ],
    # ----------------------------------------------------------------------------------- kernels
    "vandermonde": [
        ok(
            "valid",
            lambda: ssm.vandermonde(C * B, DT[:, None] * A, L),
            check=close(ref_vandermonde(C0 * B0, np.asarray(DT)[:, None] * A0, L)),
        ),
        ok(
            "valid",
            lambda: ssm.vandermonde(C * B, DT[:, None] * A, 13, chunk=2, tile_rows=2),
            check=close(ref_vandermonde(C0 * B0, np.asarray(DT)[:, None] * A0, 13)),
        ),
        ok(
            "valid",
            lambda: ssm.vandermonde(jnp.ones(3), -jnp.ones(3), 4),
            check=close(ref_vandermonde(np.ones(3), -np.ones(3), 4)),
        ),
        error("shape", lambda: ssm.vandermonde(jnp.ones((2, 3)), jnp.ones((2, 4)), L), arg("z")),
        error("shape", lambda: ssm.vandermonde(jnp.array(1.0), jnp.array(1.0), L), arg("W")),
        error("range", lambda: ssm.vandermonde(C, A, 0), arg("L")),
        error("range", lambda: ssm.vandermonde(C, A, L, chunk=0), arg("chunk")),
        error("range", lambda: ssm.vandermonde(C, A, L, tile_rows=-1), arg("tile_rows")),
        error("dtype", lambda: ssm.vandermonde(C, A, 6.0), arg("L")),
        error(
            "dtype",
            lambda: ssm.vandermonde(jnp.ones((2, 3), bool), jnp.ones((2, 3), bool), L),
            arg("W"),
        ),
        error("dtype", lambda: ssm.vandermonde("ab", "cd", L), arg("W")),
        ok(
            "dtype",
            lambda: ssm.vandermonde(
                (C * B).astype(jnp.complex64), (DT[:, None] * A).astype(jnp.complex64), L
            ),
            check=lambda o: (
                o.dtype == jnp.float32
                and np.allclose(
                    o,
                    ref_vandermonde(C0 * B0, np.asarray(DT)[:, None] * A0, L),
                    rtol=1e-4,
                    atol=1e-4,
                )
            ),
        ),
        ok(
            "dtype",
            lambda: ssm.vandermonde(
                jnp.ones((2, 3), jnp.float16),
                -0.1 * jnp.arange(1, 7, dtype=jnp.float16).reshape(2, 3),
                40,
            ),
            check=lambda o: (
                o.dtype == jnp.float32
                and np.allclose(
                    o,
                    ref_vandermonde(
                        np.ones((2, 3)),
                        np.asarray(-0.1 * jnp.arange(1, 7, dtype=jnp.float16), float).reshape(2, 3),
                        40,
                    ),
                    rtol=1e-5,
                    atol=1e-5,
                )
            ),
        ),
        ok(
            "dtype",
            lambda: ssm.vandermonde(
                jnp.ones((2, 3), jnp.bfloat16), -0.125 * jnp.ones((2, 3), jnp.bfloat16), 40
            ),
            check=lambda o: (
                o.dtype == jnp.float32
                and np.allclose(
                    o,
                    ref_vandermonde(np.ones((2, 3)), -0.125 * np.ones((2, 3)), 40),
                    rtol=1e-5,
                    atol=1e-5,
                )
            ),
        ),
        ok(
            "dtype",
            lambda: ssm.vandermonde(jnp.ones(2, int), -jnp.ones(2, int), 3),
            check=close(ref_vandermonde(np.ones(2), -np.ones(2), 3)),
        ),
        error("empty", lambda: ssm.vandermonde(jnp.ones((2, 0)), jnp.ones((2, 0)), L), arg("W")),
        ok(
            "empty",
            lambda: ssm.vandermonde(jnp.ones((0, 3)), jnp.ones((0, 3)), L),
            check=lambda o: o.shape == (0, L),
        ),
        error("list", lambda: ssm.vandermonde([[1.0, 2.0]], [[-1.0, -2.0]], 3), arg("W")),
        error("nonfinite", lambda: ssm.vandermonde(_set(C, NAN), A, L), arg("W")),
        error("nonfinite", lambda: ssm.vandermonde(C, _set(A, INF), L), arg("z")),
        error("magnitude", lambda: ssm.vandermonde(C, A + 1e3, L), arg("z")),
        ok(
            "magnitude",
            lambda: ssm.vandermonde(C * 1e300, A, L),
            check=close(ref_vandermonde(C0 * 1e300, A0, L), rtol=1e-9, atol=0),
        ),
        ok(
            "magnitude",
            lambda: ssm.vandermonde(C * 1e-300, A, L),
            check=close(ref_vandermonde(C0 * 1e-300, A0, L), rtol=1e-9, atol=0),
        ),
        ok(
            "magnitude",
            lambda: ssm.vandermonde(C, A - 1e300, L),
            check=close(ref_vandermonde(C0, A0 - 1e300, L), rtol=1e-9, atol=1e-12),
        ),
        ok(
            "magnitude",
            lambda: ssm.vandermonde(jnp.ones(2, jnp.float32) * 1e30, -jnp.ones(2, jnp.float32), 3),
            check=close(ref_vandermonde(np.ones(2) * 1e30, -np.ones(2), 3), rtol=1e-5, atol=0),
        ),
        ok(
            "transform",
            lambda: jax.jit(ssm.vandermonde, static_argnums=2)(C * B, A, L),
            check=close(ref_vandermonde(C0 * B0, A0, L)),
        ),
        error(
            "transform",
            lambda: jax.vmap(lambda w: ssm.vandermonde(w, A, L))(jnp.stack([C, _set(C, NAN)])),
            arg("W"),
        ),
        ok(
            "transform",
            lambda: jax.grad(lambda z: jnp.sum(ssm.vandermonde(C, z, L)), holomorphic=False)(
                A.real
            ),
        ),
    ],
    "vandermonde_naive": [
        ok(
            "valid",
            lambda: ssm.vandermonde_naive(C * B, A, L),
            check=close(ref_vandermonde(C0 * B0, A0, L)),
        ),
        error("shape", lambda: ssm.vandermonde_naive(jnp.ones(2), jnp.ones(3), L), arg("z")),
        error("shape", lambda: ssm.vandermonde_naive(jnp.array(1.0), jnp.array(1.0), L), arg("W")),
        error("range", lambda: ssm.vandermonde_naive(C, A, 0), arg("L")),
        error(
            "dtype",
            lambda: ssm.vandermonde_naive(jnp.ones(2, bool), jnp.ones(2, bool), L),
            arg("W"),
        ),
        error("nonfinite", lambda: ssm.vandermonde_naive(_set(C, NAN), A, L), arg("W")),
        error("magnitude", lambda: ssm.vandermonde_naive(C, A + 1e3, L), arg("z")),
        error("list", lambda: ssm.vandermonde_naive([1.0], [-1.0], 3), arg("W")),
        error(
            "empty", lambda: ssm.vandermonde_naive(jnp.ones((2, 0)), jnp.ones((2, 0)), L), arg("W")
        ),
        ok(
            "dtype",
            lambda: ssm.vandermonde_naive(
                jnp.ones(3, jnp.float16), -0.125 * jnp.ones(3, jnp.float16), 40
            ),
            check=lambda o: (
                o.dtype == jnp.float32
                and np.allclose(
                    o, ref_vandermonde(np.ones(3), -0.125 * np.ones(3), 40), rtol=1e-5, atol=1e-5
                )
            ),
        ),
    ],
    "vandermonde_split": [
        ok(
            "valid",
            lambda: ssm.vandermonde_split(jnp.real(C), jnp.imag(C), jnp.real(A), jnp.imag(A), L),
            check=close(ref_vandermonde(C0, A0, L)),
        ),
        error(
            "dtype",
            lambda: ssm.vandermonde_split(C, jnp.imag(C), jnp.real(A), jnp.imag(A), L),
            arg("W_re"),
        ),
        error(
            "shape",
            lambda: ssm.vandermonde_split(
                jnp.real(C), jnp.imag(C)[:, :1], jnp.real(A), jnp.imag(A), L
            ),
            arg("W_im"),
        ),
        error(
            "range",
            lambda: ssm.vandermonde_split(jnp.real(C), jnp.imag(C), jnp.real(A), jnp.imag(A), -1),
            arg("L"),
        ),
        error(
            "nonfinite",
            lambda: ssm.vandermonde_split(
                jnp.real(C), jnp.imag(C), _set(jnp.real(A), NAN), jnp.imag(A), L
            ),
            arg("z_re"),
        ),
        error("empty", lambda: ssm.vandermonde_split(*(jnp.ones((2, 0)),) * 4, L), arg("W_re")),
        error("list", lambda: ssm.vandermonde_split([1.0], [0.0], [-1.0], [0.0], 3), arg("W_re")),
        ok(
            "dtype",
            lambda: ssm.vandermonde_split(
                *(jnp.ones(2, jnp.float16),) * 2,
                -jnp.ones(2, jnp.float16),
                jnp.zeros(2, jnp.float16),
                3,
            ),
            check=lambda o: o.dtype == jnp.float32,
        ),
    ],
    "s4d_kernel": [
        ok("valid", lambda: ssm.s4d_kernel(A, B, C, DT, L), check=close(K0)),
        ok(
            "valid",
            lambda: ssm.s4d_kernel(A, B, C, DT[:, None], L, method="bilinear"),
            check=close(ref_kernel(A0, B0, C0, np.asarray(DT), L, "bilinear")),
        ),
        ok(
            "valid",
            lambda: ssm.s4d_kernel(A, B, C, 0.1, L),
            check=close(ref_kernel(A0, B0, C0, 0.1, L)),
        ),
        ok(
            "valid",
            lambda: ssm.s4d_kernel(A, B, C, jnp.full((H, M), 0.1), L),
            check=close(ref_kernel(A0, B0, C0, 0.1, L)),
        ),
        error("range", lambda: ssm.s4d_kernel(A, B, C, DT, 0), arg("L")),
        error("dtype", lambda: ssm.s4d_kernel(A, B, C, DT, 6.0), arg("L")),
        error("range", lambda: ssm.s4d_kernel(A, B, C, DT, L, method="foh"), arg("method")),
        error("shape", lambda: ssm.s4d_kernel(A[0], B[0], C[0], 0.1, L), arg("A")),
        error("shape", lambda: ssm.s4d_kernel(A, B[:1], C, DT, L), arg("B")),
        error("shape", lambda: ssm.s4d_kernel(A, B, C[:, :1], DT, L), arg("C")),
        error("shape", lambda: ssm.s4d_kernel(A, B, C, jnp.ones(3), L), arg("dt")),
        error("range", lambda: ssm.s4d_kernel(A, B, C, -0.1, L), arg("dt")),
        error("range", lambda: ssm.s4d_kernel(A, B, C, jnp.array([0.1, 0.0]), L), arg("dt")),
        error("nonfinite", lambda: ssm.s4d_kernel(A, B, C, jnp.array([NAN, 0.1]), L), arg("dt")),
        error("nonfinite", lambda: ssm.s4d_kernel(_set(A, NAN), B, C, DT, L), arg("A")),
        error("nonfinite", lambda: ssm.s4d_kernel(A, _set(B, INF), C, DT, L), arg("B")),
        error("nonfinite", lambda: ssm.s4d_kernel(A, B, _set(C, NAN), DT, L), arg("C")),
        error("magnitude", lambda: ssm.s4d_kernel(A + 1e3, B, C, 1.0, L), arg("A")),
        ok(
            "magnitude",
            lambda: ssm.s4d_kernel(A, B, C, 1e-300, L),
            # Abar = 1 + O(1e-300), Bbar = 1e-300 B: K = 2 Re sum C B 1e-300 at every lag
            check=close(
                np.repeat(2e-300 * np.real(np.sum(C0 * B0, -1))[:, None], L, 1), rtol=1e-9, atol=0
            ),
        ),
        ok(
            "magnitude",
            lambda: ssm.s4d_kernel(A, B * 1e300, C, DT, L),
            check=close(ref_kernel(A0, B0 * 1e300, C0, np.asarray(DT), L), rtol=1e-9, atol=0),
        ),
        ok(
            "magnitude",
            lambda: ssm.s4d_kernel(A, B, C, 1e300, L),
            check=close(ref_kernel(A0, B0, C0, 1e300, L), rtol=1e-9, atol=1e-12),
        ),
        ok(
            "dtype",
            lambda: ssm.s4d_kernel(
                jnp.array([[-1, -2], [-3, -1]]),
                jnp.ones((H, M), int),
                jnp.ones((H, M), int),
                0.5,
                L,
            ),
            check=close(
                ref_kernel(np.array([[-1, -2], [-3, -1]]), np.ones((H, M)), np.ones((H, M)), 0.5, L)
            ),
        ),
        ok(
            "dtype",
            lambda: ssm.s4d_kernel(
                A.astype(jnp.complex64),
                B.astype(jnp.complex64),
                C.astype(jnp.complex64),
                DT.astype(jnp.float16),
                L,
            ),
            check=lambda o: (
                o.dtype == jnp.float32
                and np.allclose(
                    o,
                    ref_kernel(A0, B0, C0, np.asarray(DT.astype(jnp.float16), float), L),
                    rtol=1e-4,
                    atol=1e-4,
                )
            ),
        ),
        error("dtype", lambda: ssm.s4d_kernel(A, B, C, 0.1j, L), arg("dt")),
        error(
            "empty",
            lambda: ssm.s4d_kernel(jnp.ones((2, 0)), jnp.ones((2, 0)), jnp.ones((2, 0)), 0.1, L),
            arg("A"),
        ),
        ok(
            "empty",
            lambda: ssm.s4d_kernel(jnp.ones((0, 2)), jnp.ones((0, 2)), jnp.ones((0, 2)), 0.1, L),
            check=lambda o: o.shape == (0, L),
        ),
        error(
            "list", lambda: ssm.s4d_kernel(A0.tolist(), B0.tolist(), C0.tolist(), 0.1, L), arg("A")
        ),
        ok(
            "transform",
            lambda: jax.jit(ssm.s4d_kernel, static_argnums=4)(A, B, C, DT, L),
            check=close(K0),
        ),
        error(
            "transform",
            lambda: jax.vmap(lambda d: ssm.s4d_kernel(A, B, C, d, L))(jnp.array([0.1, -0.1])),
            arg("dt"),
        ),
        ok(
            "transform",
            lambda: jax.grad(lambda a: jnp.sum(ssm.s4d_kernel(a + 1j * A.imag, B, C, DT, L)))(
                A.real
            ),
        ),
    ],
    "fast_fft_length": [
        ok(
            "valid",
            lambda: [ssm.fast_fft_length(n) for n in (1, 7, 11, 97, 1000)],
            check=lambda o: o == [1, 8, 12, 100, 1000],
        ),
        ok(
            "valid",
            lambda: ssm.fast_fft_length(10**9 + 7),
            check=lambda o: o >= 10**9 + 7 and o < 1.1 * (10**9 + 7),
        ),
        error("range", lambda: ssm.fast_fft_length(0), arg("n")),
        error("range", lambda: ssm.fast_fft_length(-4), arg("n")),
        error("dtype", lambda: ssm.fast_fft_length(7.0), arg("n")),
        error("dtype", lambda: ssm.fast_fft_length(True), arg("n")),
        error("dtype", lambda: ssm.fast_fft_length("7"), arg("n")),
        error("dtype", lambda: ssm.fast_fft_length(jnp.array(7)), arg("n")),
        error("dtype", lambda: ssm.fast_fft_length(np.int32(7)), arg("n")),
        error("transform", lambda: jax.jit(ssm.fast_fft_length)(7), arg("n")),
    ],
    "causal_conv": [
        ok("valid", lambda: ssm.causal_conv(U, jnp.asarray(K0), D), check=close(Y0)),
        ok("valid", lambda: ssm.causal_conv(U, jnp.asarray(K0)), check=close(ref_conv(U0, K0))),
        ok(
            "valid",
            lambda: ssm.causal_conv(
                U, jnp.stack([jnp.asarray(K0), jnp.zeros((H, L))]), D, bidirectional=True
            ),
            check=close(Y0),
        ),
        ok(
            "valid",  # anti-causal half: K[1] = delta at lag -1 gives y[t] = u[t+1]
            lambda: ssm.causal_conv(
                U,
                jnp.stack([jnp.zeros((H, L)), jnp.zeros((H, L)).at[:, 0].set(1.0)]),
                bidirectional=True,
            ),
            check=close(np.concatenate([U0[1:], np.zeros((1, H))])),
        ),
        error("shape", lambda: ssm.causal_conv(U[:, 0], jnp.asarray(K0)), arg("u")),
        error("shape", lambda: ssm.causal_conv(U, jnp.asarray(K0)[:, :3]), arg("K")),
        error("shape", lambda: ssm.causal_conv(U, jnp.asarray(K0).T), arg("K")),
        error("shape", lambda: ssm.causal_conv(U, jnp.asarray(K0), jnp.ones(3)), arg("D")),
        error(
            "shape", lambda: ssm.causal_conv(U, jnp.asarray(K0), D, bidirectional=True), arg("K")
        ),
        error("empty", lambda: ssm.causal_conv(jnp.zeros((0, H)), jnp.zeros((H, 0))), arg("u")),
        ok(
            "empty",
            lambda: ssm.causal_conv(jnp.zeros((L, 0)), jnp.zeros((0, L))),
            check=lambda o: o.shape == (L, 0),
        ),
        ok(
            "dtype",
            lambda: ssm.causal_conv(
                U.astype(jnp.float16), jnp.asarray(K0, jnp.float16), D.astype(jnp.float16)
            ),
            check=lambda o: (
                o.dtype == jnp.float32
                and np.allclose(
                    o,
                    ref_conv(
                        np.asarray(U.astype(jnp.float16), float),
                        np.asarray(jnp.asarray(K0, jnp.float16), float),
                        np.asarray(D.astype(jnp.float16), float),
                    ),
                    rtol=1e-5,
                    atol=1e-5,
                )
            ),
        ),
        ok(
            "dtype",
            lambda: ssm.causal_conv(U.astype(jnp.bfloat16), jnp.asarray(K0, jnp.bfloat16)),
            check=lambda o: (
                o.dtype == jnp.float32
                and np.allclose(
                    o,
                    ref_conv(
                        np.asarray(U.astype(jnp.bfloat16), float),
                        np.asarray(jnp.asarray(K0, jnp.bfloat16), float),
                    ),
                    rtol=1e-5,
                    atol=1e-5,
                )
            ),
        ),
        ok(
            "dtype",
            lambda: ssm.causal_conv(U.astype(jnp.float32), jnp.asarray(K0, jnp.float32)),
            check=lambda o: (
                o.dtype == jnp.float32 and np.allclose(o, ref_conv(U0, K0), rtol=1e-5, atol=1e-5)
            ),
        ),
        ok(
            "dtype",
            lambda: ssm.causal_conv(jnp.ones((L, H), int), jnp.asarray(K0)),
            check=close(ref_conv(np.ones((L, H)), K0)),
        ),
        error("dtype", lambda: ssm.causal_conv(U + 0j, jnp.asarray(K0)), arg("u")),
        error("dtype", lambda: ssm.causal_conv(U, jnp.asarray(K0) + 0j), arg("K")),
        error("dtype", lambda: ssm.causal_conv(U > 0, jnp.asarray(K0)), arg("u")),
        error("list", lambda: ssm.causal_conv(U0.tolist(), K0.tolist()), arg("u")),
        error(
            "nonfinite", lambda: ssm.causal_conv(_set(U, NAN, (3, 0)), jnp.asarray(K0)), arg("u")
        ),
        error("nonfinite", lambda: ssm.causal_conv(U, _set(jnp.asarray(K0), INF)), arg("K")),
        error("nonfinite", lambda: ssm.causal_conv(U, jnp.asarray(K0), _set(D, NAN, 0)), arg("D")),
        ok(
            "magnitude",
            lambda: ssm.causal_conv(U * 1e300, jnp.asarray(K0) * 1e-300),
            check=close(ref_conv(U0, K0), rtol=1e-9, atol=1e-12),
        ),
        ok(
            "magnitude",
            lambda: ssm.causal_conv(U * 1e-300, jnp.asarray(K0)),
            check=close(ref_conv(U0 * 1e-300, K0), rtol=1e-6, atol=0),
        ),
        ok(
            "magnitude",
            lambda: ssm.causal_conv(U * 1e100, jnp.asarray(K0)),
            check=close(ref_conv(U0 * 1e100, K0), rtol=1e-9, atol=1e88),
        ),
        ok(
            "magnitude",
            lambda: ssm.causal_conv(U.astype(jnp.float32) * 1e30, jnp.asarray(K0, jnp.float32)),
            check=lambda o: np.allclose(o / 1e30, ref_conv(U0, K0), rtol=1e-4, atol=1e-4),
        ),
        ok("transform", lambda: jax.jit(ssm.causal_conv)(U, jnp.asarray(K0), D), check=close(Y0)),
        error(
            "transform",
            lambda: jax.vmap(lambda u: ssm.causal_conv(u, jnp.asarray(K0)))(
                jnp.stack([U, _set(U, NAN)])
            ),
            arg("u"),
        ),
        ok(
            "transform",
            lambda: jax.grad(lambda u: jnp.sum(ssm.causal_conv(u, jnp.asarray(K0)) ** 2))(U),
        ),
    ],
    # --------------------------------------------------------------------------------- recurrences
    "diagonal_scan": [
        ok(
            "valid",
            lambda: ssm.diagonal_scan(jnp.array([0.5, -0.25]), jnp.ones((4, 2))),
            check=close(np.array([[1, 1], [1.5, 0.75], [1.75, 0.8125], [1.875, 0.796875]])),
        ),
        ok(
            "valid",
            lambda: ssm.diagonal_scan(jnp.array([0.5]), jnp.zeros((3, 1)), jnp.array([2.0])),
            check=close(np.array([[1.0], [0.5], [0.25]])),
        ),
        ok(
            "valid",
            lambda: ssm.diagonal_scan(
                jnp.array([0.5]), jnp.zeros((3, 1)), jnp.array([2.0]), reverse=True
            ),
            check=close(np.array([[0.25], [0.5], [1.0]])),
        ),
        error("shape", lambda: ssm.diagonal_scan(jnp.ones(3), jnp.zeros(3)), arg("Bu")),
        error("shape", lambda: ssm.diagonal_scan(jnp.ones(3), jnp.zeros((4, 2))), arg("Bu")),
        error(
            "shape",
            lambda: ssm.diagonal_scan(jnp.ones(3), jnp.zeros((4, 3)), jnp.zeros(2)),
            arg("x0"),
        ),
        error(
            "dtype",
            lambda: ssm.diagonal_scan(jnp.ones(3, bool), jnp.ones((4, 3), bool)),
            arg("Abar"),
        ),
        ok(
            "dtype",
            lambda: ssm.diagonal_scan(jnp.ones(2, int), jnp.ones((3, 2), int)),
            check=close(np.array([[1, 1], [2, 2], [3, 3]])),
        ),
        ok(
            "empty",
            lambda: ssm.diagonal_scan(jnp.ones(3), jnp.zeros((0, 3))),
            check=lambda o: o.shape == (0, 3),
        ),
        error("list", lambda: ssm.diagonal_scan([0.5], [[1.0]]), arg("Abar")),
        ok(
            "nonfinite",  # documented: NaN at step k reaches x_k, x_{k+1}, ... (causal), not the earlier states
            lambda: jnp.isnan(
                ssm.diagonal_scan(jnp.array([0.5]), jnp.ones((4, 1)).at[2, 0].set(NAN))
            )[:, 0],
            check=mask_check([False, False, True, True]),
        ),
        ok(
            "magnitude",
            lambda: ssm.diagonal_scan(jnp.array([0.5]), jnp.full((3, 1), 1e300)),
            check=close(np.array([[1e300], [1.5e300], [1.75e300]]), rtol=1e-12),
        ),
        ok(
            "transform",
            lambda: jax.vmap(lambda a: ssm.diagonal_scan(a, jnp.ones((3, 1))))(
                jnp.array([[0.5], [0.25]])
            ),
        ),
    ],
    "s4d_scan": [
        ok("valid", lambda: ssm.s4d_scan(A, B, C, DT, U, D), check=close_first(Y0)),
        ok(
            "valid",
            lambda: ssm.s4d_scan(A, B, C, DT, U, D, method="bilinear"),
            check=close_first(
                ref_conv(U0, ref_kernel(A0, B0, C0, np.asarray(DT), L, "bilinear"), D0)
            ),
        ),
        ok(
            "valid",  # x0 continues a prefix
            lambda: ssm.s4d_scan(A, B, C, DT, U[3:], D, x0=ssm.s4d_scan(A, B, C, DT, U[:3], D)[1]),
            check=close_first(Y0[3:]),
        ),
        error("shape", lambda: ssm.s4d_scan(A, B, C, DT, U[:, :1], D), arg("u")),
        error("shape", lambda: ssm.s4d_scan(A, B, C, DT, U[:, 0], D), arg("u")),
        error("shape", lambda: ssm.s4d_scan(A, B, C, DT, U, jnp.ones(3)), arg("D")),
        error("shape", lambda: ssm.s4d_scan(A, B[:1], C, DT, U), arg("B")),
        error("shape", lambda: ssm.s4d_scan(A, B, C, DT, U, x0=jnp.zeros(2)), arg("x0")),
        error("range", lambda: ssm.s4d_scan(A, B, C, DT, U, method="euler"), arg("method")),
        error("range", lambda: ssm.s4d_scan(A, B, C, -0.1, U), arg("dt")),
        error("empty", lambda: ssm.s4d_scan(A, B, C, DT, jnp.zeros((0, H))), arg("u")),
        ok(
            "dtype",
            lambda: ssm.s4d_scan(A, B, C, DT, jnp.ones((L, H), int)),
            check=close_first(ref_conv(np.ones((L, H)), K0)),
        ),
        error("dtype", lambda: ssm.s4d_scan(A, B, C, DT, U + 0j), arg("u")),
        ok(
            "dtype",
            lambda: ssm.s4d_scan(A, B, C, DT, U.astype(jnp.float16)),
            check=lambda o: np.allclose(
                o[0], ref_conv(np.asarray(U.astype(jnp.float16), float), K0), rtol=1e-9, atol=1e-9
            ),
        ),
        error("list", lambda: ssm.s4d_scan(A, B, C, DT, U0.tolist()), arg("u")),
        error("nonfinite", lambda: ssm.s4d_scan(A, B, C, DT, _set(U, NAN)), arg("u")),
        error("nonfinite", lambda: ssm.s4d_scan(_set(A, NAN), B, C, DT, U), arg("A")),
        error("nonfinite", lambda: ssm.s4d_scan(A, B, _set(C, INF), DT, U), arg("C")),
        error("nonfinite", lambda: ssm.s4d_scan(A, B, C, jnp.array([NAN, 0.1]), U), arg("dt")),
        error("nonfinite", lambda: ssm.s4d_scan(A, B, C, DT, U, _set(D, NAN, 0)), arg("D")),
        ok(
            "magnitude",
            lambda: ssm.s4d_scan(A, B, C, DT, U * 1e300),
            check=lambda o: np.allclose(
                np.asarray(o[0]) / 1e300, ref_conv(U0, K0), rtol=1e-9, atol=1e-12
            ),
        ),
        ok(
            "magnitude",
            lambda: ssm.s4d_scan(A, B, C, DT, U * 1e-300),
            check=lambda o: np.allclose(
                np.asarray(o[0]) * 1e300, ref_conv(U0, K0), rtol=1e-9, atol=1e-12
            ),
        ),
        ok("transform", lambda: jax.jit(ssm.s4d_scan)(A, B, C, DT, U, D), check=close_first(Y0)),
        error(
            "transform",
            lambda: jax.vmap(lambda u: ssm.s4d_scan(A, B, C, DT, u))(jnp.stack([U, _set(U, NAN)])),
            arg("u"),
        ),
    ],
    "s4d_step": [
        ok(
            "valid",
            lambda: ssm.s4d_step(*ssm.discretize(A, B, DT), C, jnp.zeros((H, M), complex), U[0], D)[
                0
            ],
            check=close(Y0[0]),
        ),
        error("shape", lambda: ssm.s4d_step(A, B[:1], C, A, U[0]), arg("Bbar")),
        error("shape", lambda: ssm.s4d_step(A, B, C, A[:1], U[0]), arg("x")),
        error("shape", lambda: ssm.s4d_step(A, B, C, A, U[:2]), arg("u")),
        error("shape", lambda: ssm.s4d_step(A, B, C, A, U[0], jnp.ones(3)), arg("D")),
        ok("dtype", lambda: ssm.s4d_step(A, B, C, A, jnp.ones(H, int), jnp.ones(H, int))),
        error("dtype", lambda: ssm.s4d_step(A, B, C, A, U[0] + 0j), arg("u")),
        error(
            "list",
            lambda: ssm.s4d_step(A0.tolist(), B0.tolist(), C0.tolist(), A0.tolist(), [1.0, 1.0]),
            arg("Abar"),
        ),
        ok(
            "nonfinite",  # documented: no value check in the streaming inner loop; NaN in D reaches y of its channel
            _scan_nan_mask,
            check=lambda o: np.array_equal(o[0], [True, False]) and not np.any(o[1]),
        ),
        ok(
            "empty",
            lambda: ssm.s4d_step(*(jnp.zeros((H, 0)),) * 4, U[0]),
            check=lambda o: o[1].shape == (H, 0),
        ),
        ok("transform", lambda: jax.jit(ssm.s4d_step)(A, B, C, A, U[0], D)),
    ],
    "s5_scan": [
        ok("valid", lambda: ssm.s5_scan(LAM, B5, C5, 0.1, U, D), check=close_first(Y5)),
        ok(
            "valid",
            lambda: ssm.s5_scan(LAM, B5, C5, jnp.array([0.1, 0.1]), U, D),
            check=close_first(Y5),
        ),
        ok(
            "valid",
            lambda: ssm.s5_scan(LAM, B5, C5, 0.1, U, D, conj_sym=False),
            check=close_first(ref_s5(LAM, B5, C5, 0.1, U0, D0, conj_sym=False)),
        ),
        ok("valid", lambda: ssm.s5_scan(LAM, B5, C5, 0.1, U, D, method="bilinear")),
        error("shape", lambda: ssm.s5_scan(LAM[None], B5, C5, 0.1, U), arg("Lambda")),
        error("shape", lambda: ssm.s5_scan(LAM, B5[:1], C5, 0.1, U), arg("B")),
        error("shape", lambda: ssm.s5_scan(LAM, B5, C5.T[:1], 0.1, U), arg("C")),
        error("shape", lambda: ssm.s5_scan(LAM, B5, C5, 0.1, U[:, :1]), arg("u")),
        error("shape", lambda: ssm.s5_scan(LAM, B5, C5, 0.1, U[0]), arg("u")),
        error("shape", lambda: ssm.s5_scan(LAM, B5, C5, jnp.ones(3), U), arg("dt")),
        error("shape", lambda: ssm.s5_scan(LAM, B5, C5, 0.1, U, jnp.ones(3)), arg("D")),
        error("shape", lambda: ssm.s5_scan(LAM, B5, C5, 0.1, U, x0=jnp.zeros(3)), arg("x0")),
        error("range", lambda: ssm.s5_scan(LAM, B5, C5, -0.1, U), arg("dt")),
        error("range", lambda: ssm.s5_scan(LAM, B5, C5, 0.1, U, method="rk4"), arg("method")),
        error("empty", lambda: ssm.s5_scan(LAM, B5, C5, 0.1, jnp.zeros((0, H))), arg("u")),
        error("dtype", lambda: ssm.s5_scan(LAM, B5, C5, 0.1, U + 0j), arg("u")),
        ok(
            "dtype",
            lambda: ssm.s5_scan(LAM, B5, C5, 0.1, jnp.ones((L, H), int)),
            check=close_first(ref_s5(LAM, B5, C5, 0.1, np.ones((L, H)))),
        ),
        error("list", lambda: ssm.s5_scan(LAM, B5, C5, 0.1, U0.tolist()), arg("u")),
        error("nonfinite", lambda: ssm.s5_scan(LAM, B5, C5, 0.1, _set(U, NAN)), arg("u")),
        error("nonfinite", lambda: ssm.s5_scan(_set(LAM, NAN, 0), B5, C5, 0.1, U), arg("Lambda")),
        error("nonfinite", lambda: ssm.s5_scan(LAM, B5, _set(C5, INF), 0.1, U), arg("C")),
        error("nonfinite", lambda: ssm.s5_scan(LAM, B5, C5, jnp.array(NAN), U), arg("dt")),
        ok(
            "magnitude",
            lambda: ssm.s5_scan(LAM, B5, C5, 0.1, U * 1e300, D),
            check=lambda o: np.allclose(np.asarray(o[0]) / 1e300, Y5, rtol=1e-9, atol=1e-12),
        ),
        ok(
            "transform", lambda: jax.jit(ssm.s5_scan)(LAM, B5, C5, 0.1, U, D), check=close_first(Y5)
        ),
        error(
            "transform",
            lambda: jax.vmap(lambda d: ssm.s5_scan(LAM, B5, C5, d, U))(jnp.array([0.1, -0.1])),
            arg("dt"),
        ),
    ],
    "s5_step": [
        ok(
            "valid",
            lambda: ssm.s5_step(
                *ssm.discretize_s5(LAM, B5, 0.1), C5, jnp.zeros(2, complex), U[0], D
            )[0],
            check=close(Y5[0]),
        ),
        error("shape", lambda: ssm.s5_step(LAM, B5, C5, jnp.zeros(2, complex), U[:3]), arg("u")),
        error("shape", lambda: ssm.s5_step(LAM, B5, C5, jnp.zeros(3, complex), U[0]), arg("x")),
        error(
            "shape",
            lambda: ssm.s5_step(LAM, B5, C5, jnp.zeros(2, complex), U[0], jnp.ones(3)),
            arg("D"),
        ),
        error(
            "shape", lambda: ssm.s5_step(LAM, B5[:1], C5, jnp.zeros(2, complex), U[0]), arg("Bbar")
        ),
        ok("dtype", lambda: ssm.s5_step(LAM, B5, C5, jnp.zeros(2, complex), jnp.ones(H, int))),
        error("list", lambda: ssm.s5_step([0.5], [[1.0]], [[1.0]], [0.0], [1.0]), arg("Lbar")),
        ok(
            "nonfinite",  # documented: no value check in the streaming inner loop; NaN in u reaches x and y
            lambda: jnp.isnan(
                ssm.s5_step(LAM, B5, C5, jnp.zeros(2, complex), _set(U[0], NAN, 0))[0]
            ),
            check=mask_check([True, True]),
        ),
        ok("transform", lambda: jax.jit(ssm.s5_step)(LAM, B5, C5, jnp.zeros(2, complex), U[0], D)),
    ],
    # ------------------------------------------------------------------------------------- layers
    "S4DLayer": [
        ok(
            "valid",
            lambda: call(s4d_layer(), U),
            check=close(layer_ref(s4d_layer(), U0), rtol=1e-9, atol=1e-12),
        ),
        ok(
            "valid",
            lambda: ssm.S4DLayer(
                H,
                4,
                init="lin",
                dt_tied=False,
                method="bilinear",
                real_transform="softplus",
                key=KEY,
            )(U),
        ),
        ok("valid", lambda: call(s4d_layer(bidirectional=True), U)),
        ok(
            "valid",  # streaming == call
            lambda: jax.lax.scan(
                lambda x, u: s4d_layer().step(x, u)[::-1], s4d_layer().init_state(), U
            )[1],
            check=close(layer_ref(s4d_layer(), U0), rtol=1e-9, atol=1e-12),
        ),
        error("range", lambda: ssm.S4DLayer(0, 4, key=KEY), arg("H")),
        error("range", lambda: ssm.S4DLayer(H, 3, key=KEY), arg("N")),
        error("range", lambda: ssm.S4DLayer(H, 0, key=KEY), arg("N")),
        error("range", lambda: ssm.S4DLayer(H, 4, init="hippo", key=KEY), arg("init")),
        error(
            "range",
            lambda: ssm.S4DLayer(H, 4, real_transform="abs", key=KEY),
            arg("real_transform"),
        ),
        error("range", lambda: ssm.S4DLayer(H, 4, method="euler", key=KEY), arg("method")),
        error("range", lambda: ssm.S4DLayer(H, 4, dt_min=-1e-3, key=KEY), arg("dt_min")),
        error("range", lambda: ssm.S4DLayer(H, 4, dt_min=1.0, dt_max=0.1, key=KEY), arg("dt_min")),
        error("range", lambda: ssm.S4DLayer(H, 4, b_clip=-1.0, key=KEY), arg("b_clip")),
        error("nonfinite", lambda: ssm.S4DLayer(H, 4, dt_max=NAN, key=KEY), arg("dt_max")),
        error("dtype", lambda: ssm.S4DLayer(2.0, 4, key=KEY), arg("H")),
        error("dtype", lambda: ssm.S4DLayer(H, 4, dt_min="0.001", key=KEY), arg("dt_min")),
        error("dtype", lambda: ssm.S4DLayer(H, 4, dtype=jnp.int32, key=KEY), arg("dtype")),
        error("dtype", lambda: ssm.S4DLayer(H, 4, dtype=jnp.complex64, key=KEY), arg("dtype")),
        ok(
            "dtype",  # half-precision parameters: computed in float32
            lambda: ssm.S4DLayer(H, 4, dtype=jnp.float16, key=KEY)(U.astype(jnp.float16)),
            check=lambda o: o.dtype == jnp.float32,
        ),
        ok(
            "dtype",
            lambda: call(s4d_layer(), jnp.ones((L, H), int)),
            check=close(layer_ref(s4d_layer(), np.ones((L, H))), rtol=1e-9, atol=1e-12),
        ),
        ok(
            "dtype",
            lambda: call(s4d_layer(), U > 0),
            check=close(layer_ref(s4d_layer(), (U0 > 0).astype(float)), rtol=1e-9, atol=1e-12),
        ),
        ok(
            "dtype",
            lambda: call(s4d_layer(dtype=jnp.float32), jnp.ones((L, H), jnp.int32)),
            check=lambda o: (
                o.dtype == jnp.float32
                and np.allclose(
                    o,
                    layer_ref(s4d_layer(dtype=jnp.float32), np.ones((L, H))),
                    rtol=1e-4,
                    atol=1e-4,
                )
            ),
        ),
        ok(
            "dtype",
            lambda: call(s4d_layer(), U.astype(jnp.float16)),
            check=close(
                layer_ref(s4d_layer(), np.asarray(U.astype(jnp.float16), float)),
                rtol=1e-9,
                atol=1e-12,
            ),
        ),
        ok(
            "dtype",
            lambda: call(s4d_layer(dtype=jnp.float32), U.astype(jnp.bfloat16)),
            check=lambda o: o.dtype == jnp.float32,
        ),
        error("dtype", lambda: call(s4d_layer(), U + 0j), arg("u")),
        error("shape", lambda: call(s4d_layer(), U[:, :1]), arg("u")),
        error("shape", lambda: call(s4d_layer(), U[:, 0]), arg("u")),
        error("shape", lambda: s4d_layer().step(s4d_layer().init_state()[:1], U[0]), arg("x")),
        error("shape", lambda: s4d_layer().step(s4d_layer().init_state(), U[:2]), arg("u")),
        error("range", lambda: s4d_layer().kernel(0), arg("L")),
        error("range", lambda: s4d_layer(bidirectional=True).init_state(), r"bidirectional"),
        error("empty", lambda: call(s4d_layer(), jnp.zeros((0, H))), arg("u")),
        error("list", lambda: call(s4d_layer(), U0.tolist()), arg("u")),
        error("nonfinite", lambda: call(s4d_layer(), _set(U, NAN, (3, 0))), arg("u")),
        error("nonfinite", lambda: call(s4d_layer(), _set(U, INF, (0, 1))), arg("u")),
        error(
            "nonfinite",  # diverged parameters are a run-time error, not a NaN output
            lambda: eqx.tree_at(lambda m: m.log_dt, s4d_layer(), _set(s4d_layer().log_dt, NAN, 0))(
                U
            ),
            r"parameters",
        ),
        ok(
            "magnitude",
            lambda: call(s4d_layer(), U * 1e300),
            check=lambda o: np.allclose(
                np.asarray(o) / 1e300, layer_ref(s4d_layer(), U0), rtol=1e-9, atol=1e-12
            ),
        ),
        ok(
            "magnitude",
            lambda: call(s4d_layer(), U * 1e-300),
            check=lambda o: np.allclose(
                np.asarray(o) * 1e300, layer_ref(s4d_layer(), U0), rtol=1e-9, atol=1e-12
            ),
        ),
        ok(
            "transform",
            lambda: eqx.filter_jit(lambda m, u: m(u))(s4d_layer(), U),
            check=close(layer_ref(s4d_layer(), U0), rtol=1e-9, atol=1e-12),
        ),
        ok(
            "transform",
            lambda: (
                eqx.filter_vmap(lambda k: ssm.S4DLayer(H, 4, key=k))(jax.random.split(KEY, 2)).C_re
            ),
            check=lambda c: c.shape == (2, H, M) and not np.allclose(c[0], c[1]),
        ),
        error("transform", lambda: vcall(s4d_layer(), jnp.stack([U, _set(U, NAN)])), arg("u")),
        ok("transform", lambda: eqx.filter_grad(lambda m: jnp.sum(m(U) ** 2))(s4d_layer()).log_dt),
        error("key", lambda: ssm.S4DLayer(H, 4, key=jax.random.split(KEY, 3)), arg("key")),
        ok("key", lambda: ssm.S4DLayer(H, 4, key=RAW_KEY).C_re),
        error("key", lambda: ssm.S4DLayer(H, 4, key=jax.random.split(RAW_KEY, 2)), arg("key")),
        error("key", lambda: ssm.S4DLayer(H, 4, key=None), arg("key")),
        ok(
            "key",
            lambda: call(s4d_layer(), U, key=KEY),
            check=close(layer_ref(s4d_layer(), U0), rtol=1e-9, atol=1e-12),
        ),
    ],
    "S5Layer": [
        ok(
            "valid",
            lambda: call(s5_layer(), U),
            check=close(s5_layer_ref(s5_layer(), U0), rtol=1e-9, atol=1e-12),
        ),
        ok(
            "valid",
            lambda: jax.lax.scan(
                lambda x, u: s5_layer().step(x, u)[::-1], s5_layer().init_state(), U
            )[1],
            check=close(s5_layer_ref(s5_layer(), U0), rtol=1e-9, atol=1e-12),
        ),
        ok(
            "valid",
            lambda: ssm.S5Layer(H, 4, blocks=2, method="bilinear", real_transform="clip", key=KEY)(
                U
            ),
        ),
        error("range", lambda: ssm.S5Layer(0, 4, key=KEY), arg("H")),
        error("range", lambda: ssm.S5Layer(H, 3, key=KEY), arg("P")),
        error("range", lambda: ssm.S5Layer(H, 4, blocks=3, key=KEY), arg("blocks")),
        error(
            "range", lambda: ssm.S5Layer(H, 4, real_transform="abs", key=KEY), arg("real_transform")
        ),
        error("range", lambda: ssm.S5Layer(H, 4, method="euler", key=KEY), arg("method")),
        error("range", lambda: ssm.S5Layer(H, 4, dt_min=1.0, dt_max=0.1, key=KEY), arg("dt_min")),
        error("nonfinite", lambda: ssm.S5Layer(H, 4, dt_min=NAN, key=KEY), arg("dt_min")),
        error("dtype", lambda: ssm.S5Layer(H, 4, dt_min="0.001", key=KEY), arg("dt_min")),
        error("dtype", lambda: ssm.S5Layer(H, 4, dtype=jnp.int32, key=KEY), arg("dtype")),
        ok(
            "dtype",
            lambda: call(s5_layer(), jnp.ones((L, H), int)),
            check=close(s5_layer_ref(s5_layer(), np.ones((L, H))), rtol=1e-9, atol=1e-12),
        ),
        ok(
            "dtype",
            lambda: call(s5_layer(dtype=jnp.float32), jnp.ones((L, H), jnp.int32)),
            check=lambda o: (
                o.dtype == jnp.float32
                and np.allclose(
                    o,
                    s5_layer_ref(s5_layer(dtype=jnp.float32), np.ones((L, H))),
                    rtol=1e-4,
                    atol=1e-4,
                )
            ),
        ),
        ok(
            "dtype",
            lambda: call(s5_layer(), U.astype(jnp.float16)),
            check=lambda o: o.dtype == jnp.float64,
        ),
        error("dtype", lambda: call(s5_layer(), U + 0j), arg("u")),
        error("shape", lambda: call(s5_layer(), U[:, :1]), arg("u")),
        error("shape", lambda: s5_layer().step(s5_layer().init_state(), U[:2]), arg("u")),
        error("shape", lambda: s5_layer().step(jnp.zeros(3, complex), U[0]), arg("x")),
        error("empty", lambda: call(s5_layer(), jnp.zeros((0, H))), arg("u")),
        error("list", lambda: call(s5_layer(), U0.tolist()), arg("u")),
        error("nonfinite", lambda: call(s5_layer(), _set(U, NAN)), arg("u")),
        error(
            "nonfinite",
            lambda: eqx.tree_at(lambda m: m.B_re, s5_layer(), _set(s5_layer().B_re, NAN))(U),
            r"parameters",
        ),
        ok(
            "magnitude",
            lambda: call(s5_layer(), U * 1e300),
            check=lambda o: np.allclose(
                np.asarray(o) / 1e300, s5_layer_ref(s5_layer(), U0), rtol=1e-9, atol=1e-12
            ),
        ),
        ok("transform", lambda: eqx.filter_jit(lambda m, u: m(u))(s5_layer(), U)),
        ok(
            "transform",
            lambda: (
                eqx.filter_vmap(lambda k: ssm.S5Layer(H, 4, key=k))(jax.random.split(KEY, 2)).B_re
            ),
            check=lambda b: b.shape == (2, M, H) and not np.allclose(b[0], b[1]),
        ),
        error("transform", lambda: vcall(s5_layer(), jnp.stack([U, _set(U, NAN)])), arg("u")),
        error("key", lambda: ssm.S5Layer(H, 4, key=jax.random.split(KEY, 3)), arg("key")),
        ok("key", lambda: ssm.S5Layer(H, 4, key=RAW_KEY).B_re),
    ],
    "SSMModel": [
        ok("valid", lambda: call(model(), U), check=lambda o: o.shape == (1,)),
        ok("valid", lambda: call(model("s5", None), U), check=lambda o: o.shape == (L, 1)),
        ok(
            "valid",  # streaming == prefix outputs
            lambda: (
                jax.lax.scan(lambda s, x: model().step(s, x)[::-1], model().init_state(), U)[1][-1],
                call(model(), U),
            ),
            check=lambda o: np.allclose(o[0], o[1], rtol=1e-9, atol=1e-12),
        ),
        error("range", lambda: ssm.SSMModel(H, 1, d_model=0, key=KEY), arg("d_model")),
        error("range", lambda: ssm.SSMModel(0, 1, key=KEY), arg("d_input")),
        error("range", lambda: ssm.SSMModel(H, 0, key=KEY), arg("d_output")),
        error("range", lambda: ssm.SSMModel(H, 1, n_layers=0, key=KEY), arg("n_layers")),
        error("range", lambda: ssm.SSMModel(H, 1, state_size=3, key=KEY), arg("state_size")),
        error("range", lambda: ssm.SSMModel(H, 1, layer="mamba", key=KEY), arg("layer")),
        error("range", lambda: ssm.SSMModel(H, 1, pool="max", key=KEY), arg("pool")),
        error("range", lambda: ssm.SSMModel(H, 1, dropout=1.5, key=KEY), arg("dropout")),
        error("range", lambda: ssm.SSMModel(H, 1, dropout=-0.1, key=KEY), arg("dropout")),
        error("nonfinite", lambda: ssm.SSMModel(H, 1, dropout=NAN, key=KEY), arg("dropout")),
        error(
            "range",
            lambda: ssm.SSMModel(H, 1, d_model=2, n_layers=1, state_size=4, foo=1, key=KEY),
            arg("foo"),
        ),
        error(
            "range",
            lambda: ssm.SSMModel(H, 1, d_model=2, n_layers=1, state_size=4, dt_min=-1.0, key=KEY),
            arg("dt_min"),
        ),
        error("dtype", lambda: ssm.SSMModel(H, 1, d_model=2.0, key=KEY), arg("d_model")),
        error("dtype", lambda: ssm.SSMModel(H, 1, dtype=jnp.int32, key=KEY), arg("dtype")),
        error("shape", lambda: call(model(), U[:, :1]), arg("x")),
        error("shape", lambda: call(model(), U[:, 0]), arg("x")),
        error("shape", lambda: model().step(model().init_state(), U[:2]), arg("x")),
        error("empty", lambda: call(model(), jnp.zeros((0, H))), arg("x")),
        ok(
            "dtype",
            lambda: call(model(), jnp.ones((L, H), int)),
            check=lambda o: np.allclose(o, call(model(), jnp.ones((L, H)))),
        ),
        error("dtype", lambda: call(model(), U + 0j), arg("x")),
        error("list", lambda: call(model(), U0.tolist()), arg("x")),
        error("nonfinite", lambda: call(model(), _set(U, NAN)), arg("x")),
        ok("magnitude", lambda: call(model(), U * 1e300)),
        ok("magnitude", lambda: call(model(), U * 1e-300)),
        ok(
            "transform",
            lambda: vcall(model(), jnp.stack([U, U])),
            check=lambda o: o.shape == (2, 1),
        ),
        error("transform", lambda: vcall(model(), jnp.stack([U, _set(U, NAN)])), arg("x")),
        ok(
            "transform",
            lambda: (
                eqx.filter_jit(
                    eqx.filter_vmap(
                        lambda k: ssm.SSMModel(H, 1, d_model=2, n_layers=1, state_size=4, key=k)
                    )
                )(jax.random.split(KEY, 2)).decoder.weight
            ),
            check=lambda w: w.shape[0] == 2,
        ),
        error(
            "key",
            lambda: ssm.SSMModel(
                H, 1, d_model=2, n_layers=1, state_size=4, key=jax.random.split(KEY, 3)
            ),
            arg("key"),
        ),
        ok(
            "key",
            lambda: (
                ssm.SSMModel(H, 1, d_model=2, n_layers=1, state_size=4, key=RAW_KEY).decoder.weight
            ),
        ),
        error("key", lambda: call(model(), U, key=jax.random.split(KEY, 2)), arg("key")),
        ok("key", lambda: call(model(), U, key=KEY)),
    ],
    "ssm_param_labels": [
        ok(
            "valid",
            lambda: ssm.ssm_param_labels(model()),
            check=lambda t: (
                t.blocks[0].layer.A_re == "ssm"
                and t.blocks[0].layer.log_dt == "ssm"
                and t.blocks[0].layer.C_re == "other"
                and t.encoder.weight == "other"
            ),
        ),
        ok(
            "valid",
            lambda: ssm.ssm_param_labels(s5_layer(), "a", "b"),
            check=lambda t: t.Lambda_re == "a" and t.D == "b",
        ),
        error("dtype", lambda: ssm.ssm_param_labels(s4d_layer(), ssm_label=1), arg("ssm_label")),
        ok("empty", lambda: ssm.ssm_param_labels({}), check=lambda t: t == {}),
    ],
    "SSM_PARAM_NAMES": [
        ok(
            "valid",
            lambda: sorted(ssm.SSM_PARAM_NAMES),
            check=lambda s: {"A_re", "A_im", "log_dt", "Lambda_re"} <= set(s) and "C_re" not in s,
        ),
    ],
}


# ------------------------------------------------------------------------- companion SSMs (issue 14)
CA = np.array([0.3, -0.2, 0.1])  # ||a||_1 < 1: eigenvalues strictly inside the unit disc
CB = np.array([1.0, 0.5, -0.5])
CC = np.array([0.2, -1.0, 0.7])
CK = np.array([0.1, 0.2, -0.1])


def _cdense():
    A = np.eye(3, k=-1)
    A[:, -1] += CA
    return A


def _ckernel_ref(L):
    A, x, out = _cdense(), CB.copy(), []
    for _ in range(L):
        out.append(CC @ x)
        x = A @ x
    return np.array(out)


def _companion_probes(fn, reference):
    """Shared probes of the ``(a, b, c, L)`` kernels."""
    return [
        ok("valid", lambda: fn(CA, CB, CC, L), check=lambda K: np.allclose(K, reference(L))),
        ok("valid", lambda: fn(CA, CB, CC, 2), check=lambda K: np.allclose(K, reference(2))),
        error("range", lambda: fn(CA, CB, CC, 0), arg("L")),
        error("dtype", lambda: fn(CA, CB, CC, 2.0), arg("L")),
        error("shape", lambda: fn(CA, CB[:2], CC, L), arg("b")),
        error("shape", lambda: fn(CA, CB, CC[:2], L), arg("c")),
        error("shape", lambda: fn(CA[None], CB, CC, L), arg("a")),
        error("empty", lambda: fn(np.zeros(0), np.zeros(0), np.zeros(0), L), arg("a")),
        error("dtype", lambda: fn(CA + 0j, CB, CC, L), arg("a")),
        error("dtype", lambda: fn("a", CB, CC, L), arg("a")),
        error("nonfinite", lambda: fn(CA, _set(CB, NAN, 0), CC, L), arg("b")),
        error("list", lambda: fn(list(CA), list(CB), list(CC), L), arg("a")),
        ok(
            "transform",
            lambda: jax.jit(lambda a: fn(a, CB, CC, L))(jnp.asarray(CA)),
            check=lambda K: np.allclose(K, reference(L)),
        ),
    ]


REGISTRY.update(
    {
        "companion_kernel": [
            *_companion_probes(ssm.companion_kernel, _ckernel_ref),
            ok(
                "valid",
                lambda: ssm.companion_kernel(
                    CA, CB, ssm.companion_c_tilde(CA, CC, L), L, c_tilde=True
                ),
                check=lambda K: np.allclose(K, _ckernel_ref(L)),
            ),
            error("dtype", lambda: ssm.companion_kernel(CA, CB, CC, L, c_tilde=1), arg("c_tilde")),
            error(
                "range",
                lambda: ssm.companion_kernel(np.array([1.0, 0, 0]), CB, CC, 3, c_tilde=True),
                "unit circle",
            ),
            ok(
                "magnitude",
                lambda: ssm.companion_kernel(CA, 1e-300 * CB, CC, L),
                check=lambda K: np.allclose(K / 1e-300, _ckernel_ref(L)),
            ),
            ok(
                "transform",
                lambda: jax.grad(lambda a: ssm.companion_kernel(a, CB, CC, L).sum())(
                    jnp.asarray(CA)
                ),
                check=lambda g: g.shape == (3,),
            ),
        ],
        "companion_kernel_krylov": _companion_probes(ssm.companion_kernel_krylov, _ckernel_ref),
        "companion_matrix": [
            ok(
                "valid", lambda: ssm.companion_matrix(CA), check=lambda A: np.allclose(A, _cdense())
            ),
            error("shape", lambda: ssm.companion_matrix(np.zeros((2, 2))), arg("a")),
            error("empty", lambda: ssm.companion_matrix(np.zeros(0)), arg("a")),
            error("dtype", lambda: ssm.companion_matrix(CA + 1j), arg("a")),
        ],
        "companion_c_tilde": [
            ok(
                "valid",
                lambda: ssm.companion_c_tilde(CA, CC, L),
                check=lambda ct: np.allclose(
                    ct, CC @ (np.eye(3) - np.linalg.matrix_power(_cdense(), L))
                ),
            ),
            error("range", lambda: ssm.companion_c_tilde(CA, CC, 0), arg("L")),
            error("shape", lambda: ssm.companion_c_tilde(CA, CC[:2], L), arg("c")),
            error("nonfinite", lambda: ssm.companion_c_tilde(_set(CA, INF, 0), CC, L), arg("a")),
        ],
        "companion_c_from_tilde": [
            ok(
                "valid",
                lambda: ssm.companion_c_from_tilde(CA, ssm.companion_c_tilde(CA, CC, L), L),
                check=lambda c: np.allclose(c, CC),
            ),
            error("range", lambda: ssm.companion_c_from_tilde(CA, CC, -1), arg("L")),
            error("shape", lambda: ssm.companion_c_from_tilde(CA, CC[:1], L), arg("c_tilde")),
            error(
                "range",
                lambda: ssm.companion_c_from_tilde(np.array([1.0, 0.0, 0.0]), CC, 3),
                arg("c_tilde"),
            ),
        ],
        "companion_state": [
            ok(
                "valid",
                lambda: ssm.companion_state(CA, CB, U0[:, 0]),
                check=lambda x: np.allclose(
                    x,
                    sum(
                        np.linalg.matrix_power(_cdense(), L - 1 - t) @ CB * U0[t, 0]
                        for t in range(L)
                    ),
                ),
            ),
            error("shape", lambda: ssm.companion_state(CA, CB, U0), arg("u")),
            error("empty", lambda: ssm.companion_state(CA, CB, np.zeros(0)), arg("u")),
            error(
                "nonfinite", lambda: ssm.companion_state(CA, CB, _set(U0[:, 0], NAN, 2)), arg("u")
            ),
            error("shape", lambda: ssm.companion_state(CA, CB[:2], U0[:, 0]), arg("b")),
        ],
        "companion_closed_loop": [
            ok(
                "valid",
                lambda: ssm.companion_closed_loop(CA, CB, CC, CK, CB, 5)[0],
                check=lambda y: np.allclose(
                    y,
                    [
                        CC @ np.linalg.matrix_power(_cdense() + np.outer(CB, CK), j) @ CB
                        for j in range(1, 6)
                    ],
                ),
            ),
            error(
                "range", lambda: ssm.companion_closed_loop(CA, CB, CC, CK, CB, 0), arg("horizon")
            ),
            error("shape", lambda: ssm.companion_closed_loop(CA, CB, CC, CK[:2], CB, 5), arg("k")),
            error(
                "nonfinite",
                lambda: ssm.companion_closed_loop(CA, CB, CC, CK, _set(CB, NAN, 0), 5),
                arg("x0"),
            ),
            error(
                "magnitude",
                lambda: ssm.companion_closed_loop(CA, CB, CC, 1e30 * CK, CB, 50),
                "overflows",
            ),
        ],
    }
)


# -------------------------------------------------------------------- selective scan (issue 13)
SN = 2  # state size of the selective-scan probes (L = 6 steps, H = 2 channels)
SU = U0
SDELTA = np.random.default_rng(4).uniform(0.05, 0.5, (L, H))
SA = -np.array([[0.5, 1.0], [1.5, 2.0]])
SB = np.random.default_rng(5).normal(size=(L, SN))
SC = np.random.default_rng(6).normal(size=(L, SN))


def _sel_ref(u=SU, delta=SDELTA, A=SA, B=SB, C=SC, D=None, zoh=False):
    h, ys = np.zeros((H, SN)), []
    for t in range(u.shape[0]):
        dA = delta[t][:, None] * A
        bbar = (np.expm1(dA) / A if zoh else delta[t][:, None]) * B[t]
        h = np.exp(dA) * h + bbar * u[t][:, None]
        ys.append(h @ C[t] + (0 if D is None else D * u[t]))
    return np.array(ys)


def _selective_probes(fn):
    args = (SU, SDELTA, SA, SB, SC)
    return [
        ok("valid", lambda: fn(*args, D0), check=lambda y: np.allclose(y, _sel_ref(D=D0))),
        ok(
            "valid",
            lambda: fn(*args, discretization="zoh"),
            check=lambda y: np.allclose(y, _sel_ref(zoh=True)),
        ),
        error("shape", lambda: fn(SU[:, :1], *args[1:]), arg("delta")),
        error("shape", lambda: fn(SU, SDELTA, SA[:, :1], SB, SC), arg("B")),
        error("shape", lambda: fn(SU, SDELTA, SA[:1], SB, SC), arg("A")),
        error("shape", lambda: fn(SU, SDELTA, SA, SB[:3], SC), arg("B")),
        error("shape", lambda: fn(SU, SDELTA, SA, SB, SC[:, :1]), arg("C")),
        error("shape", lambda: fn(*args, D0[:1]), arg("D")),
        error("shape", lambda: fn(*args, h0=np.zeros((SN, H + 1))), arg("h0")),
        error("shape", lambda: fn(SU[0], SDELTA[0], SA, SB[0], SC[0]), arg("u")),
        error("empty", lambda: fn(SU[:0], SDELTA[:0], SA, SB[:0], SC[:0]), arg("u")),
        error("range", lambda: fn(SU, SDELTA, -SA, SB, SC), arg("A")),
        error("range", lambda: fn(SU, -SDELTA, SA, SB, SC), arg("delta")),
        error("range", lambda: fn(*args, discretization="bilinear"), arg("discretization")),
        error("nonfinite", lambda: fn(_set(SU, NAN), *args[1:]), arg("u")),
        error("nonfinite", lambda: fn(SU, SDELTA, SA, SB, _set(SC, INF)), arg("C")),
        error("dtype", lambda: fn(SU + 0j, *args[1:]), arg("u")),
        error("dtype", lambda: fn("u", *args[1:]), arg("u")),
        ok(
            "dtype",
            lambda: fn(*(jnp.asarray(a, jnp.float32) for a in args)),
            check=lambda y: y.dtype == jnp.float32 and np.allclose(y, _sel_ref(), atol=1e-4),
        ),  # fmt: skip
        error("list", lambda: fn(*(a.tolist() for a in args)), arg("u")),
        ok(
            "magnitude",
            lambda: fn(SU * 1e-300, *args[1:]),
            check=lambda y: np.allclose(y / 1e-300, _sel_ref()),
        ),
        ok(
            "transform",
            lambda: jax.jit(lambda u: fn(u, *args[1:]))(jnp.asarray(SU)),
            check=lambda y: np.allclose(y, _sel_ref()),
        ),
        ok(
            "transform",
            lambda: jax.vmap(lambda u: fn(u, *args[1:]))(jnp.stack([SU, 2 * SU])),
            check=lambda y: np.allclose(y[1], 2 * _sel_ref()),
        ),
        error(
            "transform",
            lambda: jax.vmap(lambda d: fn(SU, d, *args[2:]))(jnp.stack([SDELTA, -SDELTA])),
            arg("delta"),
        ),
        ok(
            "transform",
            lambda: jax.grad(lambda A: fn(*args[:2], A, *args[3:]).sum())(jnp.asarray(SA)),
            check=lambda g: g.shape == (H, SN),
        ),
    ]


REGISTRY.update(
    {
        "selective_scan": [
            *_selective_probes(ssm.selective_scan),
            ok(
                "valid",
                lambda: ssm.selective_scan(SU, SDELTA, SA, SB, SC, chunk=4, return_state=True)[0],
                check=lambda y: np.allclose(y, _sel_ref()),
            ),
            error(
                "range", lambda: ssm.selective_scan(SU, SDELTA, SA, SB, SC, chunk=0), arg("chunk")
            ),
            error(
                "dtype", lambda: ssm.selective_scan(SU, SDELTA, SA, SB, SC, chunk=2.0), arg("chunk")
            ),
            error(
                "range", lambda: ssm.selective_scan(SU, SDELTA, SA, SB, SC, inner="x"), arg("inner")
            ),
        ],
        "selective_scan_naive": _selective_probes(ssm.selective_scan_naive),
        "selective_step": [
            ok(
                "valid",
                lambda: ssm.selective_step(
                    np.zeros((H, SN)), SU[0], SDELTA[0], SA, SB[0], SC[0], D0
                )[0],
                check=lambda y: np.allclose(y, _sel_ref(D=D0)[0]),
            ),
            error(
                "shape",
                lambda: ssm.selective_step(np.zeros((H, 3)), SU[0], SDELTA[0], SA, SB[0], SC[0]),
                arg("h"),
            ),
            error(
                "shape",
                lambda: ssm.selective_step(np.zeros((H, SN)), SU, SDELTA[0], SA, SB[0], SC[0]),
                arg("u"),
            ),
            error(
                "range",
                lambda: ssm.selective_step(np.zeros((H, SN)), SU[0], -SDELTA[0], SA, SB[0], SC[0]),
                arg("delta"),
            ),
            error(
                "range",
                lambda: ssm.selective_step(np.zeros((H, SN)), SU[0], SDELTA[0], -SA, SB[0], SC[0]),
                arg("A"),
            ),
            error(
                "nonfinite",
                lambda: ssm.selective_step(
                    np.full((H, SN), NAN), SU[0], SDELTA[0], SA, SB[0], SC[0]
                ),
                arg("h"),
            ),
        ],
    }
)


# ------------------------------------------------------------- Mamba and token dynamics (issue 13)
@functools.cache
def mamba_block(io=None, reorder=False):
    return ssm.MambaBlock(H, d_state=2, io=io, reorder=reorder, key=KEY)


@functools.cache
def mamba_model(embedding=False, pool="mean"):
    return ssm.MambaModel(
        4 if embedding else H, 1, d_model=2, n_layers=1, d_state=2, embedding=embedding,
        pool=pool, key=KEY,
    )  # fmt: skip


@eqx.filter_jit
def _mamba_stream(module, xs):
    """Streaming outputs through ``module.step`` (one compiled scan: eager steps are slow to dispatch)."""
    return jax.lax.scan(lambda s, x: module.step(s, x)[::-1], module.init_state(), xs)[1]


def _mamba_stream_check(module, xs):
    return np.asarray(_mamba_stream(module, xs))


TD_ARGS = (U0[:4] * 0.3, SB[:2], SC[:2], np.eye(H), SA)  # x (4, 2); S_B, S_C (N = 2, D = 2)


def _td_field_ref(x, S_B, S_C, S_delta, A):
    sp = np.log1p(np.exp(x @ S_delta.T))
    out = np.zeros_like(x)
    for l in range(x.shape[0]):
        for j in range(l + 1):
            acc = sp[j + 1 : l + 1].sum(axis=0)
            for d in range(x.shape[1]):
                out[l, d] += (
                    (S_C @ x[l]) @ (np.exp(A[d] * acc[d]) * (S_B @ x[j])) * sp[j, d] * x[j, d]
                )
    return out


def _psd(M):
    M = np.asarray(M)
    return np.allclose(M, M.T) and np.linalg.eigvalsh(M).min() > -1e-10


REGISTRY.update(
    {
        "MambaBlock": [
            ok(
                "valid",
                lambda: call(mamba_block(), U),
                check=lambda y: (
                    y.shape == (L, H) and np.allclose(_mamba_stream_check(mamba_block(), U), y)
                ),
            ),
            ok(
                "valid",
                lambda: call(mamba_block("positive", True), U),
                check=lambda y: y.shape == (L, H),
            ),
            error("range", lambda: ssm.MambaBlock(0, key=KEY), arg("d_model")),
            error("range", lambda: ssm.MambaBlock(H, d_state=0, key=KEY), arg("d_state")),
            error("range", lambda: ssm.MambaBlock(H, io="psd", key=KEY), arg("io")),
            error(
                "range",
                lambda: ssm.MambaBlock(H, io="positive", d_state=8, key=KEY),
                arg("d_state"),
            ),
            error(
                "range", lambda: ssm.MambaBlock(H, dt_min=1.0, dt_max=0.1, key=KEY), arg("dt_min")
            ),
            error(
                "range",
                lambda: ssm.MambaBlock(H, discretization="rk4", key=KEY),
                arg("discretization"),
            ),
            error("range", lambda: ssm.MambaBlock(H, chunk=0, key=KEY), arg("chunk")),
            error("dtype", lambda: ssm.MambaBlock(H, dtype=jnp.int32, key=KEY), arg("dtype")),
            error("dtype", lambda: ssm.MambaBlock(2.0, key=KEY), arg("d_model")),
            error("shape", lambda: call(mamba_block(), U[:, :1]), arg("u")),
            error("empty", lambda: call(mamba_block(), U[:0]), arg("u")),
            error("nonfinite", lambda: call(mamba_block(), _set(U, NAN)), arg("u")),
            error("dtype", lambda: call(mamba_block(), U + 0j), arg("u")),
            error("shape", lambda: mamba_block().step(mamba_block().init_state(), U), arg("u")),
            error("key", lambda: ssm.MambaBlock(H, key=jax.random.split(KEY, 2)), arg("key")),
            ok("key", lambda: ssm.MambaBlock(H, key=RAW_KEY).D),
            ok(
                "transform",
                lambda: (
                    eqx.filter_jit(eqx.filter_vmap(lambda k: ssm.MambaBlock(H, d_state=2, key=k)))(
                        jax.random.split(KEY, 2)
                    ).A_log
                ),
                check=lambda a: a.shape == (2, 2 * H, 2),
            ),
            ok(
                "transform",
                lambda: vcall(mamba_block(), jnp.stack([U, U])),
                check=lambda y: y.shape == (2, L, H),
            ),
        ],
        "MambaModel": [
            ok(
                "valid",
                lambda: call(mamba_model(True, None), jnp.array([0, 3, 1, 2])),
                check=lambda y: np.allclose(
                    _mamba_stream_check(mamba_model(True, None), jnp.array([0, 3, 1, 2])), y
                ),
            ),
            ok("valid", lambda: call(mamba_model(), U), check=lambda y: y.shape == (1,)),
            error("range", lambda: ssm.MambaModel(H, 1, n_layers=0, key=KEY), arg("n_layers")),
            error("range", lambda: ssm.MambaModel(H, 1, pool="max", key=KEY), arg("pool")),
            error("range", lambda: ssm.MambaModel(0, 1, key=KEY), arg("d_input")),
            error("range", lambda: ssm.MambaModel(H, 1, d_model=2, io="psd", key=KEY), arg("io")),
            error("dtype", lambda: call(mamba_model(True, None), jnp.array([0.5, 1.0])), arg("x")),
            error("shape", lambda: call(mamba_model(), U[:, :1]), arg("x")),
            error("nonfinite", lambda: call(mamba_model(), _set(U, INF)), arg("x")),
            error("key", lambda: ssm.MambaModel(H, 1, key=None), arg("key")),
        ],
        "RMSNorm": [
            ok(
                "valid",
                lambda: ssm.RMSNorm(H)(U[0]),
                check=lambda y: np.allclose(y, U0[0] / np.sqrt(np.mean(U0[0] ** 2) + 1e-5)),
            ),
            error("range", lambda: ssm.RMSNorm(0), arg("d")),
            error("range", lambda: ssm.RMSNorm(H, eps=-1.0), arg("eps")),
        ],
        "IO_KINDS": [
            ok("valid", lambda: ssm.IO_KINDS, check=lambda k: "positive" in k and None in k)
        ],
        "SCENARIOS": [ok("valid", lambda: ssm.SCENARIOS, check=lambda s: len(s) == 3)],
        "structured_io_factors": [
            ok(
                "valid",
                lambda: ssm.structured_io_factors(jnp.asarray(SB[:2]), jnp.asarray(D0)),
                check=lambda f: _psd(f[1].T @ f[0]),
            ),
            error(
                "range",
                lambda: ssm.structured_io_factors(jnp.asarray(SB[:2]), jnp.asarray(D0), "psd"),
                arg("kind"),
            ),
            error(
                "shape",
                lambda: ssm.structured_io_factors(jnp.asarray(SB[:2]), jnp.asarray(D0[:1])),
                arg("d"),
            ),
            error(
                "shape",
                lambda: ssm.structured_io_factors(jnp.asarray(SB[:2].T.repeat(2, 1)), jnp.zeros(4)),
                arg("P"),
            ),
        ],
        "input_output_matrix": [
            ok(
                "valid",
                lambda: ssm.input_output_matrix(mamba_block("positive")),
                check=lambda M: M.shape == (2 * H, 2 * H) and _psd(M),
            ),
            ok(
                "valid",
                lambda: ssm.input_output_matrix((SB[:2], SC[:2])),
                check=lambda M: np.allclose(M, SC[:2].T @ SB[:2]),
            ),
            error("shape", lambda: ssm.input_output_matrix((SB[:2], SC[:1])), arg("S_B")),
            error("dtype", lambda: ssm.input_output_matrix("block"), arg("block")),
        ],
        "classify_token_dynamics": [
            ok(
                "valid",
                lambda: ssm.classify_token_dynamics(-np.eye(2)),
                check=lambda s: s == "convergent",
            ),
            ok(
                "valid",
                lambda: ssm.classify_token_dynamics(mamba_block("negative")),
                check=lambda s: s == "convergent",
            ),
            ok(
                "valid",
                lambda: ssm.classify_token_dynamics((SB[:2], SB[:2])),
                check=lambda s: s == "divergent",
            ),
            error("shape", lambda: ssm.classify_token_dynamics(np.zeros((2, 3))), arg("block")),
            error(
                "nonfinite", lambda: ssm.classify_token_dynamics(np.full((2, 2), NAN)), arg("block")
            ),
            error("range", lambda: ssm.classify_token_dynamics(np.eye(2), rtol=-1.0), arg("rtol")),
        ],
        "softsort": [
            ok(
                "valid",
                lambda: ssm.softsort(jnp.array([0.3, -1.0, 2.0]), 0.01),
                check=lambda P: np.allclose(P, np.eye(3)[[1, 0, 2]]),
            ),
            ok("valid", lambda: ssm.softsort(U[:, 0]), check=lambda P: np.allclose(P.sum(1), 1)),
            error("shape", lambda: ssm.softsort(U), arg("s")),
            error("empty", lambda: ssm.softsort(jnp.zeros(0)), arg("s")),
            error("range", lambda: ssm.softsort(U[:, 0], 0.0), arg("tau")),
            error("nonfinite", lambda: ssm.softsort(_set(U[:, 0], NAN, 0)), arg("s")),
            error("dtype", lambda: ssm.softsort(U[:, 0] + 0j), arg("s")),
            ok(
                "transform",
                lambda: jax.jit(ssm.softsort)(U[:, 0]),
                check=lambda P: P.shape == (L, L),
            ),
        ],
        "token_dynamics_field": [
            ok(
                "valid",
                lambda: ssm.token_dynamics_field(*TD_ARGS),
                check=lambda y: np.allclose(y, _td_field_ref(*TD_ARGS)),
            ),
            error(
                "shape",
                lambda: ssm.token_dynamics_field(TD_ARGS[0], SB[:1], *TD_ARGS[2:]),
                arg("S_B"),
            ),
            error("shape", lambda: ssm.token_dynamics_field(TD_ARGS[0][0], *TD_ARGS[1:]), arg("x")),
            error("range", lambda: ssm.token_dynamics_field(*TD_ARGS[:4], -SA), arg("A")),
            error(
                "nonfinite",
                lambda: ssm.token_dynamics_field(_set(TD_ARGS[0], NAN), *TD_ARGS[1:]),
                arg("x"),
            ),
        ],
        "token_dynamics_stack": [
            ok(
                "valid",
                lambda: ssm.token_dynamics_stack(*TD_ARGS, dt=0.1, n_layers=1),
                check=lambda s: np.allclose(s[1], TD_ARGS[0] + 0.1 * _td_field_ref(*TD_ARGS)),
            ),
            error(
                "range",
                lambda: ssm.token_dynamics_stack(*TD_ARGS, dt=0.1, n_layers=0),
                arg("n_layers"),
            ),
            error(
                "range", lambda: ssm.token_dynamics_stack(*TD_ARGS, dt=-0.1, n_layers=2), arg("dt")
            ),
        ],
        "token_dynamics_ode": [
            ok(
                "valid",
                lambda: ssm.token_dynamics_ode(
                    *TD_ARGS, jnp.array([0.0, 0.01]), rtol=1e-10, atol=1e-12
                ),
                check=lambda sol: np.allclose(
                    sol.value[1], TD_ARGS[0] + 0.01 * _td_field_ref(*TD_ARGS), atol=1e-4
                ),
            ),
            error("shape", lambda: ssm.token_dynamics_ode(*TD_ARGS, jnp.zeros((2, 2))), arg("ts")),
            error(
                "range",
                lambda: ssm.token_dynamics_ode(*TD_ARGS, jnp.array([0.0, 0.1]), max_steps=0),
                arg("max_steps"),
            ),
            error(
                "range", lambda: ssm.token_dynamics_ode(*TD_ARGS, jnp.array([0.5, 0.1])), arg("ts")
            ),
            error(
                "shape",
                lambda: ssm.token_dynamics_ode(TD_ARGS[0], SB[:1], *TD_ARGS[2:], jnp.array([0.1])),
                arg("S_B"),
            ),
        ],
    }
)


# --------------------------------------------------------------------- SpaceTime layers (issue 14)
@functools.cache
def _companion_layer():
    return ssm.CompanionSSM(H, 3, key=KEY)


@functools.cache
def _spacetime():
    return ssm.SpaceTime(3, H=4, d=2, kernel_repeat=2, key=KEY)


def _fir_stream(layer, u):
    x, ys = layer.init_state(), []
    for t in range(u.shape[0]):
        y, x = layer.step(x, u[t])
        ys.append(y)
    return np.stack(ys)


REGISTRY.update(
    {
        "CompanionSSM": [
            ok(
                "valid",
                lambda: call(_companion_layer(), U),
                check=lambda y: np.allclose(y, _fir_stream(_companion_layer(), U)),
            ),
            error("range", lambda: ssm.CompanionSSM(0, 3, key=KEY), arg("H")),
            error("range", lambda: ssm.CompanionSSM(H, 0, key=KEY), arg("d")),
            error(
                "range",
                lambda: ssm.CompanionSSM(3, 2, kernel_repeat=2, key=KEY),
                arg("kernel_repeat"),
            ),
            error("shape", lambda: call(_companion_layer(), U[:, :1]), arg("u")),
            error("nonfinite", lambda: call(_companion_layer(), _set(U, NAN)), arg("u")),
            error("key", lambda: ssm.CompanionSSM(H, 3, key=jax.random.split(KEY, 2)), arg("key")),
        ],
        "ShiftSSM": [
            ok(
                "valid",
                lambda: call(ssm.ShiftSSM(H, 3, key=KEY), U),
                check=lambda y: np.allclose(y, _fir_stream(ssm.ShiftSSM(H, 3, key=KEY), U)),
            ),
            error("range", lambda: ssm.ShiftSSM(H, 0, key=KEY), arg("d")),
            error("shape", lambda: call(ssm.ShiftSSM(H, 3, key=KEY), U[0]), arg("u")),
        ],
        "PreprocessSSM": [
            ok(
                "valid",
                lambda: call(ssm.PreprocessSSM(H, diff_orders=(1,), ma_windows=(2,)), U),
                check=lambda y: (
                    np.allclose(y[1:, 0], np.diff(U0[:, 0]))
                    and np.allclose(y[1:, 1], U0[1:, 1] - (U0[1:, 1] + U0[:-1, 1]) / 2)
                ),
            ),
            error("range", lambda: ssm.PreprocessSSM(H, diff_orders=(5,)), arg("diff_orders")),
            error("range", lambda: ssm.PreprocessSSM(H, ma_windows=(0,)), arg("ma_windows")),
            error(
                "empty",
                lambda: ssm.PreprocessSSM(H, diff_orders=(), ma_windows=()),
                arg("diff_orders"),
            ),
        ],
        "ClosedLoopCompanionSSM": [
            ok(
                "valid",
                lambda: call(ssm.ClosedLoopCompanionSSM(H, 3, horizon=4, key=KEY), U),
                check=lambda y: y.shape == (4, H),
            ),
            error(
                "range",
                lambda: ssm.ClosedLoopCompanionSSM(H, 3, horizon=0, key=KEY),
                arg("horizon"),
            ),
            error(
                "nonfinite",
                lambda: call(ssm.ClosedLoopCompanionSSM(H, 3, horizon=4, key=KEY), _set(U, INF)),
                arg("u"),
            ),
        ],
        "SpaceTime": [
            ok(
                "valid",
                lambda: call(_spacetime(), U0[:, 0]),
                check=lambda f: np.allclose(call(_spacetime(), U0[:, 0] + 2.0), f + 2.0),
            ),
            error("range", lambda: ssm.SpaceTime(0, key=KEY), arg("horizon")),
            error(
                "range", lambda: ssm.SpaceTime(3, H=4, d=2, dropout=1.5, key=KEY), arg("dropout")
            ),
            error("shape", lambda: call(_spacetime(), U0[:1, 0]), arg("x")),
        ],
        "spacetime_loss": [
            ok(
                "valid",
                lambda: ssm.spacetime_loss(jnp.array([1.0, 1.0, 0.5]), jnp.zeros(2)),
                check=lambda v: np.allclose(v, 1.5, atol=1e-5),
            ),
            error("shape", lambda: ssm.spacetime_loss(jnp.ones(3), jnp.zeros(3)), arg("y")),
            error("dtype", lambda: ssm.spacetime_loss({"a": 1}, jnp.zeros(3)), arg("prediction")),
        ],
    }
)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "name, index, probe",
    probe_ids(REGISTRY),
    ids=[f"{n}-{i}-{p.category}" for n, i, p in probe_ids(REGISTRY)],
)
def test_probe(name, index, probe):
    run_probe(probe)
