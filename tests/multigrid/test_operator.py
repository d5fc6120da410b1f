"""Operators and transfers against float64 SciPy references."""

import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import pytest
import scipy.sparse as sp

import jaxsci.multigrid as mg
from jaxsci.multigrid._transfer import prolong, restrict


def _lap1d(n, h, bc, a_faces):
    """1D matrix of -d/dx(a d/dx) with the given face coefficients (length n+1), SciPy float64."""
    w = np.asarray(a_faces, float)
    main = (w[:-1] + w[1:]) / h**2
    A = sp.diags([main, -w[1:-1] / h**2, -w[1:-1] / h**2], [0, -1, 1], shape=(n, n)).tolil()
    if bc == "periodic":
        A[0, n - 1] -= w[0] / h**2
        A[n - 1, 0] -= w[n] / h**2
    return A.tocsr()


def _reference(shape, bc, a=None, c=0.0):
    """Independent SciPy assembly: sum over axes of 1D operators along grid lines."""
    shape = tuple(shape)
    N = int(np.prod(shape))
    bcs = (bc,) * len(shape) if isinstance(bc, str) else bc
    A = sp.lil_matrix((N, N))
    idx = np.arange(N).reshape(shape)
    for d, n in enumerate(shape):
        h = 1 / (n + 1) if bcs[d] == "dirichlet" else 1 / n
        other = [range(s) for e, s in enumerate(shape) if e != d]
        for rest in np.ndindex(*[len(r) for r in other]) if other else [()]:
            sl = list(rest)
            sl.insert(d, slice(None))
            ids = idx[tuple(sl)]
            av = np.ones(n) if a is None else a[tuple(sl)]
            faces = np.empty(n + 1)
            faces[1:-1] = 2 * av[:-1] * av[1:] / (av[:-1] + av[1:])
            if bcs[d] == "dirichlet":
                faces[0], faces[-1] = av[0], av[-1]
            elif bcs[d] == "neumann":
                faces[0] = faces[-1] = 0.0
            else:
                faces[0] = faces[-1] = 2 * av[0] * av[-1] / (av[0] + av[-1])
            A[np.ix_(ids, ids)] += _lap1d(n, h, bcs[d], faces)
    A = A.tocsr() + sp.diags(np.broadcast_to(c, shape).reshape(-1))
    return A


