"""Batched solving (many seeds / step sizes at once under vmap) equals the unbatched runs member by member,
and the pieces the speed work relies on reproduce what they replace exactly (issue 17)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsci.monotone as mono
from jaxsci.monotone._sampling import (
    fisher_yates_apply,
    fisher_yates_targets,
    sample_without_replacement,
    split3,
)

N = 40


@pytest.fixture(scope="module")
def game():
    return mono.policeman_and_burglar(N, simplex_method="pivot")


def _solvers(game):
    a = np.asarray(game.matrix)
    fro, p = np.linalg.norm(a), 1.0 / N
    return {
        "vr_extragradient": lambda key, scale, z0: mono.vr_extragradient(
            game,
            z0,
            step_size=scale * 3 * math.sqrt(p) / fro,
            key=key,
            max_epochs=6,
            throw=False,
            num_logs=7,
        ),
        "vr_halpern": lambda key, scale, z0: mono.vr_halpern(
            game,
            z0,
            step_size=scale * 5 / fro,
            key=key,
            max_epochs=12,
            throw=False,
            num_logs=7,
        ),
        "inexact_vr_halpern": lambda key, scale, z0: mono.inexact_vr_halpern(
            game,
            z0,
            step_size=scale * math.sqrt(N) / fro,
            inner_step_size=5 * math.sqrt(p * (1 - p)) / (math.sqrt(N) + 1),
            key=key,
            max_epochs=8,
            throw=False,
            num_logs=7,
        ),
        # the theory snapshot refreshes w <- v (a full evaluation at a member's own inner iterate)
        "inexact_vr_halpern_theory": lambda key, scale, z0: mono.inexact_vr_halpern(
            game,
            z0,
            step_size=scale * math.sqrt(N) / fro,
            inner_step_size=5 * math.sqrt(p * (1 - p)) / (math.sqrt(N) + 1),
            snapshot="theory",
            snapshot_probability=0.2,
            key=key,
            max_epochs=8,
            throw=False,
            num_logs=7,
        ),
    }


@pytest.mark.parametrize(
    "name", ["vr_extragradient", "vr_halpern", "inexact_vr_halpern", "inexact_vr_halpern_theory"]
)
def test_batched_equals_unbatched_member_by_member(game, name):
    # 6 members: 3 seeds x 2 step-size scales, each from its own initial point, one vmap; each member
    # has its own status and counts. Members 0 and 3 share seed and z0 but not the step; 1 and 4 share
    # the seed only: a rule that mixed members' keys or initial points (the anchor z0 of Halpern steps,
    # the point of a full evaluation) would show here.
    fn = _solvers(game)[name]
    keys = jax.random.split(jax.random.key(3), 3)
    keys = jnp.concatenate([keys, keys])
    scales = jnp.asarray([1.0, 1.0, 1.0, 0.5, 0.5, 0.5])
    rng = np.random.default_rng(7)
    mix = rng.dirichlet(np.ones(N), size=(6, 2))
    mix[3] = mix[0]
    w = np.asarray([0.0, 0.3, 0.6, 0.0, 0.9, 0.45])[:, None]
    z0s = jnp.asarray((1 - w) / N + w * mix.reshape(6, 2 * N) / 1.0)
    z0s = z0s.at[:, :N].set(z0s[:, :N] / z0s[:, :N].sum(1, keepdims=True))
    z0s = z0s.at[:, N:].set(z0s[:, N:] / z0s[:, N:].sum(1, keepdims=True))
    # only what a batched run needs back: the state holds the (shared) problem, which vmap would copy
    batched = jax.jit(
        jax.vmap(lambda k, s, z: (lambda r: (r.value, r.result, r.stats))(fn(k, s, z)))
    )(keys, scales, z0s)
    value, result, stats = batched
    for i in range(6):
        one = fn(keys[i], float(scales[i]), z0s[i])
        assert int(result._value[i]) == int(one.result._value)
        for stat in ("oracle_calls", "num_steps", "num_logged"):
            assert int(stats[stat][i]) == int(one.stats[stat]), stat
        np.testing.assert_allclose(value[i], one.value, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(
            stats["residual_history"][i], one.stats["residual_history"], rtol=1e-10
        )
    # the members differ (different seeds, steps and starts): the test compares distinct runs
    assert not np.allclose(value[0], value[3]) and not np.allclose(value[1], value[4])


def test_split3_is_jax_split():
    key = jax.random.key(11)
    for _ in range(20):
        ref = jax.random.key_data(jax.random.split(key, 3))
        got = jax.random.key_data(jax.jit(split3)(key))
        np.testing.assert_array_equal(got, ref)
        key = jax.random.split(key)[0]


@pytest.mark.parametrize("b", [1, 2, 7, 13])
def test_fisher_yates_vectorised_matches_sequential_swaps(b):
    rng = np.random.default_rng(b)
    for trial in range(20):
        n = int(rng.integers(b, 30))
        perm = jnp.asarray(rng.permutation(n))
        key = jax.random.key(trial)
        targets = fisher_yates_targets(key, n, b)
        ref = np.asarray(perm).copy()
        for j, t in enumerate(np.asarray(targets)):
            ref[j], ref[t] = ref[t], ref[j]
        new, idx = jax.jit(fisher_yates_apply)(perm, targets)
        if b > 1:
            np.testing.assert_array_equal(new, ref)
            np.testing.assert_array_equal(idx, ref[:b])
        p2, i2 = sample_without_replacement(key, perm, b)
        np.testing.assert_array_equal(i2, idx)
        np.testing.assert_array_equal(p2, new)


@pytest.mark.parametrize("warm", [-np.inf, -5.0, 0.0, 0.3, 10.0, np.nan])
def test_warm_started_pivot_projection_is_the_projection(warm):
    # whatever the carried threshold, the projection is the sort-based one, and the new threshold is exact
    rng = np.random.default_rng(0)
    constraint = mono.Product(
        (mono.Simplex(method="pivot"), mono.Simplex(method="pivot")), (25, 25)
    )
    sort = mono.Product((mono.Simplex(), mono.Simplex()), (25, 25))
    for _ in range(10):
        z = jnp.asarray(rng.normal(size=50) * rng.choice([0.01, 1.0, 100.0]))
        out, tau = jax.jit(constraint.project_warm)(z, jnp.full(2, warm))
        np.testing.assert_allclose(out, sort.project(z), atol=1e-14)
        np.testing.assert_allclose(np.maximum(z.reshape(2, 25) - tau[:, None], 0).sum(1), 1.0)
