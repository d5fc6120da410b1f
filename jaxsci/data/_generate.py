"""Chunked generation with a progress bar, and an ``.npz`` cache keyed by the generator's arguments."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_positive_int
from .._progress import progress_meter

__all__ = ["cache_path", "generate"]


def _key_fingerprint(key) -> str:
    key = jnp.asarray(key) if not isinstance(key, jax.Array) else key
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        data = jax.random.key_data(key)
    else:
        data = key
    return np.asarray(data).astype(np.uint32).tobytes().hex()


def _as_typed_key(key):
    if not isinstance(key, jax.Array) or not jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jnp.asarray(key)
        if key.shape != (2,) or key.dtype != jnp.uint32:
            raise TypeError(
                f"`key` must be a PRNG key (jax.random.key(seed)), got dtype {key.dtype} shape {key.shape}."
            )
        key = jax.random.wrap_key_data(key)
    if key.shape != ():
        raise ValueError(f"`key` must be a single PRNG key, got a key array of shape {key.shape}.")
    return key


def cache_path(cache_dir, name: str, params: dict, key, num_samples: int) -> pathlib.Path:
    """The ``.npz`` file that caches data set ``name`` with these arguments (a hash of all of them).
    ``key`` is one PRNG key (typed or raw ``uint32`` data: the same file); ``params`` must be
    JSON-serialisable."""
    if not isinstance(cache_dir, (str, os.PathLike)):
        raise TypeError(
            f"`cache_dir` must be a str or a pathlib.Path, got {type(cache_dir).__name__}."
        )
    check_positive_int(num_samples, "num_samples")
    key = _as_typed_key(key)
    meta = {
        "generator": name,
        "num_samples": int(num_samples),
        "key": _key_fingerprint(key),
        "dtype": str(jnp.zeros(()).dtype),
        **params,
    }
    try:
        text = json.dumps(meta, sort_keys=True)
    except TypeError as e:
        raise TypeError(f"`params` must be JSON-serialisable: {e}") from None
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return (
        pathlib.Path(cache_dir)
        / f"{name}_{params.get('resolution', '')}_{num_samples}_{digest}.npz"
    )


def generate(
    name: str,
    params: dict,
    key,
    num_samples: int,
    chunk_fn: Callable,
    *,
    chunk_size: int,
    progress: bool,
    cache_dir,
) -> tuple[jax.Array, ...]:
    """Run ``chunk_fn(keys) -> tuple of arrays (leading axis = len(keys))`` over per-sample keys in
    chunks of ``chunk_size`` (the last chunk padded, so one compilation), with a progress bar
    (:func:`jaxsci._progress.progress_meter`: tqdm when installed, else none), and cache the
    concatenated result in ``cache_dir`` when given. Sample ``i`` uses ``jax.random.split(key, n)[i]``."""
    check_positive_int(chunk_size, "chunk_size")
    key = _as_typed_key(key)
    path = None
    if cache_dir is not None:
        path = cache_path(cache_dir, name, params, key, num_samples)
        if path.exists():
            with np.load(path) as data:
                n_out = int(data["num_outputs"])
                return tuple(jnp.asarray(data[f"out{i}"]) for i in range(n_out))
    keys = jax.random.split(key, num_samples)
    chunk_size = min(int(chunk_size), int(num_samples))
    num_chunks = -(-num_samples // chunk_size)
    outputs: list[list[np.ndarray]] = []
    with progress_meter(
        num_samples, desc=f"generating {name}", enabled=progress, unit="sample", leave=False
    ) as bar:
        for c in range(num_chunks):
            ks = keys[c * chunk_size : (c + 1) * chunk_size]
            valid = ks.shape[0]
            if valid < chunk_size:  # pad with repeats so the jitted chunk compiles once
                ks = jnp.concatenate([ks, jnp.broadcast_to(ks[-1:], (chunk_size - valid,))])
            # the generated data come to the host: they are concatenated (and cached) there
            out = tuple(np.asarray(o)[:valid] for o in chunk_fn(ks))
            if not outputs:
                outputs = [[] for _ in out]
            for lst, o in zip(outputs, out, strict=True):
                lst.append(o)
            bar.update(valid)
    result = tuple(np.concatenate(lst) for lst in outputs)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.stem + f".tmp{os.getpid()}.npz")
        meta = json.dumps({"generator": name, "num_samples": int(num_samples), **params})
        np.savez(
            tmp, num_outputs=len(result), meta=meta, **{f"out{i}": r for i, r in enumerate(result)}
        )
        os.replace(tmp, path)
    return tuple(jnp.asarray(r) for r in result)
