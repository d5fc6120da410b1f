"""Bad-input probes of ``jaxsci.monotone`` (issue 11): every public name, valid and bad inputs.

Problems are tiny (d <= 6) and reused, budgets are fixed (``max_epochs``/``num_logs`` are static, so
one compilation per solver and problem type serves most probes). References are float64 NumPy.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from badinputs import arg, error, ok, probe_ids, run_probe, status

import jaxsci.monotone as mono
from jaxsci import RESULTS

F32 = jnp.float32

# ---------------------------------------------------------------------------------------------------
# shared problems and references

_RNG = np.random.default_rng(3)
_B = _RNG.normal(size=(4, 4))
M = _B @ _B.T / 4 + np.eye(4)  # symmetric positive definite: strongly monotone, cocoercive
Q = _RNG.normal(size=4)
Z_STAR = np.linalg.solve(M, -Q)
P = mono.AffineFiniteSum(M, Q)  # float64
P32 = mono.AffineFiniteSum(M.astype(np.float32), Q.astype(np.float32))
LIP = float(np.linalg.norm(M, 2))
LBAR = float(P.average_lipschitz)
Z0 = jnp.zeros(4)
Z0_32 = jnp.zeros(4, F32)
RPS = np.array([[0.0, 1.0, -1.0], [-1.0, 0.0, 1.0], [1.0, -1.0, 0.0]])  # value 0, uniform solution
GAME = mono.BilinearGame(RPS)
GAME_PIVOT = mono.BilinearGame(RPS, simplex_method="pivot")
G0 = jnp.full(6, 1.0 / 3)
SKEW = np.array([[0.0, 1.0], [-1.0, 0.0]])  # F(z) = Sz: monotone, not cocoercive, solution 0
EPOCHS, LOGS = 400, 41
KEY = jax.random.key(0)

STEPS = {
    "halpern": 1 / LIP,
    "extragradient": 0.5 / LIP,
    "anchored_extragradient": 0.9 / LIP,
    "vr_extragradient": 1.5 * math.sqrt(1 / 4) / LBAR,
    "vr_halpern": 1 / LBAR,
    "inexact_vr_halpern": 10 / LIP,
}
EXTRA = {
    "halpern": {"restart_factor": 0.5},
    "anchored_extragradient": {"restart_factor": 0.3},
    "vr_halpern": {"restart_factor": 0.5},
    "inexact_vr_halpern": {"inner_steps_c": 3.0, "snapshot": "theory", "restart_factor": 0.5},
}
# the tolerance of the valid calls (Algorithm 2 is slow on this problem) and the error it allows
TOL = {"inexact_vr_halpern": 1e-2}
ERR = {"inexact_vr_halpern": 2e-2}
CLASSES = {
    "halpern": "Halpern",
    "extragradient": "Extragradient",
    "anchored_extragradient": "AnchoredExtragradient",
    "vr_extragradient": "VRExtragradient",
    "vr_halpern": "VRHalpern",
    "inexact_vr_halpern": "InexactVRHalpern",
}
STOCHASTIC = ("vr_extragradient", "vr_halpern", "inexact_vr_halpern")
FULL = ("halpern", "vr_halpern")  # the full matrix; the others get the core probes (runtime)


def near(ref, rtol=1e-3):
    def check(out):
        value = out.value if hasattr(out, "value") else out
        ref_ = np.asarray(ref, np.float64)
        scale = max(float(np.max(np.abs(ref_), initial=0.0)), 1e-300)  # no overflow in the check
        err = np.linalg.norm((np.asarray(value, np.float64) - ref_) / scale)
        assert err <= rtol * max(np.linalg.norm(ref_ / scale), 1e-300), f"relative error {err:.3e}"

    return check


def _config(name, kw):
    args = {
        "step_size": STEPS[name],
        "max_epochs": EPOCHS,
        "num_logs": LOGS,
        "tol": TOL.get(name, 1e-6),
        **EXTRA.get(name, {}),
    }
    args.update(kw)
    return args


def call(name, problem=P, z0=Z0, **kw):
    """The one-line solver ``name`` with the shared budget and defaults (overridable); ``throw=False``
    by default, so that valid and failing probes share one compilation."""
    kw.setdefault("throw", False)
    if name in STOCHASTIC:
        kw.setdefault("key", KEY)
    return getattr(mono, name)(problem, z0, **_config(name, kw))


def solver(name, **kw):
    return getattr(mono, CLASSES[name])(**_config(name, kw))


def solve_with(name, problem=P, z0=Z0, *, key=KEY, throw=False, **kw):
    s = solver(name, **kw)
    return s.solve(s.init(problem), z0, key=key if name in STOCHASTIC else None, throw=throw)


def good(name):
    return near(Z_STAR, ERR.get(name, 1e-4))


def members(sol, *expected):
    """Under vmap: member i has status ``expected[i]`` (returned as bools, so no float is checked)."""
    got = np.asarray(sol.result._value)
    want = np.asarray([getattr(RESULTS, e)._value for e in expected])
    assert np.array_equal(got, want), f"member statuses {got} != {want} ({expected})"
    return got == want


def scaled_problem(scale, dtype=np.float64):
    return mono.AffineFiniteSum(M.astype(dtype), (scale * Q).astype(dtype))


def simplex_ref(v, radius=1.0):
    """Float64 reference by bisection on the threshold (no cumulative sums)."""
    v = np.asarray(v, np.float64)
    lo, hi = v.min() - radius, v.max()
    for _ in range(2000):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if np.maximum(v - mid, 0).sum() > radius:
            lo = mid
        else:
            hi = mid
    return np.maximum(v - hi, 0)


def on_simplex(radius=1.0, ref=None, atol=None):
    def check(out):
        x = np.asarray(out, np.float64)
        eps = np.finfo(np.asarray(out).dtype).eps
        assert np.all(x >= 0), f"negative entries {x}"
        assert abs(x.sum() - radius) <= 8 * x.size * eps * radius, f"sum {x.sum()} != {radius}"
        if ref is not None:
            tol = atol if atol is not None else 8 * x.size * eps * radius
            assert np.max(np.abs(x - np.asarray(ref))) <= tol, f"{x} != {ref}"

    return check


def residual_small(problem, tol):
    def check(out):
        assert float(problem.residual(out.value)) <= tol

    return check


class Orthant(mono.AbstractConstraint):
    """A user constraint: the nonnegative orthant."""

    def project(self, z):
        return jnp.maximum(z, 0)

    def support(self, g):
        return jnp.where(jnp.all(g <= 0), jnp.zeros((), g.dtype), jnp.inf)


class Diagonal(mono.AbstractFiniteSumProblem):
    """A user problem: F(z) = d * z - c with one coordinate per component."""

    d: jax.Array
    c: jax.Array
    constraint: mono.AbstractConstraint

    @property
    def num_components(self):
        return self.d.shape[0]

    @property
    def dim(self):
        return self.d.shape[0]

    def operator(self, z):
        return self.d * z - self.c

    def batch_operator(self, z, idx):
        n, b = self.num_components, idx.shape[0]
        e = jnp.zeros_like(z).at[idx].add(n / b)
        return e * (self.d * z - self.c)


DIAG = Diagonal(jnp.array([1.0, 2.0, 3.0]), jnp.array([1.0, -2.0, 3.0]), Orthant())


def lr_data(nan=False):
    x = np.array([[1.0, 0.5], [-0.3, 1.2], [0.7, -0.8], [-1.1, -0.2], [0.4, 0.9]])
    if nan:
        x[1, 0] = np.nan
    return x, np.array([1.0, -1.0, 1.0, -1.0, 1.0])


LR = mono.RobustLogisticRegression(*lr_data())


def finite_sum_identity(problem):
    def check(out):
        z = jnp.asarray(np.linspace(-0.5, 0.5, problem.dim))
        full = np.asarray(problem.operator(z))
        parts = np.mean(
            [
                np.asarray(problem.batch_operator(z, jnp.array([i])))
                for i in range(problem.num_components)
            ],
            axis=0,
        )
        np.testing.assert_allclose(parts, full, rtol=1e-10, atol=1e-10)

    return check


def _vmap_z0(name, bad):
    zs = jnp.stack([Z0, jnp.full(4, bad)])
    return jax.vmap(lambda z: call(name, z0=z, throw=False))(zs)


def _solver_probes(name):
    """Probes of the one-line solver ``name``: static mistakes (cheap, all solvers), and the compiled
    probes (core for all, the full matrix for ``FULL``)."""
    full = name in FULL
    nan_matrix = np.where(np.eye(4) > 0, np.nan, M)
    probes = [
        ok("valid", lambda: call(name), good(name)),
        # ---- static mistakes: errors naming the argument, before anything compiles
        error("shape", lambda: call(name, z0=jnp.zeros(3)), arg("z0")),
        error("shape", lambda: call(name, z0=jnp.zeros((4, 1))), arg("z0")),
        error("empty", lambda: call(name, z0=jnp.zeros(0)), arg("z0")),
        error("dtype", lambda: call(name, z0=jnp.zeros(4, jnp.complex64)), arg("z0")),
        error("dtype", lambda: call(name, z0=jnp.zeros(4, bool)), arg("z0")),
        error("dtype", lambda: call(name, z0=jnp.zeros(4, jnp.int32)), arg("z0")),
        error("list", lambda: call(name, z0=[0.0, 0.0, 0.0, 0.0]), arg("z0")),
        error("dtype", lambda: call(name, step_size="fast"), arg("step_size")),
        error("dtype", lambda: call(name, max_epochs="10"), arg("max_epochs")),
        error("dtype", lambda: call(name, tol="small"), arg("tol")),
        error("dtype", lambda: call(name, tol=jnp.ones(2)), arg("tol")),
        error("dtype", lambda: call(name, max_epochs=jnp.asarray(10)), arg("max_epochs")),
        error("range", lambda: call(name, step_size=-0.1), arg("step_size")),
        error("range", lambda: call(name, step_size=0.0), arg("step_size")),
        error("range", lambda: call(name, step_size=float("nan")), arg("step_size")),
        error("range", lambda: call(name, step_size=float("inf")), arg("step_size")),
        error("range", lambda: call(name, max_epochs=0), arg("max_epochs")),
        error("range", lambda: call(name, max_epochs=-5), arg("max_epochs")),
        error("range", lambda: call(name, max_epochs=float("nan")), arg("max_epochs")),
        error("range", lambda: call(name, max_epochs=float("inf")), arg("max_epochs")),
        error("range", lambda: call(name, tol=-1e-3), arg("tol")),
        error("range", lambda: call(name, tol=float("nan")), arg("tol")),
        error("range", lambda: call(name, num_logs=1), arg("num_logs")),
        error("range", lambda: call(name, log_every=-1.0), arg("log_every")),
        error("dtype", lambda: call(name, problem="P"), arg("problem")),
        # ---- compiled (one compilation: float64, throw=False)
        status(
            "nonfinite",
            lambda: call(name, z0=Z0.at[1].set(jnp.nan)),
            "nonfinite_input",
        ),
        status(
            "nonfinite",
            lambda: call(name, z0=Z0.at[1].set(jnp.inf)),
            "nonfinite_input",
        ),
        status(
            "nonfinite",
            lambda: call(name, problem=mono.AffineFiniteSum(nan_matrix, Q)),
            "nonfinite_input",
            id="nan-matrix",
        ),
        ok("list", lambda: call(name, z0=np.zeros(4)), good(name)),
        ok(
            "magnitude",
            lambda: call(name, problem=scaled_problem(1e-300), tol=TOL.get(name, 1e-6) * 1e-300),
            near(1e-300 * Z_STAR, ERR.get(name, 1e-4)),
            id="1e-300",
        ),
        ok(
            "magnitude",
            lambda: call(name, problem=scaled_problem(1e300), tol=TOL.get(name, 1e-6) * 1e300),
            near(1e300 * Z_STAR, ERR.get(name, 1e-4)),
            id="1e300",
        ),
        status(
            "range",
            lambda: call(
                name,
                **(
                    {"inner_step_size": 100.0}
                    if name == "inexact_vr_halpern"
                    else {"step_size": STEPS[name] * 1e3}
                ),
            ),
            "diverged",
            id="diverging step",
        ),
        ok(
            "transform",
            lambda: members(
                jax.vmap(lambda z: call(name, z0=z))(jnp.stack([Z0, Z0.at[0].set(jnp.nan)])),
                "successful",
                "nonfinite_input",
            ),
            id="vmap one NaN",
        ),
    ]
    if name in STOCHASTIC:
        probes += [
            error("key", lambda: call(name, key=None), arg("key")),
            error("key", lambda: call(name, key=jax.random.split(KEY, 2)), arg("key")),
            error("key", lambda: call(name, key=jnp.zeros(3, jnp.uint32)), arg("key")),
            error("key", lambda: call(name, key=jnp.zeros(2, jnp.float32)), arg("key")),
            error("key", lambda: call(name, key=0), arg("key")),
        ]
    if name in ("vr_halpern", "vr_extragradient"):
        probes += [
            error("range", lambda: call(name, batch_size=5), arg("batch_size")),
            error("range", lambda: call(name, batch_size=0), arg("batch_size")),
            error("dtype", lambda: call(name, batch_size=2.0), arg("batch_size")),
        ]
    if name in ("vr_extragradient", "inexact_vr_halpern"):
        probes += [
            error(
                "range", lambda: call(name, snapshot_probability=1.5), arg("snapshot_probability")
            ),
            error(
                "range", lambda: call(name, snapshot_probability=0.0), arg("snapshot_probability")
            ),
            error("dtype", lambda: call(name, step_size="adaptive"), arg("step_size")),
        ]
    if name in ("halpern", "vr_halpern", "anchored_extragradient", "inexact_vr_halpern"):
        probes.append(error("range", lambda: call(name, restart_factor=1.5), arg("restart_factor")))
    if name in ("halpern", "extragradient", "anchored_extragradient"):
        probes.append(
            status(
                "range",
                lambda: call(
                    name,
                    problem=mono.AffineFiniteSum(SKEW),
                    z0=jnp.ones(2),
                    step_size=20.0,
                    tol=None,
                    **({"restart_factor": None} if name != "extragradient" else {}),
                ),
                "diverged",
                id="skew diverging",
            )
        )
    if name == "inexact_vr_halpern":
        probes += [
            error("range", lambda: call(name, inner_step_size=-1.0), arg("inner_step_size")),
            error("range", lambda: call(name, snapshot="other"), arg("snapshot")),
            error(
                "nonfinite",
                lambda: call(name, problem=DIAG, z0=jnp.zeros(3), throw=True),
                arg("inner_step_size"),
                id="L unknown",
            ),
            error(
                "range",
                lambda: call(name, snapshot_probability=1.0, throw=True),
                arg("inner_step_size"),
                id="p = 1",
            ),
        ]
    if not full:
        return probes
    # ---- the full matrix (more compilations)
    probes += [
        ok("valid", lambda: call(name, tol=None), near(Z_STAR, 1e-3), id="tol=None"),
        ok("valid", lambda: call(name, throw=True), good(name), id="throw"),
        error(
            "nonfinite",
            lambda: call(name, z0=Z0.at[1].set(jnp.nan), throw=True),
            r"[Nn]on-?finite|NaN",
        ),
        ok(
            "valid",
            lambda: call(name, problem=P32, z0=Z0_32, tol=1e-4),
            near(Z_STAR, 1e-3),
            id="float32",
        ),
        ok(
            "dtype",
            lambda: call(name, problem=P32, z0=jnp.zeros(4, jnp.float16), tol=1e-4),
            near(Z_STAR, 1e-3),
        ),
        ok(
            "dtype",
            lambda: call(name, problem=P32, z0=jnp.zeros(4, jnp.bfloat16), tol=1e-4),
            near(Z_STAR, 1e-3),
        ),
        ok(
            "magnitude",
            lambda: call(name, problem=scaled_problem(1e-30, np.float32), z0=Z0_32, tol=1e-34),
            near(1e-30 * Z_STAR, 1e-3),
            id="1e-30 f32",
        ),
        ok(
            "magnitude",
            lambda: call(name, problem=scaled_problem(1e30, np.float32), z0=Z0_32, tol=1e26),
            near(1e30 * Z_STAR, 1e-3),
            id="1e30 f32",
        ),
        ok(
            "transform",
            lambda: jax.jit(lambda st: call(name, step_size=st))(jnp.asarray(STEPS[name])),
            good(name),
            id="traced step",
        ),
        error(
            "transform",
            lambda: call(name, step_size=jnp.asarray(-1.0)),
            arg("step_size"),
            id="bad array step",
        ),
        error(
            "range",
            lambda: call(name, restart_factor=jnp.asarray(2.0)),
            arg("restart_factor"),
        ),
        ok(
            "valid",
            lambda: (
                call(name, problem=DIAG, z0=jnp.zeros(3), step_size=0.3, batch_size=3)
                if name in STOCHASTIC
                else call(name, problem=DIAG, z0=jnp.zeros(3), step_size=0.3)
            ),
            near([1.0, 0.0, 1.0], 1e-4),
            id="user problem",
        ),
        ok(
            "valid",
            lambda: call(name, step_size="adaptive", tol=1e-4),
            near(Z_STAR, 1e-3),
            id="adaptive",
        ),
    ]
    if name == "halpern":
        probes.append(
            ok(
                "magnitude",
                lambda: call(
                    name,
                    problem=mono.BilinearGame(RPS.astype(np.float32), simplex_method="pivot"),
                    z0=jnp.array([2e7, 0, 0, 0, 0, 2e7], F32),
                    step_size=0.3,
                    tol=None,
                ),
                lambda out: np.all(np.asarray(out.value) >= 0),
                id="pivot game 2e7",
            )
        )
    if name in STOCHASTIC:
        probes += [
            ok("key", lambda: call(name, key=jax.random.PRNGKey(0)), good(name), id="raw key"),
            ok(
                "key",
                lambda: jax.vmap(lambda k: call(name, key=k))(jax.random.split(KEY, 2)),
                near(np.stack([Z_STAR, Z_STAR]), 1e-4),
                id="vmap keys",
            ),
        ]
    return probes


def _class_probes(name):
    return [
        ok("valid", lambda: solve_with(name), good(name)),
        ok(
            "valid",
            lambda: solver(name)(P, Z0, key=KEY if name in STOCHASTIC else None, throw=False),
            good(name),
        ),
        error("dtype", lambda: solver(name, step_size="fast"), arg("step_size")),
        error("range", lambda: solver(name, step_size=-1.0), arg("step_size")),
        error("range", lambda: solver(name, max_epochs=0), arg("max_epochs")),
        error("range", lambda: solver(name, tol=-1.0), arg("tol")),
        error("dtype", lambda: solver(name).solve("state", Z0, key=KEY), arg("state")),
        error("dtype", lambda: solver(name).init(jnp.eye(4)), arg("problem")),
        error("shape", lambda: solve_with(name, z0=jnp.zeros(5)), arg("z0")),
        status(
            "nonfinite",
            lambda: solve_with(name, z0=Z0.at[0].set(jnp.nan)),
            "nonfinite_input",
        ),
        error(
            "range",
            lambda: solve_with(name, step_size=jnp.asarray(float("nan"))),
            arg("step_size"),
        ),
    ]


# ---------------------------------------------------------------------------------------------------
# the registry

SIMPLEX_X = np.array([0.3, -0.2, 1.4, 0.9, 0.05])
SIMPLEX_REF = simplex_ref(SIMPLEX_X)


def _simplex_probes(method):
    ps = mono.project_simplex

    def p(z, **kw):
        return ps(z, method=method, **kw)

    return [
        ok("valid", lambda: p(jnp.asarray(SIMPLEX_X)), on_simplex(ref=SIMPLEX_REF)),
        ok(
            "valid",
            lambda: p(jnp.asarray(SIMPLEX_X), radius=2.5),
            on_simplex(2.5, simplex_ref(SIMPLEX_X, 2.5)),
        ),
        ok("valid", lambda: p(jnp.asarray(SIMPLEX_X, F32)), on_simplex(ref=SIMPLEX_REF, atol=1e-6)),
        ok("valid", lambda: p(jnp.asarray([0.2, 0.3, 0.5])), on_simplex(ref=[0.2, 0.3, 0.5])),
        ok("valid", lambda: p(jnp.asarray([0.5, 0.5, 0.5])), on_simplex(ref=[1 / 3, 1 / 3, 1 / 3])),
        ok(
            "magnitude",
            lambda: p(jnp.asarray([1e17, 1.0, 0.5])),
            on_simplex(ref=[1.0, 0.0, 0.0]),
            id="1e17",
        ),
        ok(
            "magnitude",
            lambda: p(jnp.asarray([2e7, 1.0, 0.5], F32)),
            on_simplex(ref=[1.0, 0.0, 0.0]),
            id="2e7 f32",
        ),
        ok(
            "magnitude",
            lambda: p(jnp.asarray([1e300, -1e300, 0.5])),
            on_simplex(ref=[1.0, 0.0, 0.0]),
        ),
        ok(
            "magnitude",
            lambda: p(jnp.asarray([1e30, 1e30, -1e30], F32)),
            on_simplex(ref=[0.5, 0.5, 0.0]),
        ),
        ok(
            "magnitude",
            lambda: p(jnp.asarray([1e17 + 1e2, 1e17, 1e17 - 1e2])),
            on_simplex(ref=[1.0, 0.0, 0.0]),
            id="1e17 spread",
        ),
        ok(
            "magnitude",
            lambda: p(jnp.asarray([1e17, 1e17, 5.0])),
            on_simplex(ref=[0.5, 0.5, 0.0]),
            id="1e17 tie",
        ),
        ok(
            "magnitude", lambda: p(jnp.asarray([1e-300, 0.0, -1e-300])), on_simplex(ref=[1 / 3] * 3)
        ),
        ok(
            "magnitude",
            lambda: p(jnp.asarray([1.0, 2.0]), radius=1e-300),
            on_simplex(1e-300, [0.0, 1e-300]),
        ),
        ok(
            "magnitude",
            lambda: p(jnp.asarray([1.0, 2.0]), radius=1e300),
            on_simplex(1e300, [0.5e300, 0.5e300]),
        ),
        ok(
            "magnitude",
            lambda: p(jnp.asarray(np.linspace(-3e7, 3e7, 64), F32)),
            on_simplex(ref=[0.0] * 63 + [1.0]),
            id="spread f32",
        ),
        error("nonfinite", lambda: p(jnp.asarray([jnp.nan, 0.0, 1.0])), arg("z")),
        error("nonfinite", lambda: p(jnp.asarray([jnp.inf, 0.0, 1.0])), arg("z")),
        error("nonfinite", lambda: p(jnp.asarray([1.0, 0.0]), radius=float("nan")), arg("radius")),
        error("range", lambda: p(jnp.asarray([1.0, 0.0]), radius=-1.0), arg("radius")),
        error("range", lambda: p(jnp.asarray([1.0, 0.0]), radius=0.0), arg("radius")),
        error("range", lambda: p(jnp.asarray([1.0, 0.0]), radius=jnp.asarray(-1.0)), arg("radius")),
        error("empty", lambda: p(jnp.zeros(0)), arg("z")),
        error("shape", lambda: p(jnp.zeros((2, 3))), arg("z")),
        error("shape", lambda: p(jnp.asarray(1.0)), arg("z")),
        error("dtype", lambda: p(jnp.asarray([1, 2, 3])), arg("z")),
        error("dtype", lambda: p(jnp.asarray([1.0, 2.0]) + 0j), arg("z")),
        error("dtype", lambda: p(jnp.asarray([True, False])), arg("z")),
        error("dtype", lambda: p(jnp.asarray([1.0, 2.0]), radius="1"), arg("radius")),
        ok(
            "dtype",
            lambda: p(jnp.asarray(SIMPLEX_X, jnp.float16)),
            on_simplex(ref=SIMPLEX_REF, atol=2e-3),
        ),
        ok(
            "dtype",
            lambda: p(jnp.asarray(SIMPLEX_X, jnp.bfloat16)),
            on_simplex(ref=SIMPLEX_REF, atol=2e-2),
        ),
        error("list", lambda: p(list(SIMPLEX_X)), arg("z")),
        ok("list", lambda: p(SIMPLEX_X), on_simplex(ref=SIMPLEX_REF)),
        ok("transform", lambda: jax.jit(p)(jnp.asarray(SIMPLEX_X)), on_simplex(ref=SIMPLEX_REF)),
        ok(
            "transform",
            lambda: jax.vmap(p)(jnp.stack([jnp.asarray(SIMPLEX_X), jnp.asarray(SIMPLEX_X) * 1e17])),
            lambda out: on_simplex(ref=SIMPLEX_REF)(out[0]) or on_simplex()(out[1]),
        ),
        error(
            "transform",
            lambda: jax.vmap(p)(jnp.stack([jnp.asarray(SIMPLEX_X), jnp.full(5, jnp.nan)])),
            arg("z"),
            id="vmap one NaN",
        ),
        ok(
            "transform",
            lambda: jax.grad(lambda z: p(z)[2])(jnp.asarray(SIMPLEX_X)),
            # d x_2 / d z on the support {2, 3}: e_2 - (e_2 + e_3)/2
            lambda g: np.allclose(np.asarray(g), [0.0, 0.0, 0.5, -0.5, 0.0]),
        ),
    ]


def _game_value_ref():
    return 0.0


REGISTRY = {
    # ---- solvers: functions
    **{name: _solver_probes(name) for name in STEPS},
    # ---- solvers: classes
    **{CLASSES[name]: _class_probes(name) for name in STEPS},
    "AbstractMonotoneSolver": [
        ok(
            "valid",
            lambda: mono.AbstractMonotoneSolver.__call__(solver("halpern"), P, Z0),
            near(Z_STAR, 1e-4),
        ),
        error(
            "dtype",
            lambda: mono.AbstractMonotoneSolver.__call__(solver("halpern"), None, Z0),
            arg("problem"),
        ),
    ],
    "MonotoneState": [
        ok(
            "valid",
            lambda: (lambda s: s.solve(s.solve(s.init(P), Z0).state, Z0))(
                solver("halpern", step_size="adaptive")
            ),
            near(Z_STAR, 1e-4),
        ),
        ok("valid", lambda: isinstance(solver("halpern").init(P), mono.MonotoneState)),
        error("dtype", lambda: solver("halpern").solve(P, Z0), arg("state")),
    ],
    # ---- projections
    "project_simplex": [
        *_simplex_probes("sort"),
        *_simplex_probes("pivot"),
        error("range", lambda: mono.project_simplex(jnp.ones(3), method="bisect"), arg("method")),
        ok(
            "magnitude",
            lambda: mono.project_simplex(
                jnp.asarray(np.random.default_rng(0).normal(size=50) * 10.0 ** np.arange(-25, 25)),
                method="pivot",
            ),
            on_simplex(),
            id="pivot mixed magnitudes",
        ),
    ],
    "Simplex": [
        ok(
            "valid",
            lambda: mono.Simplex().project(jnp.asarray(SIMPLEX_X)),
            on_simplex(ref=SIMPLEX_REF),
        ),
        ok(
            "valid",
            lambda: mono.Simplex(2.0).support(jnp.asarray([1.0, 3.0])),
            lambda v: float(v) == 6.0,
        ),
        ok(
            "magnitude",
            lambda: mono.Simplex(method="pivot").project(jnp.asarray([1e17, 1.0, 0.5])),
            on_simplex(ref=[1.0, 0.0, 0.0]),
        ),
        error("range", lambda: mono.Simplex(radius=-1.0), arg("radius")),
        error("range", lambda: mono.Simplex(radius=0), arg("radius")),
        error("nonfinite", lambda: mono.Simplex(radius=float("nan")), arg("radius")),
        error("dtype", lambda: mono.Simplex(radius="1"), arg("radius")),
        error("range", lambda: mono.Simplex(method="fast"), arg("method")),
    ],
    "Ball": [
        ok(
            "valid",
            lambda: mono.Ball(2.0).project(jnp.asarray([3.0, 4.0])),
            near([1.2, 1.6], 1e-12),
        ),
        ok(
            "valid",
            lambda: mono.Ball(1.0, 1.0).project(jnp.asarray([1.5, 1.0])),
            near([1.5, 1.0], 1e-12),
        ),
        ok(
            "valid",
            lambda: mono.Ball(2.0).support(jnp.asarray([3.0, 4.0])),
            lambda v: abs(float(v) - 10.0) < 1e-12,
        ),
        ok(
            "magnitude",
            lambda: mono.Ball(1.0).project(jnp.asarray([3e30, 4e30], F32)),
            near([0.6, 0.8], 1e-6),
            id="1e30 f32",
        ),
        ok(
            "magnitude",
            lambda: mono.Ball(1.0).project(jnp.asarray([3e300, 4e300])),
            near([0.6, 0.8], 1e-12),
            id="1e300",
        ),
        ok(
            "magnitude",
            lambda: mono.Ball(1e-30).project(jnp.asarray([3e-30, 4e-30], F32)),
            near([0.6e-30, 0.8e-30], 1e-5),
            id="1e-30 f32",
        ),
        ok(
            "magnitude",
            lambda: mono.Ball(1e-300).project(jnp.asarray([3e-300, 4e-300])),
            near([0.6e-300, 0.8e-300], 1e-12),
            id="1e-300",
        ),
        ok(
            "magnitude",
            lambda: mono.Ball(1.0).support(jnp.asarray([3e30, 4e30], F32)),
            lambda v: abs(float(v) / 5e30 - 1) < 1e-6,
        ),
        error("range", lambda: mono.Ball(-1.0), arg("radius")),
        error("range", lambda: mono.Ball(0.0), arg("radius")),
        error("nonfinite", lambda: mono.Ball(float("nan")), arg("radius")),
        error("nonfinite", lambda: mono.Ball(1.0, float("nan")), arg("center")),
        error("dtype", lambda: mono.Ball("1"), arg("radius")),
        error("dtype", lambda: mono.Ball(jnp.asarray(1.0)), arg("radius")),
        ok(
            "dtype",
            lambda: mono.Ball(1.0).project(jnp.asarray([3.0, 4.0], jnp.float16)),
            near([0.6, 0.8], 2e-3),
        ),
        ok("list", lambda: mono.Ball(1.0).project([3.0, 4.0]), near([0.6, 0.8], 1e-12)),
        ok("empty", lambda: mono.Ball(1.0).project(jnp.zeros(0)), lambda out: out.shape == (0,)),
        ok(
            "transform",
            lambda: jax.vmap(mono.Ball(1.0).project)(jnp.asarray([[3.0, 4.0], [0.3, 0.4]])),
            near([[0.6, 0.8], [0.3, 0.4]], 1e-12),
        ),
        ok(
            "transform",
            lambda: jax.grad(lambda z: mono.Ball(1.0).project(z)[0])(jnp.asarray([3.0, 4.0])),
            near([0.128, -0.096], 1e-10),
        ),
    ],
    "Box": [
        ok(
            "valid",
            lambda: mono.Box(-1.0, 2.0).project(jnp.asarray([-3.0, 0.5, 5.0])),
            near([-1.0, 0.5, 2.0], 1e-15),
        ),
        ok(
            "valid",
            lambda: mono.Box(-1.0, 2.0).support(jnp.asarray([-3.0, 0.5])),
            lambda v: float(v) == 4.0,
        ),
        ok(
            "valid",
            lambda: mono.Box(jnp.zeros(2), jnp.asarray([1.0, 3.0])).project(
                jnp.asarray([2.0, 2.0])
            ),
            near([1.0, 2.0], 1e-15),
        ),
        ok(
            "valid",
            lambda: mono.Box(0.0, jnp.inf).project(jnp.asarray([-2.0, 1e300])),
            near([0.0, 1e300], 1e-15),
            id="unbounded",
        ),
        error("range", lambda: mono.Box(1.0, -1.0), arg("lower")),
        error("range", lambda: mono.Box(jnp.asarray(1.0), jnp.asarray(-1.0)), arg("lower")),
        error(
            "transform",
            lambda: eqx.filter_jit(lambda lo: mono.Box(lo, 0.0).project(jnp.zeros(2)))(
                jnp.asarray(1.0)
            ),
            arg("lower"),
        ),
        error("nonfinite", lambda: mono.Box(float("nan"), 1.0), arg("lower")),
        error("nonfinite", lambda: mono.Box(0.0, float("nan")), arg("upper")),
        error("dtype", lambda: mono.Box("a", 1.0), arg("lower")),
        error("dtype", lambda: mono.Box(0.0, 1j), arg("upper")),
        error("shape", lambda: mono.Box(jnp.zeros(3), 1.0).project(jnp.zeros(4)), arg("z")),
        error("shape", lambda: mono.Box(jnp.zeros(3), jnp.ones(2)), arg("upper")),
        error("list", lambda: mono.Box([0.0, 0.0], [1.0, 2.0]), arg("lower")),
        ok(
            "dtype",
            lambda: mono.Box(0, 1).project(jnp.asarray([-1.0, 0.5], F32)),
            near([0.0, 0.5], 1e-7),
        ),
        ok(
            "magnitude",
            lambda: mono.Box(-1e300, 1e300).project(jnp.asarray([-1e308, 1e308])),
            near([-1e300, 1e300], 1e-15),
        ),
        ok(
            "transform",
            lambda: jax.vmap(mono.Box(0.0, 1.0).project)(jnp.asarray([[2.0, -1.0], [0.5, 0.5]])),
            near([[1.0, 0.0], [0.5, 0.5]], 1e-15),
        ),
    ],
    "Unconstrained": [
        ok(
            "valid",
            lambda: mono.Unconstrained().project(jnp.asarray([1.0, -2.0])),
            near([1.0, -2.0], 0),
        ),
        ok("valid", lambda: mono.Unconstrained().support(jnp.zeros(2)), lambda v: float(v) == 0.0),
    ],
    "Product": [
        ok(
            "valid",
            lambda: mono.Product((mono.Box(0.0, 1.0), mono.Simplex()), (2, 3)).project(
                jnp.asarray([2.0, -1.0, 0.2, 0.3, 0.5])
            ),
            near([1.0, 0.0, 0.2, 0.3, 0.5], 1e-12),
        ),
        ok(
            "valid",
            lambda: mono.Product(
                (mono.Simplex(method="pivot"), mono.Simplex(method="pivot")), (3, 3)
            ).project(jnp.asarray([1e17, 1.0, 0.5, 0.2, 0.3, 0.5])),
            near([1.0, 0.0, 0.0, 0.2, 0.3, 0.5], 1e-12),
        ),
        error("shape", lambda: mono.Product((mono.Box(),), (2,)).project(jnp.zeros(3)), arg("z")),
        error("shape", lambda: mono.Product((mono.Box(),), (2,)).support(jnp.zeros(3)), arg("g")),
        error("range", lambda: mono.Product((mono.Box(),), (0,)), arg("sizes[0]")),
        error("shape", lambda: mono.Product((mono.Box(), mono.Box()), (2,)), arg("constraints")),
        error("empty", lambda: mono.Product((), ()), arg("constraints")),
        error("dtype", lambda: mono.Product((mono.Box(),), (2.5,)), arg("sizes[0]")),
        error("dtype", lambda: mono.Product(("box",), (2,)), arg("constraints")),
    ],
    "AbstractConstraint": [
        ok(
            "valid",
            lambda: call("halpern", problem=mono.AffineFiniteSum(M, Q, constraint=Orthant())),
            residual_small(mono.AffineFiniteSum(M, Q, constraint=Orthant()), 1e-5),
        ),
        ok("valid", lambda: Orthant()(jnp.asarray([-1.0, 2.0])), near([0.0, 2.0], 0)),
    ],
    # ---- problems
    "AbstractFiniteSumProblem": [
        ok(
            "valid",
            lambda: call("halpern", problem=DIAG, z0=jnp.zeros(3), step_size=0.3),
            near([1.0, 0.0, 1.0], 1e-4),
        ),
        ok("valid", lambda: DIAG.residual(jnp.asarray([1.0, 0.0, 1.0])), lambda r: float(r) == 0.0),
        status(
            "nonfinite",
            lambda: call(
                "halpern",
                problem=Diagonal(jnp.array([1.0, jnp.nan, 3.0]), jnp.ones(3), Orthant()),
                z0=jnp.zeros(3),
                throw=False,
            ),
            "nonfinite_input",
        ),
    ],
    "AffineFiniteSum": [
        ok(
            "valid",
            lambda: P.operator(jnp.asarray(Z_STAR)),
            lambda f: np.allclose(f, 0, atol=1e-12),
        ),
        ok("valid", lambda: P, finite_sum_identity(P)),
        ok(
            "valid",
            lambda: mono.AffineFiniteSum(M, Q, groups=np.array([[0, 1], [2, 3]])),
            lambda p: p.num_components == 2,
        ),
        ok(
            "valid",
            lambda: np.asarray(P.constants),
            lambda c: np.allclose(c, [LIP, LBAR, 1 / np.linalg.eigvalsh(M).max()]),
        ),
        error("shape", lambda: mono.AffineFiniteSum(np.ones((2, 3))), arg("matrix")),
        error("shape", lambda: mono.AffineFiniteSum(np.ones(3)), arg("matrix")),
        error("shape", lambda: mono.AffineFiniteSum(M, np.ones(3)), arg("offset")),
        error(
            "shape",
            lambda: mono.AffineFiniteSum(M, Q, groups=np.array([[0, 1], [1, 2]])),
            arg("groups"),
        ),
        error("shape", lambda: mono.AffineFiniteSum(M, Q, groups=np.arange(4)), arg("groups")),
        error(
            "dtype",
            lambda: mono.AffineFiniteSum(M, Q, groups=np.array([[0.0, 1.0], [2.0, 3.0]])),
            arg("groups"),
        ),
        error("empty", lambda: mono.AffineFiniteSum(np.zeros((0, 0))), arg("matrix")),
        error("range", lambda: mono.AffineFiniteSum(-np.eye(2)), arg("matrix")),
        ok(
            "range",
            lambda: mono.AffineFiniteSum(-np.eye(2), check_monotone=False),
            lambda p: p.dim == 2,
        ),
        error("dtype", lambda: mono.AffineFiniteSum(M + 0j), arg("matrix")),
        error("dtype", lambda: mono.AffineFiniteSum(M, Q + 0j), arg("offset")),
        error("dtype", lambda: mono.AffineFiniteSum(np.eye(2, dtype=bool)), arg("matrix")),
        error("dtype", lambda: mono.AffineFiniteSum(M, Q, constraint="box"), arg("constraint")),
        ok(
            "dtype",
            lambda: mono.AffineFiniteSum(np.eye(2, dtype=np.int32)),
            lambda p: p.dtype == jnp.float64 and float(p.lipschitz) == 1.0,
        ),
        ok(
            "dtype",
            lambda: mono.AffineFiniteSum(np.eye(2, dtype=np.float16)),
            lambda p: p.dtype == jnp.float32,
        ),
        error("list", lambda: mono.AffineFiniteSum([[1.0, 0.0], [0.0, 2.0]]), arg("matrix")),
        ok(
            "nonfinite",
            lambda: mono.AffineFiniteSum(np.where(np.eye(4) > 0, np.nan, M), Q).dim,
            lambda d: d == 4,
            id="nan matrix builds",
        ),
        ok(
            "magnitude",
            lambda: mono.AffineFiniteSum(M * 1e300, Q),
            lambda p: np.isclose(float(p.lipschitz), 1e300 * LIP),
        ),
        ok(
            "magnitude",
            lambda: mono.AffineFiniteSum(M * 1e-300, Q),
            lambda p: np.isclose(float(p.lipschitz), 1e-300 * LIP),
        ),
        ok(
            "transform",
            lambda: jax.jit(lambda m: mono.AffineFiniteSum(m, Q).operator(Z0))(jnp.asarray(M)),
            near(Q, 1e-15),
        ),
        ok(
            "transform",
            lambda: jax.vmap(
                lambda q: mono.AffineFiniteSum(M, q, check_monotone=False).operator(Z0)
            )(jnp.stack([jnp.asarray(Q)] * 2)),
            near(np.stack([Q, Q]), 1e-15),
        ),
    ],
    "BilinearGame": [
        ok("valid", lambda: GAME.duality_gap(G0), lambda g: abs(float(g)) < 1e-15),
        ok("valid", lambda: GAME, finite_sum_identity(GAME)),
        ok(
            "valid",
            lambda: GAME.value_bounds(jnp.asarray([1.0, 0, 0, 1.0, 0, 0])),
            lambda lu: np.allclose(lu, (-1.0, 1.0)),
        ),
        ok(
            "valid",
            lambda: mono.BilinearGame(np.ones((2, 3)), "box").duality_gap(jnp.zeros(5)),
            lambda g: float(g) == 0.0,
        ),
        error("shape", lambda: mono.BilinearGame(np.ones(3)), arg("A")),
        error("empty", lambda: mono.BilinearGame(np.ones((0, 3))), arg("A")),
        error("range", lambda: mono.BilinearGame(RPS, "ball"), arg("domain")),
        error("range", lambda: mono.BilinearGame(RPS, simplex_method="x"), arg("simplex_method")),
        error("range", lambda: mono.BilinearGame(RPS, "box", lower=1.0, upper=-1.0), arg("lower")),
        error("dtype", lambda: mono.BilinearGame(RPS + 0j), arg("A")),
        error("dtype", lambda: mono.BilinearGame(RPS > 0), arg("A")),
        ok(
            "dtype",
            lambda: mono.BilinearGame(RPS.astype(np.int32)),
            lambda g: g.dtype == jnp.float64,
        ),
        error("list", lambda: mono.BilinearGame(RPS.tolist()), arg("A")),
        ok(
            "nonfinite",
            lambda: mono.BilinearGame(np.where(np.eye(3) > 0, np.nan, RPS)).dim,
            lambda d: d == 6,
            id="nan A builds",
        ),
        status(
            "nonfinite",
            lambda: call(
                "halpern",
                problem=mono.BilinearGame(np.where(np.eye(3) > 0, np.nan, RPS)),
                z0=G0,
                step_size=0.3,
                throw=False,
            ),
            "nonfinite_input",
            "nonfinite",
        ),
        ok(
            "magnitude",
            lambda: mono.BilinearGame(RPS * 1e300),
            lambda g: np.isclose(float(g.lipschitz), 1e300 * np.linalg.norm(RPS, 2)),
        ),
        ok(
            "transform",
            lambda: jax.jit(lambda a: mono.BilinearGame(a).duality_gap(G0))(jnp.asarray(RPS)),
            lambda g: abs(float(g)) < 1e-15,
        ),
    ],
    "RobustLogisticRegression": [
        ok("valid", lambda: LR, finite_sum_identity(LR)),
        ok(
            "valid",
            lambda: call(
                "extragradient",
                problem=LR,
                z0=jnp.full(7, 0.2).at[:2].set(0.0),
                step_size=1 / float(LR.lipschitz),
                tol=None,
            ),
            lambda s: (
                float(LR.residual(s.value)) < float(LR.residual(jnp.full(7, 0.2).at[:2].set(0.0)))
            ),
        ),
        error(
            "shape", lambda: mono.RobustLogisticRegression(np.ones(3), np.ones(3)), arg("features")
        ),
        error(
            "shape",
            lambda: mono.RobustLogisticRegression(np.ones((3, 2)), np.ones(2)),
            arg("labels"),
        ),
        error(
            "empty",
            lambda: mono.RobustLogisticRegression(np.ones((0, 2)), np.ones(0)),
            arg("features"),
        ),
        error("range", lambda: mono.RobustLogisticRegression(*lr_data(), mu=-1.0), arg("mu")),
        error("range", lambda: mono.RobustLogisticRegression(*lr_data(), rho=0.0), arg("rho")),
        error(
            "range", lambda: mono.RobustLogisticRegression(*lr_data(), radius=-1.0), arg("radius")
        ),
        error(
            "dtype",
            lambda: mono.RobustLogisticRegression(lr_data()[0] + 0j, lr_data()[1]),
            arg("features"),
        ),
        error(
            "dtype",
            lambda: mono.RobustLogisticRegression(lr_data()[0], lr_data()[1] + 0j),
            arg("labels"),
        ),
        error(
            "list",
            lambda: mono.RobustLogisticRegression(lr_data()[0].tolist(), lr_data()[1]),
            arg("features"),
        ),
        status(
            "nonfinite",
            lambda: call(
                "extragradient",
                problem=mono.RobustLogisticRegression(*lr_data(nan=True)),
                z0=jnp.full(7, 0.2).at[:2].set(0.0),
                step_size=0.01,
                tol=None,
                throw=False,
            ),
            "nonfinite_input",
        ),
        ok(
            "transform",
            lambda: jax.jit(
                lambda x: mono.RobustLogisticRegression(x, lr_data()[1]).operator(jnp.full(7, 0.2))
            )(jnp.asarray(lr_data()[0])),
            lambda f: np.allclose(f, LR.operator(jnp.full(7, 0.2))),
        ),
    ],
    "robust_logistic_regression": [
        ok(
            "valid",
            lambda: mono.robust_logistic_regression(),
            lambda p: (p.num_components, p.dim) == (569, 600),
        ),
        error("range", lambda: mono.robust_logistic_regression("iris"), arg("dataset")),
        error("range", lambda: mono.robust_logistic_regression(mu=-1.0), arg("mu")),
        error("range", lambda: mono.robust_logistic_regression(rho=float("nan")), arg("rho")),
        error("dtype", lambda: mono.robust_logistic_regression(dtype=jnp.int32), arg("dtype")),
        ok(
            "dtype",
            lambda: mono.robust_logistic_regression(dtype=jnp.float32),
            lambda p: p.dtype == jnp.float32,
        ),
    ],
    "policeman_and_burglar_matrix": [
        ok(
            "valid",
            lambda: mono.policeman_and_burglar_matrix(5),
            lambda a: np.allclose(
                a,
                (1 - np.exp(-0.8 * np.abs(np.arange(5)[:, None] - np.arange(5)[None])))
                * np.abs(np.random.RandomState(1).randn(5))[None],
            ),
        ),
        ok(
            "valid",
            lambda: mono.policeman_and_burglar_matrix(4, variant="nemirovski"),
            lambda a: a.shape == (4, 4),
        ),
        error("range", lambda: mono.policeman_and_burglar_matrix(0), arg("n")),
        error("dtype", lambda: mono.policeman_and_burglar_matrix(5.0), arg("n")),
        error("range", lambda: mono.policeman_and_burglar_matrix(5, theta=-1.0), arg("theta")),
        error(
            "nonfinite",
            lambda: mono.policeman_and_burglar_matrix(5, theta=float("nan")),
            arg("theta"),
        ),
        error("range", lambda: mono.policeman_and_burglar_matrix(5, variant="x"), arg("variant")),
        error("range", lambda: mono.policeman_and_burglar_matrix(5, seed=-1), arg("seed")),
        error("dtype", lambda: mono.policeman_and_burglar_matrix(5, seed="a"), arg("seed")),
        error("dtype", lambda: mono.policeman_and_burglar_matrix(5, theta="a"), arg("theta")),
        ok(
            "magnitude",
            lambda: mono.policeman_and_burglar_matrix(3, theta=1e300),
            lambda a: np.all(np.isfinite(a)),
        ),
    ],
    "policeman_and_burglar": [
        ok(
            "valid",
            lambda: mono.policeman_and_burglar(5),
            lambda g: np.allclose(g.matrix, mono.policeman_and_burglar_matrix(5)),
        ),
        ok(
            "valid",
            lambda: mono.policeman_and_burglar(5, dtype=jnp.float32, simplex_method="pivot"),
            lambda g: g.dtype == jnp.float32,
        ),
        error("range", lambda: mono.policeman_and_burglar(0), arg("n")),
        error(
            "range",
            lambda: mono.policeman_and_burglar(5, simplex_method="x"),
            arg("simplex_method"),
        ),
        error("dtype", lambda: mono.policeman_and_burglar(5, dtype=jnp.int32), arg("dtype")),
        error("dtype", lambda: mono.policeman_and_burglar(5, dtype=jnp.complex64), arg("dtype")),
        error("dtype", lambda: mono.policeman_and_burglar(5, dtype="float"), arg("dtype"))
        if False
        else ok(
            "dtype",
            lambda: mono.policeman_and_burglar(5, dtype="float32"),
            lambda g: g.dtype == jnp.float32,
        ),
    ],
    "ouyang_xu_quadratic": [
        ok(
            "valid",
            lambda: mono.ouyang_xu_quadratic(3),
            finite_sum_identity(mono.ouyang_xu_quadratic(3)),
        ),
        ok(
            "valid",
            lambda: mono.ouyang_xu_quadratic(3).operator(jnp.zeros(6)),
            near(np.r_[0.0, 0.0, -0.25, -0.25, -0.25, -0.25], 1e-15),
        ),
        error("range", lambda: mono.ouyang_xu_quadratic(1), arg("n")),
        error("dtype", lambda: mono.ouyang_xu_quadratic(3.0), arg("n")),
        error("dtype", lambda: mono.ouyang_xu_quadratic(3, dtype=jnp.int32), arg("dtype")),
        ok(
            "dtype",
            lambda: mono.ouyang_xu_quadratic(3, dtype=jnp.float32),
            lambda p: p.dtype == jnp.float32,
        ),
    ],
    "game_value": [
        ok(
            "valid",
            lambda: mono.game_value(GAME, tol=1e-6, max_epochs=2000),
            lambda s: abs(float(s.value)) <= 1e-6,
        ),
        ok(
            "valid",
            lambda: mono.game_value(
                mono.BilinearGame(np.array([[3.0, 1.0], [0.0, 2.0]])), tol=1e-6, max_epochs=2000
            ),
            # min_x max_y yᵀAx: the mixed value of [[3, 1], [0, 2]] is 1.5
            lambda s: abs(float(s.value) - 1.5) <= 1e-6,
        ),
        ok(
            "valid",
            lambda: mono.game_value(mono.BilinearGame(np.zeros((2, 2))), tol=1e-6, max_epochs=2000),
            lambda s: float(s.value) == 0.0,
            id="zero game",
        ),
        ok(
            "valid",
            lambda: mono.game_value(GAME_PIVOT, tol=1e-6, max_epochs=2000),
            lambda s: abs(float(s.value)) <= 1e-6,
        ),
        error("dtype", lambda: mono.game_value(P), arg("game")),
        error("range", lambda: mono.game_value(GAME, tol=-1.0), arg("tol")),
        error("range", lambda: mono.game_value(GAME, tol=0.0), arg("tol")),
        error("dtype", lambda: mono.game_value(GAME, tol="small"), arg("tol")),
        error("range", lambda: mono.game_value(GAME, max_epochs=0), arg("max_epochs")),
        error("range", lambda: mono.game_value(GAME, max_epochs=float("nan")), arg("max_epochs")),
        error("shape", lambda: mono.game_value(GAME, z0=jnp.zeros(5)), arg("z0")),
        error("list", lambda: mono.game_value(GAME, z0=[1.0, 0, 0, 0, 1.0, 0]), arg("z0")),
        status(
            "nonfinite",
            lambda: mono.game_value(GAME, z0=G0.at[0].set(jnp.nan), throw=False, max_epochs=2000),
            "nonfinite_input",
        ),
        status(
            "nonfinite",
            lambda: mono.game_value(
                mono.BilinearGame(np.where(np.eye(3) > 0, np.nan, RPS)),
                throw=False,
                max_epochs=2000,
            ),
            "nonfinite_input",
            "nonfinite",
        ),
        status(
            "range",
            lambda: mono.game_value(
                mono.BilinearGame(np.random.default_rng(0).normal(size=(3, 3))),
                tol=1e-12,
                max_epochs=3,
                throw=False,
            ),
            "max_steps_reached",
        ),
        ok(
            "magnitude",
            lambda: mono.game_value(mono.BilinearGame(RPS * 1e300), tol=1e294, max_epochs=2000),
            lambda s: abs(float(s.value)) <= 1e294,
        ),
        ok(
            "magnitude",
            lambda: mono.game_value(mono.BilinearGame(RPS * 1e-300), tol=1e-306, max_epochs=2000),
            lambda s: abs(float(s.value)) <= 1e-306,
        ),
        ok(
            "transform",
            lambda: jax.jit(lambda z: mono.game_value(GAME, z0=z, max_epochs=2000))(G0),
            lambda s: abs(float(s.value)) <= 1e-6,
        ),
    ],
    "coordinate_groups": [
        ok(
            "valid",
            lambda: mono.coordinate_groups([4], 2),
            lambda g: np.array_equal(g, [[0, 2], [1, 3]]),
        ),
        ok(
            "valid",
            lambda: mono.coordinate_groups([3, 2], 3),
            lambda g: np.array_equal(g, [[0, 3], [1, 4], [2, 5]]),
        ),
        ok(
            "valid",
            lambda: mono.coordinate_groups((2,), 3),
            lambda g: np.array_equal(g, [[0], [1], [2]]),
        ),
        error("range", lambda: mono.coordinate_groups([4], 0), arg("num_components")),
        error("range", lambda: mono.coordinate_groups([4], -1), arg("num_components")),
        error("dtype", lambda: mono.coordinate_groups([4], "2"), arg("num_components")),
        error("dtype", lambda: mono.coordinate_groups([4], 2.5), arg("num_components")),
        error("range", lambda: mono.coordinate_groups([-1], 2), arg("sizes")),
        error("dtype", lambda: mono.coordinate_groups([2.5], 2), arg("sizes")),
        error("dtype", lambda: mono.coordinate_groups(4, 2), arg("sizes")),
        error("empty", lambda: mono.coordinate_groups([], 2), arg("sizes")),
        ok(
            "list",
            lambda: mono.coordinate_groups(np.array([4]), 2),
            lambda g: np.array_equal(g, [[0, 2], [1, 3]]),
        ),
    ],
    "sample_without_replacement": [
        ok(
            "valid",
            lambda: mono.sample_without_replacement(KEY, jnp.arange(5), 3),
            lambda out: (
                len(set(np.asarray(out[1]).tolist())) == 3
                and sorted(np.asarray(out[0]).tolist()) == list(range(5))
                and np.array_equal(np.asarray(out[0])[:3], np.asarray(out[1]))
            ),
        ),
        ok(
            "valid",
            lambda: mono.sample_without_replacement(KEY, jnp.arange(5), 5),
            lambda out: sorted(np.asarray(out[1]).tolist()) == list(range(5)),
        ),
        ok(
            "valid",
            lambda: mono.sample_without_replacement(KEY, jnp.arange(5), 1),
            lambda out: 0 <= int(out[1][0]) < 5,
        ),
        error(
            "range",
            lambda: mono.sample_without_replacement(KEY, jnp.arange(5), 6),
            arg("batch_size"),
        ),
        error(
            "range",
            lambda: mono.sample_without_replacement(KEY, jnp.arange(5), 0),
            arg("batch_size"),
        ),
        error(
            "range",
            lambda: mono.sample_without_replacement(KEY, jnp.arange(5), -2),
            arg("batch_size"),
        ),
        error(
            "dtype",
            lambda: mono.sample_without_replacement(KEY, jnp.arange(5), 2.0),
            arg("batch_size"),
        ),
        error(
            "dtype", lambda: mono.sample_without_replacement(KEY, jnp.arange(5.0), 2), arg("perm")
        ),
        error(
            "shape",
            lambda: mono.sample_without_replacement(KEY, jnp.arange(6).reshape(2, 3), 2),
            arg("perm"),
        ),
        error(
            "empty",
            lambda: mono.sample_without_replacement(KEY, jnp.arange(0), 1),
            arg("perm"),
        ),
        error(
            "key",
            lambda: mono.sample_without_replacement(jax.random.split(KEY, 2), jnp.arange(5), 2),
            arg("key"),
        ),
        error(
            "key",
            lambda: mono.sample_without_replacement(jnp.zeros(3, jnp.uint32), jnp.arange(5), 2),
            arg("key"),
        ),
        ok(
            "key",
            lambda: mono.sample_without_replacement(jax.random.PRNGKey(0), jnp.arange(5), 3),
            lambda out: len(set(np.asarray(out[1]).tolist())) == 3,
        ),
        error(
            "list",
            lambda: mono.sample_without_replacement(KEY, list(range(5)), 3),
            arg("perm"),
        ),
        ok(
            "transform",
            lambda: jax.vmap(lambda k: mono.sample_without_replacement(k, jnp.arange(5), 3))(
                jax.random.split(KEY, 4)
            ),
            lambda out: all(len(set(r)) == 3 for r in np.asarray(out[1]).tolist()),
        ),
        ok(
            "transform",
            lambda: jax.jit(mono.sample_without_replacement, static_argnums=2)(
                KEY, jnp.arange(5), 3
            ),
            lambda out: len(set(np.asarray(out[1]).tolist())) == 3,
        ),
    ],
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name, index, probe", probe_ids(REGISTRY), ids=lambda v: str(v)[:40])
def test_probe(name, index, probe):
    run_probe(probe)
