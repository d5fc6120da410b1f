"""The bad-input matrix covers every public name (issue 11).

Each ``tests/<sub>/test_bad_inputs_<sub>.py`` holds the registry of one subpackage; this file checks that
together they cover ``__all__`` of every subpackage and of ``jaxsci`` itself, and that every registered
name has a valid example call first. Run with ``-s`` to print the counts per category.
"""

import collections
import importlib
import importlib.util
import pathlib

import pytest

import jaxsci

SUBPACKAGES = (
    "ssm",
    "multigrid",
    "spectral",
    "monotone",
    "relax",
    "data",
    "training",
    "operators",
    # the Flax front end: only where its optional extra (flax) is installed
    *(("nnx",) if importlib.util.find_spec("flax") is not None else ()),
)
ROOT = pathlib.Path(__file__).parent


def _load(path: pathlib.Path):
    spec = importlib.util.spec_from_file_location(f"_bad_inputs_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _registries() -> dict[str, dict]:
    out = {}
    for path in sorted(ROOT.glob("*/test_bad_inputs_*.py")) + [ROOT / "test_bad_inputs_top.py"]:
        if path.exists():
            out[path.stem.removeprefix("test_bad_inputs_")] = _load(path).REGISTRY
    return out


@pytest.mark.parametrize("name", (*SUBPACKAGES, "top"))
def test_every_public_name_has_probes(name):
    registries = _registries()
    assert name in registries, f"no bad-input registry for {name!r}"
    registry = registries[name]
    module = jaxsci if name == "top" else importlib.import_module(f"jaxsci.{name}")
    public = (
        [n for n in module.__all__ if not n.startswith("_")]
        if name != "top"
        else ["RESULTS", "Solution"]
    )
    missing = sorted(set(public) - set(registry))
    assert not missing, f"public names of jaxsci.{name} without bad-input probes: {missing}"
    for entry, probes in registry.items():
        assert probes and probes[0].category == "valid", (
            f"{entry}: the first probe must be a valid call"
        )


def test_counts_per_category(capsys):
    counts = collections.Counter()
    expectations = collections.Counter()
    for registry in _registries().values():
        for probes in registry.values():
            for p in probes:
                counts[p.category] += 1
                expectations[p.expect] += 1
    with capsys.disabled():
        print("\nbad-input probes per category:", dict(sorted(counts.items())))
        print("bad-input probes per expectation:", dict(sorted(expectations.items())))
    assert sum(counts.values()) > 0