@pytest.mark.parametrize("bc", ["dirichlet", "neumann", "periodic"])
@pytest.mark.parametrize("shape", [(7,), (6, 5), (4, 3, 5)])
def test_poisson_matches_scipy(shape, bc, getkey):
    op = mg.poisson(shape, bc=bc)
    u = jax.random.normal(getkey(), shape)
    ref = _reference(shape, bc) @ np.asarray(u).reshape(-1)
    np.testing.assert_allclose(np.asarray(op.mv(u)).reshape(-1), ref, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(
        np.asarray(op.diagonal()).reshape(-1), _reference(shape, bc).diagonal(), rtol=1e-12
    )


def test_poisson_interface_5_point():
    n = 5
    op = mg.poisson((n, n))
    assert op.h == (1 / 6, 1 / 6)
    e = jnp.zeros((n, n)).at[2, 2].set(1.0)
    out = op.mv(e) / 36.0
    assert out[2, 2] == pytest.approx(4.0)
    assert out[1, 2] == out[3, 2] == out[2, 1] == out[2, 3] == pytest.approx(-1.0)
    assert jnp.sum(jnp.abs(out)) == pytest.approx(8.0)


@pytest.mark.parametrize("bc", ["dirichlet", "neumann", ("periodic", "dirichlet")])
def test_diffusion_matches_scipy(bc, getkey):
    shape = (6, 5)
    a = np.exp(np.asarray(jax.random.normal(getkey(), shape)))
    c = np.asarray(jax.random.uniform(getkey(), shape))
    op = mg.diffusion(jnp.asarray(a), bc=bc, c=jnp.asarray(c))
    u = np.asarray(jax.random.normal(getkey(), shape))
    ref = _reference(shape, bc, a=a, c=c)
    np.testing.assert_allclose(np.asarray(op.mv(u)).reshape(-1), ref @ u.reshape(-1), rtol=1e-11)
    np.testing.assert_allclose(np.asarray(op.as_matrix()), ref.toarray(), rtol=1e-11, atol=1e-9)


def test_singular_flag_and_lineax():
    assert mg.poisson((4, 4), bc="neumann").singular
    assert mg.poisson((4, 4), bc="periodic").singular
    assert not mg.poisson((4, 4), bc="neumann", c=1.0).singular
    assert not mg.poisson((4, 4), bc=("neumann", "dirichlet")).singular
    op = mg.poisson((5, 6), c=0.5)
    assert lx.is_symmetric(op) and lx.is_positive_semidefinite(op)
    f = jnp.ones((5, 6))
    u = lx.linear_solve(op, f, solver=lx.CG(rtol=1e-12, atol=1e-12)).value
    np.testing.assert_allclose(op.mv(u), f, atol=1e-9)


@pytest.mark.parametrize("bc", ["dirichlet", "neumann", "periodic"])
@pytest.mark.parametrize("n", [7, 8])
def test_restriction_is_scaled_adjoint_of_prolongation(n, bc, getkey):
    shape = (n, n - 1)
    bcs = (bc, bc)
    coarse = jax.eval_shape(lambda x: restrict(x, bcs), jnp.zeros(shape)).shape
    c = jax.random.normal(getkey(), coarse)
    f = jax.random.normal(getkey(), shape)
    # <R f, c> = <f, P c> / 2^d
    lhs = jnp.vdot(restrict(f, bcs), c)
    rhs = jnp.vdot(f, prolong(c, shape, bcs)) / 4
    assert float(lhs) == pytest.approx(float(rhs), rel=1e-12)


def test_transfers_reproduce_linear_functions():
    # Dirichlet, odd n: nested vertex grids; interpolation is exact for linear functions.
    n = 15
    x_f = np.arange(1, n + 1) / (n + 1)
    x_c = x_f[1::2]
    up = prolong(jnp.asarray(2 * x_c + 1), (n,), ("dirichlet",))
    np.testing.assert_allclose(up[1:-1], 2 * x_f[1:-1] + 1, rtol=1e-12)
    # Full weighting of a linear function is exact away from the boundary.
    np.testing.assert_allclose(restrict(jnp.asarray(x_f), ("dirichlet",)), x_c, rtol=1e-12)
    # Neumann (cell-centred): constants are reproduced exactly, both ways.
    np.testing.assert_allclose(prolong(jnp.ones(4), (8,), ("neumann",)), np.ones(8))
    np.testing.assert_allclose(restrict(jnp.ones(8), ("neumann",)), np.ones(4))


def test_coarse_operator_rediscretises_and_averages():
    op = mg.poisson((15, 15))
    co = mg.coarsen(op)
    assert co.shape == (7, 7) and co.h == (1 / 8, 1 / 8)
    np.testing.assert_allclose(co.as_matrix(), mg.poisson((7, 7)).as_matrix(), rtol=1e-12)
    # Constant a: averaging reproduces the rediscretisation; jumps: harmonic along the flux.
    op_a = mg.diffusion(3.0 * jnp.ones((15, 15)))
    np.testing.assert_allclose(mg.coarsen(op_a).as_matrix(), 3 * co.as_matrix(), rtol=1e-12)
    a = jnp.ones((3,)).at[1].set(1e3)  # series of faces 1, 2e3/1001*..., harmonic along x
    w = mg.coarsen(mg.diffusion(a)).weights[0]
    assert w.shape == (2,)
    np.testing.assert_allclose(w[0], 2 / (1 + 1 / (2e3 / 1001)), rtol=1e-12)


def test_bad_inputs():
    with pytest.raises(ValueError, match="`bc`"):
        mg.poisson((8, 8), bc="robin")
    # Host values are checked at trace time, device values at run time (never read on the host).
    with pytest.raises(ValueError, match="`a`"):
        mg.diffusion(np.zeros((8, 8)))
    with pytest.raises(Exception, match="`a`"):
        jax.block_until_ready(mg.diffusion(jnp.zeros((8, 8))))
    with pytest.raises(Exception, match="`a`"):
        jax.jit(lambda a: mg.diffusion(a).weights)(-jnp.ones((8, 8)))
    with pytest.raises(ValueError, match="`c`"):
        mg.diffusion(jnp.ones((8, 8)), c=-1.0)
    with pytest.raises(Exception, match="`c`"):
        jax.block_until_ready(mg.diffusion(jnp.ones((8, 8)), c=-jnp.ones((8, 8))))
    with pytest.raises(ValueError, match="`c`"):
        mg.diffusion(jnp.ones((8, 8)), c=jnp.ones((4, 4)))
    with pytest.raises(ValueError, match="`shape`"):
        mg.poisson((8, 8, 8, 8))
    with pytest.raises(ValueError, match="`h`"):
        mg.poisson((8,), h=-1.0)
    with pytest.raises(ValueError, match="`u`"):
        mg.poisson((8, 8)).mv(jnp.zeros((8, 7)))


def _level_matrices(H, l):
    """Dense P (level l+1 -> l) and R (level l -> l+1) of a hierarchy."""
    m, n = H.ops[l + 1].size, H.ops[l].size
    cs, fs = H.ops[l + 1].shape, H.ops[l].shape
    P = jax.vmap(lambda e: H.prolong(l, e.reshape(cs)).reshape(-1))(jnp.eye(m)).T
    R = jax.vmap(lambda e: H.restrict(l, e.reshape(fs)).reshape(-1))(jnp.eye(n)).T
    return np.asarray(P), np.asarray(R)


@pytest.mark.parametrize(
    "n,bc",
    [
        (8, "dirichlet"),
        (12, "dirichlet"),
        (22, "dirichlet"),
        (9, "periodic"),
        (11, "periodic"),
        (21, "periodic"),
    ],
)
def test_nonnested_vertex_coarse_operator_is_galerkin(n, bc):
    # Non-nested sizes: the coarse grid is non-uniform at a boundary / the periodic wrap; the
    # transfers interpolate in the true coordinates and the 1D coarse operator is exactly R A P.
    H = mg.build_hierarchy(mg.poisson((n,), bc=bc), coarse_max=1, max_levels=3)
    assert H.depth == 3
    assert any(w is not None for ws in H.transfer_weights for w in ws) or bc == "dirichlet"
    for l in range(H.depth - 1):
        P, R = _level_matrices(H, l)
        np.testing.assert_allclose(R, P.T / 2, atol=1e-15)
        # Linear interpolation in true coordinates keeps the constants away from Dirichlet ends.
        if bc == "periodic":
            np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
        Af, Ac = (np.asarray(H.ops[k].as_matrix()) for k in (l, l + 1))
        np.testing.assert_allclose(Ac, R @ Af @ P, rtol=1e-12, atol=1e-9 * np.abs(Ac).max())


@pytest.mark.parametrize(
    "shape,bc",
    [
        ((8, 7), ("dirichlet", "neumann")),
        ((9, 10), ("periodic", "dirichlet")),
        ((7, 6, 5), ("neumann", "periodic", "dirichlet")),
    ],
)
def test_nonnested_hierarchy_transfers_are_adjoint(shape, bc):
    H = mg.build_hierarchy(mg.poisson(shape, bc=bc), coarse_max=1, max_levels=2)
    P, R = _level_matrices(H, 0)
    np.testing.assert_allclose(R, P.T / 2 ** len(shape), atol=1e-15)
    A1 = np.asarray(H.ops[1].as_matrix())
    np.testing.assert_allclose(A1, A1.T, atol=1e-9 * np.abs(A1).max())
    # The coarse operator keeps the nullspace/definiteness of the fine one.
    assert np.linalg.eigvalsh(A1).min() > 0


@pytest.mark.parametrize(
    "shape,bc",
    [
        ((9, 8), "dirichlet"),
        ((9, 10), ("periodic", "dirichlet")),
        ((7, 8), ("neumann", "neumann")),
        ((5, 6, 4), ("dirichlet", "periodic", "neumann")),
    ],
)
def test_galerkin_coarse_operator_is_rap(shape, bc, getkey):
    a = jnp.exp(jax.random.normal(getkey(), shape))
    op = mg.diffusion(a, bc=bc)
    H = mg.build_hierarchy(op, coarse_max=1, max_levels=3, coarse="galerkin")
    for l in range(H.depth - 1):
        P, R = _level_matrices(H, l)
        Af, Ac = (np.asarray(H.ops[k].as_matrix()) for k in (l, l + 1))
        np.testing.assert_allclose(Ac, R @ Af @ P, rtol=1e-11, atol=1e-11 * np.abs(Ac).max())
        np.testing.assert_allclose(
            np.asarray(H.ops[l + 1].diagonal()).reshape(-1), np.diag(Ac), rtol=1e-12
        )
    with pytest.raises(ValueError, match="`coarse`"):
        mg.build_hierarchy(op, coarse="rap")
