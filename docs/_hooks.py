"""MkDocs hooks and a griffe extension that generate the jaxsci documentation's moving parts.

Nothing here needs editing when a subpackage, a public name, a notebook or a figure is added:

- ``on_files`` writes one API reference page per subpackage of ``jaxsci/`` whose ``__init__.py`` defines
  ``__all__`` (read statically with :mod:`ast`, so the build never imports JAX), listing every name of
  ``__all__``; one gallery page per jupytext notebook in ``notebooks/`` (its markdown cells, its code
  folded, the committed figures it writes from ``notebooks/figures``, not re-executed); and the benchmark
  page from any committed ``docs/benchmarks/*.json`` written by ``python -m benchmarks --out``.
- ``on_post_build`` fails the build when a public name has no rendered entry (an HTML anchor
  ``id="jaxsci.<sub>.<name>"``) on its reference page.
- :class:`SphinxRoles` (a griffe extension, loaded by mkdocstrings) turns the docstrings' Sphinx roles
  (``:func:`grf```, ``:class:`jaxsci.Solution```) into cross-references when the target is a rendered public
  name, and into plain code otherwise; a cross-reference to a missing anchor then fails ``--strict``.
"""

from __future__ import annotations

import ast
import html
import json
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "jaxsci"
NOTEBOOKS = ROOT / "notebooks"
FIGURES = NOTEBOOKS / "figures"
RESULTS = NOTEBOOKS / "results"
BENCHMARKS = ROOT / "docs" / "benchmarks"

# Pages whose order is fixed; any other subpackage found under jaxsci/ follows, alphabetically.
ORDER = (
    "jaxsci",
    "ssm",
    "multigrid",
    "spectral",
    "operators",
    "monotone",
    "relax",
    "data",
    "training",
    "nnx",
)


# --------------------------------------------------------------------------------------------------
# Public names, statically
# --------------------------------------------------------------------------------------------------


