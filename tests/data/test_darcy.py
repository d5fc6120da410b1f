"""Darcy: the generated pairs satisfy the discrete equation to rtol, agree with a dense solve, cache."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsci.data import darcy, darcy_operator

S = 16  # grid nodes per axis including the boundary: 14 x 14 unknowns


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    cache = tmp_path_factory.mktemp("darcy")
    a, u = darcy(jax.random.key(0), 3, S, chunk_size=2, cache_dir=cache, progress=False)
    return a, u, cache


def test_solutions_satisfy_the_discrete_equation(data):
    a, u, _ = data
    assert a.shape == u.shape == (3, S, S) and u.dtype == jnp.float64
    assert set(np.unique(np.asarray(a)).tolist()) == {3.0, 12.0}
    assert float(jnp.abs(u[:, 0]).max()) == 0.0 and float(jnp.abs(u[:, :, -1]).max()) == 0.0
    for i in range(3):
        op = darcy_operator(a[i])
        r = jnp.ones((S - 2, S - 2)) - op.mv(u[i, 1:-1, 1:-1])
        assert float(jnp.linalg.norm(r) / (S - 2)) <= 1e-10
        assert float(u[i, 1:-1, 1:-1].min()) > 0.0  # maximum principle for f = 1 > 0


def test_matches_a_dense_float64_solve(data):
    a, u, _ = data
    op = darcy_operator(a[0])
    n = (S - 2) ** 2
    matrix = np.asarray(jax.vmap(lambda e: op.mv(e.reshape(S - 2, S - 2)).ravel())(jnp.eye(n))).T
    # reference matrix from the finite-volume formula with harmonic-mean faces, h = 1/(S-1)
    ai = np.asarray(a[0, 1:-1, 1:-1])
    h = 1.0 / (S - 1)
    ref = np.zeros((S - 2, S - 2, S - 2, S - 2))
    for i in range(S - 2):
        for j in range(S - 2):
            for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                p, q = i + di, j + dj
                inside = 0 <= p < S - 2 and 0 <= q < S - 2
                face = 2 * ai[i, j] * ai[p, q] / (ai[i, j] + ai[p, q]) if inside else ai[i, j]
                ref[i, j, i, j] += face / h**2
                if inside:
                    ref[i, j, p, q] -= face / h**2
    np.testing.assert_allclose(matrix, ref.reshape(n, n), rtol=1e-12, atol=1e-9)
    u_ref = np.linalg.solve(ref.reshape(n, n), np.ones(n)).reshape(S - 2, S - 2)
    np.testing.assert_allclose(u[0, 1:-1, 1:-1], u_ref, rtol=1e-8)


def test_cache_round_trip_and_seed(data):
    a, u, cache = data
    files = list(cache.glob("darcy_*.npz"))
    assert len(files) == 1
    b, v = darcy(jax.random.key(0), 3, S, chunk_size=2, cache_dir=cache, progress=False)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(u, v)


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="resolution"):
        darcy(jax.random.key(0), 2, 3)
    with pytest.raises(ValueError, match="rtol"):
        darcy(jax.random.key(0), 2, 16, rtol=2.0)
    with pytest.raises(ValueError, match="num_samples"):
        darcy(jax.random.key(0), 0, 16)


@pytest.mark.parametrize(
    "s", [33, 85]
)  # odd sizes, the FNO paper's 85 (421 subsampled by 5) included
def test_other_resolutions_satisfy_the_discrete_equation(s):
    a, u = darcy(jax.random.key(2), 1, s, progress=False)
    op = darcy_operator(a[0])
    r = jnp.ones((s - 2, s - 2)) - op.mv(u[0, 1:-1, 1:-1])
    assert float(jnp.linalg.norm(r) / (s - 2)) <= 1e-10
    assert set(np.unique(np.asarray(a)).tolist()) == {3.0, 12.0}


@pytest.mark.slow
@pytest.mark.parametrize("s", [64, 128])
def test_power_of_two_resolutions_satisfy_the_discrete_equation(s):
    test_other_resolutions_satisfy_the_discrete_equation(s)


def test_cache_is_reloaded_not_recomputed(tmp_path):
    """A cached file is read back as it is: tampering with it shows in the returned arrays."""
    a, u = darcy(jax.random.key(3), 2, 8, cache_dir=tmp_path, progress=False)
    (path,) = tmp_path.glob("darcy_8_2_*.npz")
    with np.load(path) as data:
        content = dict(data)
    content["out1"] = content["out1"] + 1.0
    np.savez(path, **content)
    b, v = darcy(jax.random.key(3), 2, 8, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(b, a)
    np.testing.assert_array_equal(v, np.asarray(u) + 1.0)
    c, _ = darcy(
        jax.random.key(4), 2, 8, cache_dir=tmp_path, progress=False
    )  # another key: new file
    assert len(list(tmp_path.glob("darcy_8_2_*.npz"))) == 2 and not np.array_equal(c, a)


def test_progress_bar(capsys):
    darcy(jax.random.key(5), 2, 8, chunk_size=1, progress=True)
    err = capsys.readouterr().err
    assert "generating darcy" in err and "/2 [" in err  # tqdm: desc, count/total
    darcy(jax.random.key(5), 2, 8, chunk_size=1, progress=False)
    assert "generating" not in capsys.readouterr().err
