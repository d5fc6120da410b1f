"""One grid convention across jaxsci.data, jaxsci.multigrid, jaxsci.spectral and the FNO features.

``data.darcy`` fields live on the node grid ``x_i = i/(s-1)`` (boundary included); its interior is
exactly the Dirichlet grid of ``multigrid.poisson((s-2,)*d)`` and of ``spectral.solve_dirichlet``
(``x_i = (i+1)/(n+1)``, ``h = 1/(n+1)``, ``n = s - 2``). The conversion is ``u[1:-1, 1:-1]`` one way
and ``jnp.pad(u, 1)`` (zero Dirichlet data) the other.
"""

import jax
import jax.numpy as jnp
import numpy as np

import jaxsci.multigrid as mg
from jaxsci.data import darcy_operator, darcy_solve
from jaxsci.spectral import FNO, grid_coordinates, solve_dirichlet

S = 12  # darcy nodes per axis (boundary included): n = 10 interior unknowns, h = 1/11


def test_darcy_interior_is_the_multigrid_and_dst_dirichlet_grid():
    nodes = grid_coordinates((S, S))
    interior = grid_coordinates((S - 2, S - 2), layout="interior")
    np.testing.assert_array_equal(nodes[:, 1:-1, 1:-1], interior)
    np.testing.assert_allclose(nodes[0, :, 0], np.linspace(0.0, 1.0, S))  # the FNO scripts' grid
    # the discrete operators agree: darcy's with a = 1 is multigrid's Poisson on the interior grid
    v = jax.random.normal(jax.random.key(0), (S - 2, S - 2))
    ones = jnp.ones((S, S))
    np.testing.assert_allclose(
        darcy_operator(ones).mv(v), mg.poisson((S - 2, S - 2)).mv(v), rtol=1e-12
    )
    # and the solutions: the darcy solve of a = 1, f = 1, padded back with its zero boundary, is the
    # exact DST inverse of the 5-point Laplacian on the same interior nodes
    u = darcy_solve(ones)
    assert u.shape == (S, S)
    ref = solve_dirichlet(jnp.ones((S - 2, S - 2)), stencil="fd")
    np.testing.assert_allclose(u[1:-1, 1:-1], ref, rtol=1e-8)
    np.testing.assert_array_equal(jnp.pad(u[1:-1, 1:-1], 1), u)


def test_fno_default_features_are_the_darcy_nodes():
    model = FNO(1, 1, modes=(2, 2), width=2, depth=1, projection_width=2, key=jax.random.key(1))
    assert model.grid_layout == "nodes"
    # a point of the coarse node grid keeps its coordinates on the nested fine grid (2s - 1 nodes)
    np.testing.assert_array_equal(
        grid_coordinates((2 * S - 1,) * 2)[:, ::2, ::2], grid_coordinates((S, S))
    )
