"""The Halpern notebook's convergence table, pinned: epochs to each residual threshold on the paper's game.

These numbers were recorded from ``notebooks/halpern.py`` (n = 500 policeman-and-burglar, the paper's tuned
steps, key 0, a log point every 10 epochs: the notebook's 5000 epochs over ``num_logs=501``) *before* the
solvers' inner loops were restructured for speed (issue 17), so any change of the random stream, the
oracle accounting or the iterates shows up here. Budgets are cut to what each pinned threshold needs (the
log points are the same multiples of 10 epochs, so the epochs at a threshold do not depend on the budget);
the full table is the notebook's printout. The final oracle count and step count of each cut run are
pinned exactly too, and its final residual to rounding.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsci.monotone as mono

N = 500

# method: (budget in epochs, {threshold: epochs to reach it}, oracle_calls, num_steps, final residual)
PINNED = {
    "EG": (490, {5e-2: 480.0}, 245000, 245, None),
    "EAG": (950, {5e-2: 940.0}, 475000, 475, 0.04922290417870515),
    "VR-EG": (260, {5e-2: 110.0, 2e-2: 250.876}, 130000, 42750, 0.01955721247197708),
    "Algorithm 1": (350, {5e-2: 140.056, 2e-2: 340.784}, 175020, 1677, 0.01958402116676798),
    "Algorithm 2": (660, {5e-2: 292.912, 2e-2: 651.4}, 331180, 379, 0.019678001077110985),
    "Algorithm 2 (theory snapshot)": (300, {5e-2: 292.912}, None, None, None),
}


@pytest.fixture(scope="module")
def game():
    return mono.policeman_and_burglar(N, simplex_method="pivot")


def _run(game, name, epochs):
    key = jax.random.key(0)
    a = np.asarray(game.matrix)
    op, fro, p = np.linalg.norm(a, 2), np.linalg.norm(a), 1.0 / N
    z0 = jnp.full(2 * N, 1.0 / N)
    c = dict(max_epochs=epochs, log_every=10, throw=False)
    alg2 = dict(
        step_size=np.sqrt(N) / fro,
        inner_step_size=5 * np.sqrt(p * (1 - p)) / (np.sqrt(N) + 1),
        key=key,
    )
    if name == "EG":
        return mono.extragradient(game, z0, step_size=5 / op, **c)
    if name == "EAG":
        return mono.anchored_extragradient(game, z0, step_size=5 / op, **c)
    if name == "VR-EG":
        return mono.vr_extragradient(game, z0, step_size=3 * np.sqrt(p) / fro, key=key, **c)
    if name == "Algorithm 1":
        return mono.vr_halpern(game, z0, step_size=5 / fro, key=key, **c)
    snapshot = "theory" if "theory" in name else "code"
    return mono.inexact_vr_halpern(game, z0, snapshot=snapshot, **alg2, **c)


def _epochs_to(sol, thr):
    k = int(sol.stats["num_logged"])
    r = np.asarray(sol.stats["residual_history"])[:k]
    e = np.asarray(sol.stats["epoch_history"])[:k]
    hit = np.nonzero(r <= thr)[0]
    return float(e[hit[0]]) if hit.size else None


@pytest.mark.parametrize("name", list(PINNED))
def test_notebook_epochs_to_thresholds_unchanged(game, name):
    epochs, table, calls, steps, final = PINNED[name]
    sol = _run(game, name, epochs)
    got = {thr: _epochs_to(sol, thr) for thr in table}
    assert got == pytest.approx(table, rel=1e-12, abs=0), (name, got)
    if calls is not None:
        assert int(sol.stats["oracle_calls"]) == calls
        assert int(sol.stats["num_steps"]) == steps
    if final is not None:
        np.testing.assert_allclose(float(sol.stats["residual_norm"]), final, rtol=1e-9)
