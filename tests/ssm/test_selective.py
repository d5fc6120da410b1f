"""selective_scan / selective_step / selective_scan_naive against a float64 NumPy loop (issue 13)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from badinputs import arg
from jax.test_util import check_grads

from jaxsci import ssm
from jaxsci.ssm._selective import default_chunk


def ref_scan(u, delta, A, B, C, D=None, h0=None, discretization="euler"):
    """The recurrence written out as a float64 loop over time, channels and states."""
    u, delta, A, B, C = (np.asarray(x, np.float64) for x in (u, delta, A, B, C))
    L, Dm = u.shape
    N = A.shape[1]
    h = np.zeros((Dm, N)) if h0 is None else np.array(h0, np.float64)
    y = np.zeros((L, Dm))
    for t in range(L):
        for d in range(Dm):
            for n in range(N):
                dA = delta[t, d] * A[d, n]
                if discretization == "euler":
                    bbar = delta[t, d] * B[t, n]
                else:
                    bbar = (np.expm1(dA) / A[d, n] if A[d, n] != 0 else delta[t, d]) * B[t, n]
                h[d, n] = np.exp(dA) * h[d, n] + bbar * u[t, d]
            y[t, d] = h[d] @ C[t]
            if D is not None:
                y[t, d] += D[d] * u[t, d]
    return y, h


def make(L, Dm=3, N=4, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(L, Dm))
    delta = rng.uniform(0.01, 0.8, (L, Dm))
    A = -rng.uniform(0.2, 2.0, (Dm, N))
    B = rng.normal(size=(L, N))
    C = rng.normal(size=(L, N))
    D = rng.normal(size=(Dm,))
    h0 = rng.normal(size=(Dm, N))
    return tuple(jnp.asarray(x, dtype) for x in (u, delta, A, B, C, D, h0))


@pytest.mark.parametrize(
    "L, chunk, discretization",
    [
        (1, None, "euler"),
        (7, 1, "euler"),
        (13, 4, "euler"),
        (13, 64, "euler"),
        (13, 13, "zoh"),
        (33, None, "zoh"),
    ],  # fmt: skip
)
def test_against_numpy_loop(L, chunk, discretization):
    """Odd L, L not a multiple of the chunk, chunk = 1, chunk = L and chunk > L."""
    u, delta, A, B, C, D, h0 = make(L, seed=L)
    y_ref, h_ref = ref_scan(u, delta, A, B, C, D, h0, discretization)
    y, h = ssm.selective_scan(
        u, delta, A, B, C, D, h0=h0, chunk=chunk, discretization=discretization, return_state=True
    )
    assert y.dtype == jnp.float64 and y.shape == (L, 3) and h.shape == (3, 4)
    np.testing.assert_allclose(y, y_ref, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(h, h_ref, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("discretization", ["euler", "zoh"])
def test_associative_inner_and_naive(discretization):
    u, delta, A, B, C, D, h0 = make(13, seed=5)
    y_ref, h_ref = ref_scan(u, delta, A, B, C, D, h0, discretization)
    y2 = ssm.selective_scan(
        u, delta, A, B, C, D, h0=h0, chunk=4, discretization=discretization, inner="associative"
    )
    yn, hn = ssm.selective_scan_naive(
        u, delta, A, B, C, D, h0=h0, discretization=discretization, return_state=True
    )
    np.testing.assert_allclose(y2, y_ref, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(yn, y_ref, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(hn, h_ref, rtol=1e-11, atol=1e-12)


def test_zoh_with_zero_decay_and_no_skip():
    u, delta, A, B, C, _, _ = make(9)
    A = A.at[0, 1].set(0.0)  # phi1(0) = 1: Bbar = delta B
    y_ref, _ = ref_scan(u, delta, A, B, C, discretization="zoh")
    y = ssm.selective_scan(u, delta, A, B, C, discretization="zoh", chunk=4)
    np.testing.assert_allclose(y, y_ref, rtol=1e-11, atol=1e-12)


def test_float32():
    u, delta, A, B, C, D, h0 = make(21, dtype=np.float32)
    y = ssm.selective_scan(u, delta, A, B, C, D, h0=h0, chunk=5)
    assert y.dtype == jnp.float32
    y_ref, _ = ref_scan(u, delta, A, B, C, D, h0)
    np.testing.assert_allclose(y, y_ref, rtol=1e-4, atol=1e-4)


def test_segments_continue_through_the_state():
    u, delta, A, B, C, D, h0 = make(20)
    y, h = ssm.selective_scan(u, delta, A, B, C, D, h0=h0, chunk=3, return_state=True)
    y1, h1 = ssm.selective_scan(
        u[:11], delta[:11], A, B[:11], C[:11], D, h0=h0, chunk=3, return_state=True
    )
    y2, h2 = ssm.selective_scan(
        u[11:], delta[11:], A, B[11:], C[11:], D, h0=h1, chunk=4, return_state=True
    )
    np.testing.assert_allclose(jnp.concatenate([y1, y2]), y, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(h2, h, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("discretization", ["euler", "zoh"])
def test_step_reproduces_scan(discretization):
    u, delta, A, B, C, D, h0 = make(10)
    y, hT = ssm.selective_scan(
        u, delta, A, B, C, D, h0=h0, chunk=4, discretization=discretization, return_state=True
    )
    h = h0
    step = jax.jit(lambda h, *a: ssm.selective_step(h, *a, discretization=discretization))
    for t in range(10):
        yt, h = step(h, u[t], delta[t], A, B[t], C[t], D)
        np.testing.assert_allclose(yt, y[t], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(h, hT, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("discretization", ["euler", "zoh"])
def test_check_grads_both_modes(discretization):
    u, delta, A, B, C, D, h0 = make(7, Dm=2, N=3)

    def f(u, delta, A, B, C, D, h0):
        y, h = ssm.selective_scan(
            u, delta, A, B, C, D, h0=h0, chunk=3, discretization=discretization, return_state=True
        )
        return y, h

    # jitted: check_grads evaluates f and its jvp/vjp many times; compiled once each
    check_grads(
        jax.jit(f), (u, delta, A, B, C, D, h0), order=1, modes=("fwd", "rev"), atol=1e-6, rtol=1e-6
    )


def test_grad_matches_naive():
    u, delta, A, B, C, D, h0 = make(17, seed=3)
    G = jnp.asarray(np.random.default_rng(9).normal(size=(17, 3)))

    def loss(fn, **kw):
        return lambda *a: jnp.sum(fn(*a, **kw) * G)

    args = (u, delta, A, B, C, D)
    g1 = jax.jit(jax.grad(loss(ssm.selective_scan, chunk=4), argnums=tuple(range(6))))(*args)
    g2 = jax.jit(jax.grad(loss(ssm.selective_scan_naive), argnums=tuple(range(6))))(*args)
    for a, b in zip(g1, g2, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_jit_and_vmap():
    batch = [make(12, seed=s) for s in range(3)]
    u, delta, A, B, C, D, h0 = (jnp.stack(x) for x in zip(*batch, strict=True))
    f = lambda u, d, A, B, C, D, h0: ssm.selective_scan(u, d, A, B, C, D, h0=h0, chunk=5)
    yv = jax.jit(jax.vmap(f))(u, delta, A, B, C, D, h0)
    for i in range(3):
        np.testing.assert_allclose(yv[i], f(*(x[i] for x in (u, delta, A, B, C, D, h0))), 1e-12)
        np.testing.assert_allclose(yv[i], ref_scan(*batch[i])[0], rtol=1e-11, atol=1e-12)
    # vmap over the batch of inputs only, with shared A (the MambaBlock layout)
    yv2 = jax.vmap(f, in_axes=(0, 0, None, 0, 0, None, None))(u, delta, A[0], B, C, D[0], h0[0])
    np.testing.assert_allclose(yv2[1], f(u[1], delta[1], A[0], B[1], C[1], D[0], h0[0]), 1e-12)


def _temp_bytes(fn, *args):
    return jax.jit(fn).lower(*args).compile().memory_analysis().temp_size_in_bytes


def test_memory_never_materialises_L_D_N():
    """Compiled temporary memory of forward+backward: the chunked scan needs a few (L, D) arrays, well
    below one (L, D, N) array; the naive associative scan needs several (L, D, N) arrays."""
    L, Dm, N = 512, 32, 32
    rng = np.random.default_rng(0)
    f32 = jnp.float32
    u = jnp.asarray(rng.normal(size=(L, Dm)), f32)
    delta = jnp.asarray(rng.uniform(0.01, 0.1, (L, Dm)), f32)
    A = -jnp.ones((Dm, N), f32)
    B = jnp.asarray(rng.normal(size=(L, N)), f32)
    C = jnp.asarray(rng.normal(size=(L, N)), f32)
    full = L * Dm * N * 4

    def grad_of(fn, **kw):
        return jax.grad(lambda *a: jnp.sum(fn(*a, **kw) ** 2), argnums=(0, 1, 2, 3, 4))

    chunked = _temp_bytes(grad_of(ssm.selective_scan, chunk=32), u, delta, A, B, C)
    naive = _temp_bytes(grad_of(ssm.selective_scan_naive), u, delta, A, B, C)
    forward = _temp_bytes(lambda *a: ssm.selective_scan(*a, chunk=32), u, delta, A, B, C)
    assert chunked < full / 2, (chunked, full)
    assert chunked < 16 * L * Dm * 4, (chunked, L * Dm * 4)  # O(L D): a few (L, D) arrays
    assert forward < full / 4, (forward, full)
    assert naive > 2 * full, (naive, full)


def test_default_chunk():
    assert default_chunk(1) == 1
    assert default_chunk(10) == 10
    assert default_chunk(1024) == 32
    assert default_chunk(65536) == 128


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"u": np.zeros((4, 2))}, "delta"),  # shapes differ from delta (4, 3)
        ({"A": np.zeros((2, 4))}, "A"),
        ({"B": np.zeros((5, 4))}, "B"),
        ({"C": np.zeros((4, 3))}, "C"),
        ({"D": np.zeros((2,))}, "D"),
        ({"h0": np.zeros((3, 3))}, "h0"),
        (
            {
                "u": np.zeros((0, 3)),
                "delta": np.zeros((0, 3)),
                "B": np.zeros((0, 4)),
                "C": np.zeros((0, 4)),
            },
            "u",
        ),  # fmt: skip
        ({"u": np.zeros(4)}, "u"),
        ({"chunk": 0}, "chunk"),
        ({"discretization": "bilinear"}, "discretization"),
        ({"A": np.full((3, 4), 0.5)}, "A"),  # positive A: run-time error
        ({"delta": -np.ones((4, 3))}, "delta"),  # negative delta: run-time error
        ({"u": np.full((4, 3), np.nan)}, "u"),
    ],
)
def test_bad_inputs_name_the_argument(kwargs, match):
    args = {
        "u": np.ones((4, 3)),
        "delta": np.full((4, 3), 0.1),
        "A": -np.ones((3, 4)),
        "B": np.ones((4, 4)),
        "C": np.ones((4, 4)),
        "D": None,
    }
    kw = {k: kwargs.pop(k) for k in ("h0", "chunk", "discretization") if k in kwargs}
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError, eqx.EquinoxRuntimeError), match=arg(match)):
        jax.block_until_ready(ssm.selective_scan(**args, **kw))
