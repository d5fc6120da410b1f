"""SpaceTime layers: step == convolution, closed loop vs matrix powers, fixed kernels vs NumPy (issue 14)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_tree_allclose

from jaxsci import ssm, training
from jaxsci.ssm._spacetime import _l1_project

KEY = jax.random.key(0)


@eqx.filter_jit
def _stream(layer, u):
    # compiled once per layer (op-by-op dispatch of the kernels' many small FFTs costs more than this)
    def body(x, ut):
        y, x = layer.step(x, ut)
        return x, y

    return jax.lax.scan(body, layer.init_state(), u)[1]


_apply = eqx.filter_jit(lambda layer, u: layer(u))


@pytest.mark.parametrize(
    "make",
    [
        lambda: ssm.CompanionSSM(4, 5, kernel_repeat=2, key=KEY),
        # c~ = c (I - A^9) with ||a||_1 = 0.5: I - A^9 well conditioned
        lambda: eqx.tree_at(
            lambda m: m.a,
            ssm.CompanionSSM(4, 3, c_tilde_length=9, key=KEY),
            jnp.full((4, 3), 1 / 6),
        ),
        lambda: ssm.CompanionSSM(4, 12, skip=False, norm=False, key=KEY),  # d > L
        lambda: ssm.ShiftSSM(4, 3, key=KEY),
        lambda: ssm.PreprocessSSM(4, diff_orders=(1, 3), ma_windows=(4, 2)),
    ],
)
def test_step_equals_convolution(make):
    layer = make()
    u = jax.random.normal(jax.random.key(1), (9, 4))
    assert_tree_allclose(_apply(layer, u), _stream(layer, u), rtol=1e-10, atol=1e-12)


def test_companion_layer_kernel_matches_dense():
    layer = ssm.CompanionSSM(2, 4, key=KEY)
    a, b, c = (np.asarray(v) for v in layer.ssm())
    assert np.all(np.abs(a).sum(-1) <= 1 + 1e-12)
    kernel = eqx.filter_jit(lambda m, L: m.kernel(L))
    K = np.asarray(kernel(layer, 7))
    for i in range(2):
        A = np.asarray(ssm.companion_matrix(a[i]))
        ref = [c[i] @ np.linalg.matrix_power(A, k) @ b[i] for k in range(7)]
        np.testing.assert_allclose(K[i], ref, rtol=1e-10, atol=1e-12)
    # c~ parameterisation: the kernel at its own length and at another length agree with dense powers
    ct = ssm.CompanionSSM(2, 4, c_tilde_length=6, key=KEY)
    a, b, c = (np.asarray(v) for v in ct.ssm())
    for L in (6, 10):
        A = np.asarray(ssm.companion_matrix(a[0]))
        ref = [c[0] @ np.linalg.matrix_power(A, k) @ b[0] for k in range(L)]
        np.testing.assert_allclose(kernel(ct, L)[0], ref, rtol=1e-9, atol=1e-11)


def test_shift_kernel_is_fir():
    layer = ssm.ShiftSSM(3, 4, key=KEY)
    K = layer.kernel(6)
    ref = jax.vmap(lambda c: ssm.companion_kernel(jnp.zeros(4), jnp.eye(4)[0], c, 6))(layer.c)
    assert_tree_allclose(K, ref, atol=1e-12)
    assert_tree_allclose(layer.kernel(2), layer.c[:, :2])


def test_preprocessing_matches_numpy():
    L, orders, windows = 40, (0, 1, 2, 3), (4, 7)
    layer = ssm.PreprocessSSM(6, diff_orders=orders, ma_windows=windows)
    u = np.random.default_rng(0).normal(size=(L, 6))
    y = np.asarray(layer(u))
    for h, p in enumerate(orders):
        np.testing.assert_allclose(y[p:, h], np.diff(u[:, h], n=p), atol=1e-12)
    for j, w in enumerate(windows):
        h = len(orders) + j
        ma = np.convolve(u[:, h], np.ones(w) / w)[:L]  # causal, zero initial history
        np.testing.assert_allclose(y[:, h], u[:, h] - ma, atol=1e-12)
    # channels beyond the number of kernels repeat them cyclically
    layer8 = ssm.PreprocessSSM(8, diff_orders=(1,), ma_windows=(3,))
    assert layer8.taps[0] == layer8.taps[2] and layer8.taps[1] == layer8.taps[7]


def test_l1_projection_keeps_eigenvalues_in_disc():
    rng = np.random.default_rng(0)
    worst = 0.0
    for d in range(
        1, 20
    ):  # a seeded sweep: sizes, scales over 6 decades, Gaussian and Cauchy entries
        scale = 10.0 ** rng.uniform(-3, 3, size=(12, 1))
        a = scale * np.concatenate([rng.normal(size=(6, d)), rng.standard_cauchy((6, d))])
        an = np.asarray(_l1_project(jnp.asarray(a)))
        assert np.all(np.abs(an).sum(-1) <= 1 + 1e-12)
        inside = np.abs(a).sum(-1) <= 1
        np.testing.assert_allclose(
            an[inside], a[inside]
        )  # a projection: inside the ball, unchanged
        for row in an:
            A = np.eye(d, k=-1)
            A[:, -1] += row
            worst = max(worst, np.abs(np.linalg.eigvals(A)).max())
    assert worst <= 1 + 1e-9
    # the bound is attained: a = e_1 is the cyclic shift, |lambda| = 1
    lam = np.linalg.eigvals(np.asarray(ssm.companion_matrix(np.array([1.0, 0, 0]))))
    np.testing.assert_allclose(np.abs(lam), 1.0)


def test_closed_loop_matches_matrix_powers():
    H, d, h, lag = 3, 4, 6, 10
    layer = ssm.ClosedLoopCompanionSSM(H, d, horizon=h, key=KEY)
    u = np.random.default_rng(1).normal(size=(lag, H))
    out = eqx.filter_jit(lambda m, u: m.outputs(u))(layer, u)
    a, b, c, k = (np.asarray(v) for v in layer.ssm())
    for i in range(H):
        A = np.asarray(ssm.companion_matrix(a[i]))
        x = np.zeros(d)
        y_lag, u_lag = [], []
        for t in range(lag):
            x = A @ x + b[i] * u[t, i]
            y_lag.append(c[i] @ x)
            u_lag.append(k[i] @ x)
        Ab = A + np.outer(b[i], k[i])
        y = [c[i] @ np.linalg.matrix_power(Ab, j) @ x for j in range(1, h + 1)]
        uh = [k[i] @ np.linalg.matrix_power(Ab, j) @ x for j in range(1, h + 1)]
        np.testing.assert_allclose(out["y"][:, i], y, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(out["uhat"][:, i], uh, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(out["y_lag"][:, i], y_lag, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(out["uhat_lag"][:, i], u_lag, rtol=1e-9, atol=1e-11)

    # streaming rollout equals the Woodbury forecast
    @eqx.filter_jit
    def rollout(layer, u):
        def body(x, _):
            y, _, x = layer.step(x)
            return x, y

        return jax.lax.scan(body, layer.init_state(u), None, length=h)[1]

    assert_tree_allclose(rollout(layer, u), out["y"], rtol=1e-9, atol=1e-11)


def test_init_under_jit_and_vmap():
    layers = eqx.filter_vmap(lambda k: ssm.CompanionSSM(4, 3, key=k))(jax.random.split(KEY, 2))
    assert layers.a.shape == (2, 4, 3)
    layer = eqx.filter_jit(lambda k: ssm.CompanionSSM(4, 3, dtype=jnp.float32, key=k))(KEY)
    assert layer.a.dtype == jnp.float32
    u = jnp.ones((5, 4), jnp.float32)
    assert _apply(layer, u).dtype == jnp.float32


def test_spacetime_forward_and_training_step():
    model = ssm.SpaceTime(6, H=8, d=4, kernel_repeat=2, dropout=0.1, key=KEY)
    t = np.arange(40)
    x = np.stack([np.sin(t[:24] / 3 + s) + s for s in (0.0, 0.5, 1.0, 1.5)])
    y = np.stack([np.sin(t[24:30] / 3 + s) + s for s in (0.0, 0.5, 1.0, 1.5)])
    forecast = eqx.filter_jit(lambda m, x: jax.vmap(m)(x))
    f = forecast(model, x)
    assert f.shape == (4, 6)
    # the per-window mean is removed and added back: a constant shift moves the forecast by it
    assert_tree_allclose(forecast(model, x + 3.0), f + 3.0, rtol=1e-9, atol=1e-9)
    view = model.training_view()
    opt = optax.adamw(1e-2)
    opt_state = opt.init(eqx.filter(view, eqx.is_inexact_array))
    step = training.make_train_step(ssm.spacetime_loss, opt)
    losses = []
    for i in range(15):
        view, opt_state, loss = step(view, opt_state, x, y, jax.random.key(i))
        losses.append(float(loss))
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    assert forecast(view.model, x).shape == (4, 6)


def test_spacetime_loss_terms():
    out = {
        "forecast": jnp.full(3, 2.0),
        "lag_fit": jnp.zeros(4),
        "lag_target": jnp.full(4, 2.0),
        "next_pred": jnp.zeros((3, 2)),
        "next_true": jnp.full((3, 2), 3.0),
    }
    # RMSEs: |2 - 1| = 1, 2, 3
    assert_tree_allclose(ssm.spacetime_loss(out, jnp.ones(3)), jnp.asarray(6.0), atol=1e-5)
    packed = jnp.array([2.0, 2.0, 2.0, 5.0])
    assert_tree_allclose(ssm.spacetime_loss(packed, jnp.ones(3)), jnp.asarray(6.0), atol=1e-5)
    with pytest.raises(ValueError, match="`y`"):
        ssm.spacetime_loss(out, jnp.zeros(4))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: ssm.CompanionSSM(0, 3, key=KEY), "`H`"),
        (lambda: ssm.CompanionSSM(4, 0, key=KEY), "`d`"),
        (lambda: ssm.CompanionSSM(4, 3, kernel_repeat=3, key=KEY), "`kernel_repeat`"),
        (lambda: ssm.PreprocessSSM(4, diff_orders=(4,)), "`diff_orders`"),
        (lambda: ssm.PreprocessSSM(4, ma_windows=(0,)), "`ma_windows`"),
        (lambda: ssm.ClosedLoopCompanionSSM(4, 3, horizon=0, key=KEY), "`horizon`"),
        (lambda: ssm.SpaceTime(4, H=8, d=2, dropout=1.0, key=KEY), "`dropout`"),
        (lambda: ssm.CompanionSSM(4, 3, key=KEY)(jnp.ones((5, 3))), "`u`"),
    ],
)
def test_bad_inputs(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()
