"""The documentation: the guides' examples run, the generated pages cover every public name, the version is one.

The guides' ```python blocks (every hand-written page under ``docs/``) run each in a fresh interpreter, as the
README's do in ``tests/test_readme.py``: they set ``jax_enable_x64`` and fake devices themselves and must not
see the test suite's configuration. The site itself is built with ``mkdocs build --strict`` by ``.ci/run``;
here the hooks that generate its pages are checked without MkDocs.
"""

import importlib
import importlib.metadata
import importlib.util
import os
import pathlib
import re
import subprocess
import sys
import tomllib

import pytest

ROOT = pathlib.Path(__file__).parent.parent
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS))
import _hooks as hooks  # noqa: E402

PAGES = sorted(p for p in DOCS.rglob("*.md") if not p.name.startswith("_"))
BLOCKS = [
    (page, block)
    for page in PAGES
    for block in re.findall(r"^```python\n(.*?)^```", page.read_text(), flags=re.M | re.S)
]


def test_guides_have_examples():
    guides = {p.stem for p, _ in BLOCKS if p.parent.name == "guides"}
    assert guides >= {"linear-solvers", "ssm", "operator-learning", "scaling"}


@pytest.mark.parametrize("page, code", BLOCKS, ids=[str(p.relative_to(DOCS)) for p, _ in BLOCKS])
def test_docs_example_runs(page, code, tmp_path):
    if "flax" in code and importlib.util.find_spec("flax") is None:
        pytest.skip("the Flax example needs the optional extra `flax` (pip install 'jaxsci[flax]')")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_", "XLA_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, (
        f"example in {page.relative_to(ROOT)} failed:\n{code}\n--- stderr ---\n{proc.stderr[-4000:]}"
    )


def test_public_api_is_every_subpackage_all():
    """The static reading of ``__all__`` equals the imported ``__all__``, for every subpackage on disk."""
    api = hooks.public_api()
    on_disk = {
        f"jaxsci.{p.parent.name}"
        for p in (ROOT / "jaxsci").glob("*/__init__.py")
        if not p.parent.name.startswith("_")
    }
    assert set(api) == on_disk | {"jaxsci"}
    assert list(api)[:2] == ["jaxsci", "jaxsci.ssm"]
    for module, names in api.items():
        if module == "jaxsci.nnx" and importlib.util.find_spec("flax") is None:
            continue  # the optional Flax front end (tests/nnx checks it imports without flax cleanly)
        mod = importlib.import_module(module)
        expected = list(
            getattr(mod, "__all__", ["RESULTS", "Solution"])
        )  # the top level: its imports
        assert names == expected, module
        for name in names:
            assert hasattr(mod, name), f"{module}.__all__ names {name!r}, which does not exist"


def test_reference_pages_list_every_name():
    for module, names in hooks.public_api().items():
        page = hooks.reference_page(module, names)
        entries = re.findall(r"^::: (\S+)$", page, flags=re.M)
        assert entries == [module] + [f"{module}.{n}" for n in names]


def test_static_all_forms(tmp_path):
    init = tmp_path / "__init__.py"
    init.write_text('__all__ = ["a", "b"]\n__all__ += ("c",)\n')
    assert hooks._static_all(init) == ["a", "b", "c"]
    init.write_text("__all__ = [name for name in dir()]\n")
    with pytest.raises(ValueError, match="__all__"):
        hooks._static_all(init)
    init.write_text("x = 1\n")
    assert hooks._static_all(init) is None


def test_missing_entries_detects_an_unrendered_name(tmp_path):
    api = {"jaxsci.demo": ["f", "G"]}
    page = tmp_path / "reference" / "demo" / "index.html"
    page.parent.mkdir(parents=True)
    page.write_text('<h2 id="jaxsci.demo.f">f</h2>')
    assert hooks.missing_entries(tmp_path, api) == ["jaxsci.demo.G"]
    page.write_text('<h2 id="jaxsci.demo.f">f</h2><h2 id="jaxsci.demo.G">G</h2>')
    assert hooks.missing_entries(tmp_path, api) == []


