"""Execute every notebook source in ``notebooks/`` at small size (``JAXSCI_NOTEBOOK_SIZE=small``)."""

import os
import pathlib
import sys

import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).parent.parent / "notebooks").glob("*.py"))


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path, monkeypatch):
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("JAXSCI_NOTEBOOK_SIZE", "small")
    monkeypatch.setenv("JAXSCI_FIGURE_DIR", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(path.parent.parent), *sys.path]))
    nb = jupytext.read(path)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    figures = list(tmp_path.glob("*.png")) + list(tmp_path.glob("*.pdf"))
    assert figures, f"{path.name} wrote no figure to JAXSCI_FIGURE_DIR"
