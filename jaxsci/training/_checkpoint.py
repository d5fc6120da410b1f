"""Checkpoints in a plain format: ``eqx.tree_serialise_leaves`` + a JSON metadata file beside it."""

from __future__ import annotations

import json
import os
import pathlib
from typing import Any

import equinox as eqx
import jax

__all__ = ["load_checkpoint", "save_checkpoint"]


def _paths(path) -> tuple[pathlib.Path, pathlib.Path]:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a str or a pathlib.Path, got {type(path).__name__}.")
    path = pathlib.Path(path)
    return path, path.with_name(path.name + ".json")


def save_checkpoint(
    path: str | pathlib.Path, model: Any, *, metadata: dict[str, Any] | None = None
) -> pathlib.Path:
    """Write the array leaves of ``model`` (any pytree, e.g. ``(model, opt_state)``) to ``path`` with
    ``eqx.tree_serialise_leaves`` and ``metadata`` (JSON-serialisable) to ``path + ".json"``.
    Reload with :func:`load_checkpoint` and a template of the same structure. Returns ``path``."""
    path, meta_path = _paths(path)
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"`metadata` must be a dict or None, got {type(metadata).__name__}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    eqx.tree_serialise_leaves(path, model)
    meta = {
        "jax_version": jax.__version__,
        "format": "equinox.tree_serialise_leaves",
        **(metadata or {}),
    }
    meta_path.write_text(json.dumps(meta, indent=1, default=str))
    return path


def load_checkpoint(path: str | pathlib.Path, like: Any) -> tuple[Any, dict[str, Any]]:
    """Load a checkpoint written by :func:`save_checkpoint` into the structure of ``like`` (a freshly
    built model with the same configuration). Returns ``(model, metadata)``."""
    path, meta_path = _paths(path)
    if not path.exists():
        raise FileNotFoundError(f"`path` {str(path)!r} does not exist.")
    if path.is_dir():
        raise ValueError(f"`path` {str(path)!r} is a directory, not a checkpoint file.")
    try:
        model = eqx.tree_deserialise_leaves(path, like)
    except Exception as e:  # noqa: BLE001 - equinox/NumPy errors of a structure mismatch
        raise ValueError(
            f"`like` does not match the checkpoint {str(path)!r} (build it with the configuration "
            f"the checkpoint was saved with): {type(e).__name__}: {e}"
        ) from e
    metadata = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    return model, metadata