def test_sphinx_roles_resolve_to_rendered_names():
    api = hooks.public_api()
    targets = hooks._rendered_targets()
    assert hooks.resolve_role("grf", "jaxsci.data._burgers", targets, api) == "jaxsci.data.grf"
    assert hooks.resolve_role("jaxsci.Solution", "jaxsci.ssm", targets, api) == "jaxsci.Solution"
    assert (
        hooks.resolve_role("Solution", "jaxsci.multigrid._solve", targets, api) == "jaxsci.Solution"
    )
    assert (
        hooks.resolve_role("Multigrid.solve", "jaxsci.multigrid._solve", targets, api)
        == "jaxsci.multigrid.Multigrid"
    )
    assert hooks.resolve_role("jaxsci.multigrid", "jaxsci.data", targets, api) == "jaxsci.multigrid"
    assert hooks.resolve_role("_private_helper", "jaxsci.data", targets, api) is None


def test_notebook_pages_show_their_committed_figures():
    figures = sorted(p.name for p in hooks.FIGURES.glob("*.png"))
    pages = {}
    for nb in sorted(hooks.NOTEBOOKS.glob("*.py")):
        content, figs = hooks.notebook_page(nb, figures)
        assert content.lstrip("\n").startswith(("# ", "!!!")), nb.name
        assert all(f"(figures/{f})" in content for f in figs)
        pages[nb.stem] = figs
    shown = [f for figs in pages.values() for f in figs]
    assert len(shown) == len(
        set(shown)
    )  # each figure on the page of the one notebook that writes it
    multigrid = {f for f in figures if f.startswith("multigrid_")}
    assert multigrid and set(pages["multigrid"]) == multigrid
    assert (
        "operator_learning_cpu.png" in pages["operator_learning"]
    )  # an f-string name: f"..._{SIZE}.png"
    code = 'fig.savefig(FIG_DIR / f"operator_learning_{SIZE}.png", dpi=80)'
    assert hooks.figures_written(code, ["operator_learning_cpu.png", "ssm_kernels.png"]) == [
        "operator_learning_cpu.png"
    ]


def test_notebook_cells():
    src = "# %% [markdown]\n# # Title\n#\n# text\n\n# %%\nx = 1\n"
    assert hooks.notebook_cells(src) == [("markdown", "# Title\n\ntext"), ("code", "x = 1")]


def test_benchmark_tables(tmp_path):
    path = tmp_path / "cpu.json"
    path.write_text(
        '{"environment": {"device_kind": "cpu", "jax_version": "0.10"}, "size": "quick", '
        '"records": [{"benchmark": "ssm", "case": "kernel", "median_s": 0.5}]}'
    )
    text = hooks.benchmark_tables(path)
    assert "| device_kind | cpu |" in text and "### ssm" in text and "| kernel | 0.5 |" in text


def test_one_version():
    """pyproject's version = the installed metadata = ``jaxsci.__version__`` = CHANGELOG's newest release."""
    import jaxsci

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert jaxsci.__version__ == importlib.metadata.version("jaxsci") == version
    changelog = (ROOT / "CHANGELOG.md").read_text()
    releases = re.findall(r"^## \[([^\]]+)\]", changelog, flags=re.M)
    assert releases[0] == "Unreleased" and releases[1] == version


def test_docs_extra_and_project_urls():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    docs = " ".join(project["optional-dependencies"]["docs"])
    for req in ("mkdocs", "mkdocs-material", "mkdocstrings-python"):
        assert re.search(rf"(^| ){re.escape(req)}>=[\d.]+,<\d+", docs), req
    assert {"Documentation", "Changelog"} <= set(project["urls"])


def test_getting_started_has_the_readme_commands():
    """The docs' getting-started commands are the README Quickstart's two commands, verbatim."""
    command = re.compile(r"^pip install -e .*$", flags=re.M)
    readme = command.findall(
        (ROOT / "README.md").read_text().split("## Quickstart")[1].split("\n## ")[0]
    )
    assert len(readme) == 2
    assert command.findall((DOCS / "index.md").read_text())[:2] == readme