def _static_all(init: pathlib.Path) -> list[str] | None:
    """The names of ``__all__`` in ``init`` (list/tuple literals, ``+=`` and ``[*a, ...]`` of literals)."""
    tree = ast.parse(init.read_text(encoding="utf-8"))
    names: list[str] | None = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            names = _literal_names(node.value)
        elif (
            isinstance(node, ast.AugAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == "__all__"
        ):
            names = (names or []) + _literal_names(node.value)
    return names


def _literal_names(value: ast.expr) -> list[str]:
    if isinstance(value, (ast.List, ast.Tuple)):
        out = []
        for elt in value.elts:
            if isinstance(elt, ast.Constant) and isinstance(elt.value, str):
                out.append(elt.value)
            else:
                raise ValueError(f"__all__ entries must be string literals, got {ast.dump(elt)}")
        return out
    raise ValueError(f"__all__ must be a list or tuple literal, got {ast.dump(value)}")


def _top_level_public(init: pathlib.Path) -> list[str]:
    """The top level's public names: its ``__all__`` or, without one, its public imported names."""
    names = _static_all(init)
    if names is not None:
        return names
    tree = ast.parse(init.read_text(encoding="utf-8"))
    out = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            out += [
                a.asname or a.name for a in node.names if not (a.asname or a.name).startswith("_")
            ]
    return out


def public_api(package: pathlib.Path = PACKAGE) -> dict[str, list[str]]:
    """``{"jaxsci": [...], "jaxsci.ssm": [...], ...}``: every subpackage with an ``__all__``, in page order."""
    found = {"jaxsci": _top_level_public(package / "__init__.py")}
    for init in sorted(package.glob("*/__init__.py")):
        sub = init.parent.name
        if sub.startswith("_"):
            continue
        names = _static_all(init)
        if names is not None:
            found[f"jaxsci.{sub}"] = names
    rank = {name: i for i, name in enumerate(ORDER)}
    return dict(
        sorted(found.items(), key=lambda kv: (rank.get(kv[0].split(".")[-1], len(ORDER)), kv[0]))
    )


def reference_uri(module: str) -> str:
    return f"reference/{module.split('.')[-1]}.md"


def reference_page(module: str, names: list[str]) -> str:
    """The markdown of one API page: the module docstring, a table of contents, one entry per name."""
    lines = [
        f"::: {module}",
        "    options:",
        "      members: false",
        "      heading_level: 1",
        "",
        f"**Public names** ({len(names)}, from `{module}.__all__`): "
        + ", ".join(f"[`{n}`](#{module}.{n})" for n in names),
        "",
    ]
    for name in names:
        lines += [f"::: {module}.{name}", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Notebook gallery
# --------------------------------------------------------------------------------------------------

_CELL = re.compile(r"^# %%(.*)$", re.M)
_PNG = re.compile(r"""f?["']([^"'\n]*?\.png)["']""")


def notebook_cells(source: str) -> list[tuple[str, str]]:
    """A jupytext percent-format notebook as ``[("markdown" | "code", text), ...]``."""
    cells = []
    marks = list(_CELL.finditer(source))
    for i, mark in enumerate(marks):
        body = source[mark.end() : marks[i + 1].start() if i + 1 < len(marks) else len(source)]
        body = body.strip("\n")
        if "[markdown]" in mark.group(1):
            text = "\n".join(
                line[2:] if line.startswith("# ") else line.lstrip("#")
                for line in body.splitlines()
            )
            cells.append(("markdown", text))
        elif body.strip():
            cells.append(("code", body))
    if marks and source[: marks[0].start()].strip():
        cells.insert(0, ("code", source[: marks[0].start()].strip("\n")))
    return cells


def figures_written(code: str, figures: list[str]) -> list[str]:
    """The committed figures a code cell writes (``"name.png"`` literals, f-string fields as wildcards)."""
    out = []
    for literal in _PNG.findall(code):
        base = literal.rsplit("/", 1)[-1]
        pattern = re.compile(
            "".join(
                "[\\w.-]+" if p.startswith("{") else re.escape(p)
                for p in re.split(r"(\{[^}]*\})", base)
            )
            + "$"
        )
        out += [f for f in figures if pattern.match(f) and f not in out]
    return out


def notebook_page(path: pathlib.Path, figures: list[str]) -> tuple[str, list[str]]:
    """The markdown of one gallery page and the figures it shows."""
    cells = notebook_cells(path.read_text(encoding="utf-8"))
    shown: list[str] = []
    lines = [
        f'!!! note "Rendered from `notebooks/{path.name}` and its committed figures"',
        f"    Run it yourself: `cd notebooks && python {path.name}` (CPU size), "
        "`JAXSCI_NOTEBOOK_SIZE=small` for a quick pass, `paper` for the paper's sizes; figures go to "
        "`JAXSCI_FIGURE_DIR`. The figures below are the committed ones (not re-executed at build time).",
        "",
    ]
    if cells and cells[0][0] == "markdown" and cells[0][1].lstrip().startswith("# "):
        title, _, rest = cells[0][1].lstrip().partition("\n")
        lines = [title, ""] + lines  # the notebook's own title, then the note
        cells[0] = ("markdown", rest)
    else:
        lines = [f"# {path.stem}", ""] + lines
    for kind, text in cells:
        if kind == "markdown":
            lines += [text, ""]
            continue
        lines += ['??? example "code"', "    ```python"]
        lines += [("    " + line).rstrip() for line in text.splitlines()]
        lines += ["    ```", ""]
        for fig in figures_written(text, figures):
            if fig not in shown:
                shown.append(fig)
                lines += [f"![{fig}](figures/{fig})", ""]
    return "\n".join(lines), shown


# --------------------------------------------------------------------------------------------------
# Benchmark tables
# --------------------------------------------------------------------------------------------------


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if value is None:
        return ""
    if isinstance(value, dict):
        return ", ".join(f"{k}={_fmt(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_fmt(v) for v in value)
    return html.escape(str(value)).replace("|", "\\|").replace("\n", " ")


def benchmark_tables(path: pathlib.Path) -> str:
    """One markdown table per benchmark from a ``python -m benchmarks --out FILE.json`` record."""
    data = json.loads(path.read_text(encoding="utf-8"))
    env = data.get("environment", {})
    records = data.get("records", [])
    lines = [f"## `{path.name}`", ""]
    if data.get("note"):
        lines += [f'!!! note "How this was measured"\n    {data["note"]}', ""]
    if env:
        lines += ["| machine | |", "|---|---|"] + [
            f"| {_fmt(k)} | {_fmt(v)} |" for k, v in env.items()
        ]
        lines.append("")
    if "size" in data:
        lines += [f"Size: `{data['size']}`.", ""]
    by_bench: dict[str, list[dict]] = {}
    for rec in records:
        by_bench.setdefault(str(rec.get("benchmark", "")), []).append(rec)
    for bench, recs in by_bench.items():
        keys = []
        for rec in recs:
            keys += [k for k in rec if k != "benchmark" and k not in keys]
        keys = [k for k in keys if any(r.get(k) not in (None, {}, [], "") for r in recs)]
        lines += [f"### {bench}", "", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
        lines += ["| " + " | ".join(_fmt(r.get(k)) for k in keys) + " |" for r in recs]
        lines.append("")
    return "\n".join(lines)


def results_tables(results: pathlib.Path = RESULTS) -> str:
    """The notebooks' committed result tables (``notebooks/results/*.md``), headings moved two levels down."""
    parts = []
    for md in sorted(results.glob("*.md")) if results.is_dir() else []:
        text = re.sub(
            r"^(#+) ",
            lambda m: "#" * min(len(m.group(1)) + 2, 6) + " ",
            md.read_text(encoding="utf-8"),
            flags=re.M,
        )
        parts += [f"*From `notebooks/results/{md.name}`:*", "", text.strip(), ""]
    if not parts:
        return ""
    return "\n".join(["## Notebook result tables", ""] + parts)


BENCHMARK_INTRO = """# Benchmarks

`python -m benchmarks` (the Quickstart's main job) times every core against its peer in the same run (the
naive Vandermonde kernel, pyamg and SciPy, NumPy, a full-spectrum convolution) and records the machine it ran
on. To produce the tables:

```bash
pip install -e ".[bench]"
python -m benchmarks --size quick --plot figures --out figures/benchmarks.json   # ~3 min on 2 CPU cores
python -m benchmarks ssm multigrid --size full --out docs/benchmarks/gpu.json     # accelerator sizes
```

Each JSON holds the environment (device kind, platform, device count, jax version, x64) and one record per
case (median and min wall time over repeats, compile time, peak memory, the same-run ratio to the peer).
Commit a JSON under `docs/benchmarks/` and it appears on this page at the next build, with its machine.
"""


# --------------------------------------------------------------------------------------------------
# MkDocs events
# --------------------------------------------------------------------------------------------------


def on_files(files, config):
    from mkdocs.structure.files import File

    api = public_api()
    for module, names in api.items():
        files.append(
            File.generated(config, reference_uri(module), content=reference_page(module, names))
        )

    figures = sorted(p.name for p in FIGURES.glob("*.png")) if FIGURES.is_dir() else []
    shown: list[str] = []
    gallery = [
        "# Notebooks",
        "",
        "Each page renders a notebook of `notebooks/` with its committed figures.",
        "",
    ]
    for nb in sorted(NOTEBOOKS.glob("*.py")):
        content, figs = notebook_page(nb, figures)
        shown += figs
        files.append(File.generated(config, f"notebooks/{nb.stem}.md", content=content))
        title = next((line[2:] for line in content.splitlines() if line.startswith("# ")), nb.stem)
        gallery.append(f"- [{title}]({nb.stem}.md) (`notebooks/{nb.name}`, {len(figs)} figure(s))")
    other = [f for f in figures if f not in shown]
    if other:
        gallery += ["", "## Other committed figures", ""] + [
            f"![{f}](figures/{f})\n" for f in other
        ]
    files.append(File.generated(config, "notebooks/index.md", content="\n".join(gallery) + "\n"))
    for fig in figures:
        files.append(
            File.generated(config, f"notebooks/figures/{fig}", abs_src_path=str(FIGURES / fig))
        )

    bench = [BENCHMARK_INTRO]
    jsons = sorted(BENCHMARKS.glob("*.json")) if BENCHMARKS.is_dir() else []
    if not jsons:
        bench.append(
            "No benchmark JSON is committed yet: run the command above to produce the tables.\n"
        )
    bench += [benchmark_tables(p) for p in jsons]
    bench.append(results_tables())
    files.append(File.generated(config, "benchmarks.md", content="\n".join(bench)))
    return files


def on_config(config):
    """Fill the nav's "API reference" and "Notebooks" sections from what exists now."""
    api = public_api()
    reference = [{f"{m}": reference_uri(m)} for m in api]
    notebooks = [{"Gallery": "notebooks/index.md"}] + [
        {nb.stem: f"notebooks/{nb.stem}.md"} for nb in sorted(NOTEBOOKS.glob("*.py"))
    ]
    for entry in config["nav"] or []:
        if isinstance(entry, dict) and "API reference" in entry:
            entry["API reference"] = reference
        if isinstance(entry, dict) and "Notebooks" in entry:
            entry["Notebooks"] = notebooks
    return config


def missing_entries(site_dir: pathlib.Path, api: dict[str, list[str]]) -> list[str]:
    """Public names without a rendered entry (an anchor ``id="<module>.<name>"``) on their page."""
    missing = []
    for module, names in api.items():
        page = site_dir / reference_uri(module).replace(".md", "") / "index.html"
        if not page.is_file():
            page = site_dir / reference_uri(module).replace(".md", ".html")
        text = page.read_text(encoding="utf-8") if page.is_file() else ""
        missing += [f"{module}.{n}" for n in names if f'id="{module}.{n}"' not in text]
    return missing


def on_post_build(config):
    from mkdocs.exceptions import PluginError

    missing = missing_entries(pathlib.Path(config["site_dir"]), public_api())
    if missing:
        raise PluginError(f"public names without a rendered API entry: {missing}")


# --------------------------------------------------------------------------------------------------
# Griffe extension: Sphinx roles in docstrings -> cross-references
# --------------------------------------------------------------------------------------------------

_ROLE = re.compile(r":(?:py:)?(func|class|mod|meth|attr|data|obj|exc|math):`~?([^`]+)`")

try:
    import griffe as _griffe

    _Extension = _griffe.Extension
except ImportError:  # pragma: no cover - the hooks are importable without the docs extra
    _griffe = None
    _Extension = object


def _rendered_targets() -> dict[str, str]:
    """Every rendered identifier: ``jaxsci.<sub>.<name>`` and each module, keyed by every way to name it."""
    targets = {}
    for module, names in public_api().items():
        targets[module] = module
        for n in names:
            targets[f"{module}.{n}"] = f"{module}.{n}"
    return targets


def resolve_role(
    target: str, module: str, targets: dict[str, str], api: dict[str, list[str]]
) -> str | None:
    """The rendered identifier a role's target names, seen from ``module``; ``None`` when none is rendered."""
    target = target.strip().rstrip("()")
    if target in targets:
        return targets[target]
    sub = ".".join(module.split(".")[:2])  # jaxsci.<sub> of the docstring's module
    candidates = [f"{sub}.{target}", f"jaxsci.{target}"]
    head, _, _ = target.partition(".")
    for (
        pkg,
        names,
    ) in api.items():  # ``Class.method`` -> the class's entry (members render inside it)
        if head in names and pkg in (sub, "jaxsci"):
            candidates.append(f"{pkg}.{head}")
    for cand in candidates:
        if cand in targets:
            return targets[cand]
    return None


class SphinxRoles(_Extension):
    """Rewrite ``:role:`target``` in every docstring of the package as markdown (see the module docstring)."""

    def on_package(self, *, pkg, **kwargs):  # griffe >= 1
        self._rewrite(pkg)

    def on_package_loaded(self, *, pkg, **kwargs):  # older griffe
        self._rewrite(pkg)

    def _rewrite(self, pkg):
        api = public_api()
        targets = _rendered_targets()
        seen = set()

        def visit(obj):
            if id(obj) in seen or getattr(obj, "is_alias", False):
                return
            seen.add(id(obj))
            doc = obj.docstring
            if doc is not None and ":" in doc.value:
                module = obj.path if obj.is_module else obj.module.path

                def sub(m, module=module):
                    role, target = m.group(1), m.group(2)
                    if role == "math":
                        return f"${target}$"
                    shown = (
                        target.split(".")[-1]
                        if m.group(0).split("`")[1].startswith("~")
                        else target
                    )
                    ident = resolve_role(target, module, targets, api)
                    return f"[`{shown}`][{ident}]" if ident else f"`{shown}`"

                doc.value = _ROLE.sub(sub, doc.value)
            for member in obj.members.values():
                visit(member)

        visit(pkg)
