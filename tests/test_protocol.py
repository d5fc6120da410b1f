"""One protocol across the subpackages (design.md, "One protocol"): the same stats keys, budget names,
history padding, divergence status and warm-start rule in multigrid, relax and monotone; no two
public classes share a name; every subpackage declares ``__all__``."""

import importlib
import inspect

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsci
import jaxsci.monotone as mono
import jaxsci.multigrid as mg
import jaxsci.relax as relax
from jaxsci import RESULTS

SUBPACKAGES = ("ssm", "multigrid", "spectral", "monotone", "relax", "data", "training")


def _poisson_problem():
    op = mg.poisson((15, 15))
    return op, jnp.ones((15, 15))


def _relax_problem():
    a = jnp.asarray(relax.delsq(relax.numgrid("S", 8)))
    return a, jnp.ones(a.shape[0])


def _game():
    return mono.policeman_and_burglar(10), jnp.full(20, 0.1)


# Each entry: a call with a budget of `budget` steps (or epochs) and throw=False.
LINEAR = {
    "multigrid.solve": lambda budget, **kw: mg.solve(*_poisson_problem(), max_steps=budget, **kw),
    "multigrid.pcg": lambda budget, **kw: mg.pcg(*_poisson_problem(), max_steps=budget, **kw),
    "relax.sor": lambda budget, **kw: relax.sor(*_relax_problem(), 1.5, max_steps=budget, **kw),
    "relax.ssor": lambda budget, **kw: relax.ssor(*_relax_problem(), 1.5, max_steps=budget, **kw),
    "relax.ssor_pcg": lambda budget, **kw: relax.ssor_pcg(
        *_relax_problem(), 1.5, max_steps=budget, **kw
    ),
    "relax.cg": lambda budget, **kw: relax.cg(*_relax_problem(), max_steps=budget, **kw),
}


@pytest.mark.parametrize("name", sorted(LINEAR))
def test_linear_solvers_share_the_vocabulary(name):
    sol = LINEAR[name](60, rtol=1e-8, throw=False)
    assert sol.result == RESULTS.successful
    k = int(sol.stats["num_steps"])
    hist = np.asarray(sol.stats["residual_history"])
    assert hist.shape == (61,)
    assert np.all(np.isfinite(hist[: k + 1])) and np.all(np.isnan(hist[k + 1 :]))
    assert hist[0] == pytest.approx(1.0)  # relative to ||b|| from a zero initial guess
    assert hist[k] <= 1e-8
    b_norm = float(np.sqrt(sol.value.size))  # b is all ones
    assert float(sol.stats["residual_norm"]) <= 1e-8 * b_norm * (1 + 1e-6)
    assert isinstance(sol, jaxsci.Solution)


@pytest.mark.parametrize("name", sorted(LINEAR))
def test_linear_solvers_budget_and_warm_start(name):
    short = LINEAR[name](1, rtol=1e-12, throw=False)
    assert short.result == RESULTS.max_steps_reached
    assert int(short.stats["num_steps"]) == 1
    # as accurate as the working precision allows, whatever the solver reports
    exact = LINEAR[name](200, rtol=1e-12, throw=False).value
    warm = LINEAR[name](60, rtol=1e-6, x0=exact, throw=False)
    assert warm.result == RESULTS.successful and int(warm.stats["num_steps"]) == 0


@pytest.mark.parametrize("name", sorted(LINEAR))
def test_linear_solvers_raise_with_their_own_name(name):
    with pytest.raises(Exception, match="max_steps"):
        jax.block_until_ready(LINEAR[name](1, rtol=1e-12, throw=True).value)


def test_divergence_is_one_status_everywhere():
    # multigrid: a damped-Jacobi smoother with omega far above its stable range amplifies the
    # high frequencies; relax: SOR on a symmetric matrix that is not positive definite;
    # monotone: an extragradient step far above 1/L on a bilinear game.
    op, f = _poisson_problem()
    sol = mg.solve(op, f, smoother="jacobi", omega=1.95, max_steps=50, throw=False)
    assert sol.result == RESULTS.diverged
    a = jnp.array([[1.0, 2.0], [2.0, 1.0]])
    sol = relax.sor(a, jnp.ones(2), 1.0, max_steps=200, throw=False)
    assert sol.result == RESULTS.diverged
    skew = jnp.array([[0.0, 1.0], [-1.0, 0.0]])
    problem = mono.AffineFiniteSum(skew, jnp.ones(2))
    sol = mono.halpern(problem, jnp.zeros(2), step_size=10.0, max_epochs=1000, throw=False)
    assert sol.result == RESULTS.diverged


def test_monotone_solvers_share_the_vocabulary():
    game, z0 = _game()
    sol = mono.halpern(game, z0, step_size=0.1, max_epochs=20, tol=None, throw=False)
    assert sol.result == RESULTS.successful  # tol=None: run the whole budget
    k = int(sol.stats["num_logged"])
    for key in ("residual_history", "epoch_history"):
        hist = np.asarray(sol.stats[key])
        assert np.all(np.isfinite(hist[:k])) and np.all(np.isnan(hist[k:]))
    assert int(sol.stats["num_steps"]) > 0
    assert float(sol.stats["num_epochs"]) == pytest.approx(20, rel=0.1)


def test_solvers_are_configured_modules_with_reusable_state():
    op, f = _poisson_problem()
    solver = mg.Multigrid(rtol=1e-8)
    state = solver.init(op)
    sol = solver.solve(state, f)
    assert sol.state is not None
    np.testing.assert_allclose(sol.value, mg.solve(op, f, rtol=1e-8).value, rtol=1e-10)
    a, b = _relax_problem()
    sor = relax.SOR(rtol=1e-8)
    sol = sor.solve(sor.init(a), b, omega=1.5)
    assert int(sol.stats["num_steps"]) == int(relax.sor(a, b, 1.5, rtol=1e-8).stats["num_steps"])
    game, z0 = _game()
    h = mono.Halpern(step_size=0.1, max_epochs=10)
    assert isinstance(h, eqx.Module)
    sol = h.solve(h.init(game), z0)
    assert sol.state is not None


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_every_subpackage_declares_all(name):
    module = importlib.import_module(f"jaxsci.{name}")
    assert hasattr(module, "__all__"), f"jaxsci.{name} has no __all__"
    for public in module.__all__:
        assert hasattr(module, public), f"jaxsci.{name}.__all__ lists missing {public!r}"
    exported = {
        n for n in vars(module) if not n.startswith("_") and not inspect.ismodule(vars(module)[n])
    }
    missing = exported - set(module.__all__)
    assert not missing, f"jaxsci.{name} exports {sorted(missing)} outside __all__"


def test_no_two_public_classes_share_a_name():
    seen = {}
    for name in SUBPACKAGES:
        module = importlib.import_module(f"jaxsci.{name}")
        for public in module.__all__:
            obj = getattr(module, public)
            if inspect.isclass(obj):
                other = seen.setdefault(public, obj)
                assert other is obj, f"two public classes are named {public!r}"
