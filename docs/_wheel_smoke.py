"""Smoke test of an installed jaxsci (run by ``.ci/run`` in a fresh venv holding the wheel and the core deps).

Run it from outside the checkout (``cd /tmp && python /path/to/_wheel_smoke.py``) so that ``import jaxsci``
finds the installed wheel, not the source tree. It checks that the import is the installed one, that the
version comes from the package metadata, that the wheel carries every subpackage of the source tree (passed
as arguments) and ``py.typed``, that every name of every subpackage's ``__all__`` exists, and calls one
function of each subpackage (a subpackage unknown to this script is imported and its names resolved).
"""

import importlib
import importlib.metadata
import pathlib
import pkgutil
import sys

import jax
import jax.numpy as jnp
import numpy as np

import jaxsci


def _ssm():
    import jaxsci.ssm as ssm

    A, B = ssm.s4d_init("lin", 8)
    C = np.ones_like(B)
    K = ssm.s4d_kernel(A[None], B[None], C[None], jnp.array([0.1]), 16)
    assert K.shape == (1, 16) and bool(jnp.isfinite(K).all())


def _multigrid():
    import jaxsci.multigrid as mg

    sol = mg.solve(mg.poisson((15, 15)), jnp.ones((15, 15)))
    assert sol.result == jaxsci.RESULTS.successful


def _spectral():
    import jaxsci.spectral as sp

    f = jnp.sin(2 * jnp.pi * jnp.arange(16) / 16)
    sol = sp.solve_periodic(f)
    assert jnp.allclose(sol.value, f / (2 * jnp.pi) ** 2, atol=1e-5)


def _monotone():
    import jaxsci.monotone as mono

    game = mono.policeman_and_burglar(4)
    sol = mono.halpern(game, jnp.full(8, 0.25), step_size=0.1, max_epochs=5)
    assert sol.value.shape == (8,)


def _relax():
    import jaxsci.relax as relax

    A = jnp.asarray(relax.delsq(relax.numgrid("S", 6)))
    sol = relax.sor(A, jnp.ones(A.shape[0]), 1.5)
    assert sol.result == jaxsci.RESULTS.successful


def _data():
    import jaxsci.data as data

    fields = data.grf(jax.random.key(0), 2, 8, alpha=2.0, tau=3.0)
    assert fields.shape == (2, 8)


def _training():
    import jaxsci.training as training

    x = jnp.ones((1, 8))
    assert float(training.relative_l2(x, x)) == 0.0


def _operators():
    import jaxsci.operators as operators

    model = operators.FNO(1, 1, modes=(4, 4), width=4, key=jax.random.key(0))
    assert model(jnp.ones((1, 8, 8))).shape == (1, 8, 8)


def _nnx():
    from flax import nnx

    import jaxsci.nnx as jn

    model = jn.S4DLayer(2, 4, rngs=nnx.Rngs(0))
    assert nnx.jit(lambda m, u: m(u))(model, jnp.ones((8, 2))).shape == (8, 2)


CALLS = {
    f.__name__[1:]: f
    for f in (_ssm, _multigrid, _spectral, _monotone, _relax, _data, _training, _operators, _nnx)
}

# Subpackages that need an optional extra: with the core dependencies only (as here), importing them
# raises an ImportError that names the extra.
OPTIONAL = {"nnx": "flax"}


# What each optional extra promises (README "Requirements"): at least these distributions.
EXTRAS = {
    "bench": {"pyamg", "scipy", "matplotlib", "tqdm"},
    "notebooks": {"jupytext", "nbclient", "matplotlib"},
    "test": {"pytest", "hypothesis", "beartype", "jupytext", "flax", "chex"},
    "docs": {"mkdocs", "mkdocs-material", "mkdocstrings-python", "build", "flax"},
    "flax": {"flax"},
}


def check_extras() -> None:
    """The wheel's metadata declares every extra with what it promises (read, not installed)."""
    declared: dict[str, set[str]] = {}
    for req in importlib.metadata.requires("jaxsci") or []:
        name = req.split(";")[0].split("[")[0]
        for sep in "<>=!~ ":
            name = name.split(sep)[0]
        if "extra ==" in req:
            extra = req.split("extra ==")[1].strip().strip("'\"")
            declared.setdefault(extra, set()).add(name.lower())
    for extra, needs in EXTRAS.items():
        missing = needs - declared.get(extra, set())
        assert not missing, (
            f"extra [{extra}] lacks {sorted(missing)} (declares {sorted(declared.get(extra, []))})"
        )


def main(expected: list[str]) -> None:
    check_extras()
    where = pathlib.Path(jaxsci.__file__).resolve()
    assert "site-packages" in where.parts, (
        f"jaxsci imported from {where}, not from an installed wheel"
    )
    version = importlib.metadata.version("jaxsci")
    assert jaxsci.__version__ == version, (jaxsci.__version__, version)
    assert (where.parent / "py.typed").is_file(), "py.typed missing from the wheel"
    found = sorted(
        m.name
        for m in pkgutil.iter_modules(jaxsci.__path__)
        if m.ispkg and not m.name.startswith("_")
    )
    missing = sorted(set(expected) - set(found))
    assert not missing, f"subpackages missing from the wheel: {missing}"
    for name in found:
        try:
            module = importlib.import_module(f"jaxsci.{name}")
        except ImportError as err:
            extra = OPTIONAL.get(name)
            if extra is None or f"jaxsci[{extra}]" not in str(err):
                raise
            print(f"ok jaxsci.{name} needs the [{extra}] extra (ImportError names it)")
            continue
        absent = [n for n in getattr(module, "__all__", []) if not hasattr(module, n)]
        assert not absent, f"jaxsci.{name}.__all__ names missing attributes: {absent}"
        if name in CALLS:
            CALLS[name]()
        print(f"ok jaxsci.{name} ({len(getattr(module, '__all__', []))} public names)")
    print(f"jaxsci {version} from {where.parent}: {len(found)} subpackages ok")


if __name__ == "__main__":
    main(sys.argv[1:])
