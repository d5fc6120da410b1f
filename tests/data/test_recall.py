"""delayed_recall: shapes, the label at position 0, blanks and distractors, jit, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsci import data


def test_delayed_recall_structure(key):
    x, y = data.delayed_recall(key, 64, 20, 5, distractor_prob=0.0)
    assert x.shape == (64, 20, 6) and y.shape == (64,)  # time-first (batch, L, n_classes + 1)
    assert (
        jnp.issubdtype(y.dtype, jnp.integer) and x.dtype == jnp.float64
    )  # default float (x64 suite)
    x, y = np.asarray(x), np.asarray(y)
    np.testing.assert_array_equal(x.sum(-1), 1.0)  # one-hot
    np.testing.assert_array_equal(x[:, 0].argmax(-1), y)  # the label is the first token
    assert np.all(x[:, 1:, -1] == 1)  # then blanks only
    assert set(np.unique(y)) <= set(range(5)) and len(np.unique(y)) > 1
    xd, _ = data.delayed_recall(key, 64, 200, 5, distractor_prob=0.5)
    frac = float(np.mean(np.asarray(xd)[:, 1:, -1] == 0))
    assert 0.4 < frac < 0.6  # distractors at about the requested rate


def test_delayed_recall_jit_and_seeding(key):
    f = jax.jit(data.delayed_recall, static_argnums=(1, 2, 3))
    a = f(key, 8, 16, 4)
    b = data.delayed_recall(key, 8, 16, 4)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(np.asarray(u), np.asarray(v))
    c = data.delayed_recall(jax.random.fold_in(key, 1), 8, 16, 4)
    assert not np.array_equal(np.asarray(a[1]), np.asarray(c[1])) or not np.array_equal(
        np.asarray(a[0]), np.asarray(c[0])
    )


def test_delayed_recall_bad_input(key):
    with pytest.raises(ValueError, match="`L`"):
        data.delayed_recall(key, 4, 1)
    with pytest.raises(ValueError, match="`n_classes`"):
        data.delayed_recall(key, 4, 8, 1)
    with pytest.raises(ValueError, match="`distractor_prob`"):
        data.delayed_recall(key, 4, 8, distractor_prob=1.5)
    with pytest.raises(TypeError, match="batch"):
        data.delayed_recall(key, 4.0, 8)
