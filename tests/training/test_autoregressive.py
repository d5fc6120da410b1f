"""Autoregressive rollouts: exact linear dynamics, training through the rollout, per-step errors."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxsci.training import (
    Rollout,
    make_train_step,
    relative_l2,
    rollout,
    rollout_errors,
    trajectory_windows,
)


class Scale(eqx.Module):
    """Predicts k frames: frame j = a^(j+1) * the last frame (exact for w_t = a^t w_0)."""

    a: jax.Array
    k: int = eqx.field(static=True)

    def __call__(self, w, *, key=None):
        powers = self.a ** jnp.arange(1, self.k + 1)
        return powers[:, None, None] * w[-1:]


def _trajectory(a, T, shape=(4, 5)):
    w0 = np.random.default_rng(0).standard_normal(shape)
    return np.stack([a**t * w0 for t in range(T)])


@pytest.mark.parametrize("k", [1, 3, 10])
def test_rollout_one_step_at_a_time_or_all_at_once(k):
    u = _trajectory(0.9, 20)
    model = Scale(jnp.asarray(0.9), k)
    pred = rollout(model, u[:10], 10)
    np.testing.assert_allclose(pred, u[10:], rtol=1e-12)
    np.testing.assert_allclose(jax.jit(lambda z: Rollout(model, 10)(z))(u[:10]), u[10:], rtol=1e-12)


def test_rollout_window_shifts_like_a_python_loop():
    class Mix(eqx.Module):
        def __call__(self, w, *, key=None):  # depends on the whole window
            return (0.5 * w[:1] + 0.25 * w[-1:] + 0.1 * w.sum(0, keepdims=True)).repeat(2, 0)

    w = np.random.default_rng(1).standard_normal((3, 4, 4))
    window, frames = w.copy(), []
    while len(frames) < 5:
        p = np.asarray(Mix()(window))
        frames.extend(p)
        window = np.concatenate([window, p])[-3:]
    np.testing.assert_allclose(rollout(Mix(), w, 5), np.stack(frames[:5]), rtol=1e-12)


def test_gradient_through_the_rollout():
    u = _trajectory(0.8, 15)

    def loss(a):
        return jnp.sum(rollout(Scale(a, 1), u[:10], 5) ** 2)

    a = 0.7
    # loss(a) = sum_j a^(2j) |u_9|^2 for j = 1..5
    expected = sum(2 * j * a ** (2 * j - 1) for j in range(1, 6)) * np.sum(u[9] ** 2)
    np.testing.assert_allclose(jax.grad(loss)(jnp.asarray(a)), expected, rtol=1e-10)


def test_training_through_the_rollout_with_make_train_step(key):
    u = np.stack([_trajectory(0.9, 14, (3, 3)) * s for s in (1.0, -0.5, 2.0, 0.3)])
    x, y = trajectory_windows(u, 4, 10)
    assert x.shape == (4, 4, 3, 3) and y.shape == (4, 10, 3, 3)
    model = Rollout(Scale(jnp.asarray(0.5), 1), 10)
    opt = optax.adam(0.05)
    step = make_train_step(relative_l2, opt)
    state = opt.init(eqx.filter(model, eqx.is_inexact_array))
    for _ in range(60):
        model, state, loss = step(model, state, x, y, key)
    assert abs(float(model.model.a) - 0.9) < 0.02
    errors = rollout_errors(model.model, (x, y))
    assert errors.shape == (10,) and errors.max() < 0.2
    zero = rollout_errors(Scale(jnp.asarray(0.0), 1), (x, y))
    np.testing.assert_allclose(zero, 1.0)  # predicting 0: relative error 1 at every step


def test_trajectory_windows_contents():
    u = np.arange(2 * 6 * 2).reshape(2, 6, 2, 1).astype(float)
    x, y = trajectory_windows(u, 2, 3, stride=1)
    assert x.shape == (4, 2, 2, 1) and y.shape == (4, 3, 2, 1)
    np.testing.assert_array_equal(x[1], u[0, 1:3])
    np.testing.assert_array_equal(y[1], u[0, 3:6])
    np.testing.assert_array_equal(x[2], u[1, 0:2])


def test_bad_inputs():
    model = Scale(jnp.asarray(0.9), 1)
    w = np.ones((3, 4, 4))
    with pytest.raises(ValueError, match="`num_steps`"):
        rollout(model, w, 0)
    with pytest.raises(ValueError, match="`model`"):
        rollout(lambda z, key=None: z[:, :2], w, 2)
    with pytest.raises(ValueError, match="`num_in`"):
        trajectory_windows(np.ones((2, 5, 3)), 4, 2)
    with pytest.raises(ValueError, match="`data`"):
        rollout_errors(model, (np.ones((2, 3, 4)), np.ones((3, 3, 4))))
