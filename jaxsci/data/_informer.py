"""Informer-protocol forecasting windows from a CSV file (ETTh1 and friends).

The file is read where it is (never downloaded, never copied): pass its path. A missing file raises
:class:`DataFileNotFoundError` (a ``FileNotFoundError`` and a ``ValueError``) whose message names ``path``,
so that notebooks and tests skip cleanly with that message.
"""

from __future__ import annotations

import csv
import pathlib
from typing import NamedTuple

import numpy as np

from .._checks import check_choice, check_positive_int

__all__ = ["DataFileNotFoundError", "InformerWindows", "informer_windows"]

#: ETTh (hourly) borders of the Informer protocol: 12 months train, 4 validation, 4 test (30-day months).
ETTH_BORDERS = (12 * 30 * 24, 16 * 30 * 24, 20 * 30 * 24)


class DataFileNotFoundError(FileNotFoundError, ValueError):
    """A data file that the caller pointed to is absent (skip with this message)."""


class InformerWindows(NamedTuple):
    """Windows of one split: ``x`` ``(n, lag)``, ``y`` ``(n, horizon)`` (standardised), and the training
    rows' ``mean``/``std`` that standardised them (``original = z * std + mean``)."""

    x: np.ndarray
    y: np.ndarray
    mean: float
    std: float


def _read_column(path: pathlib.Path, target: str) -> np.ndarray:
    with path.open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        if target not in header:
            raise ValueError(f"`target` {target!r} is not a column of {path} (columns {header}).")
        j = header.index(target)
        return np.array([float(row[j]) for row in reader], dtype=np.float64)


def informer_windows(
    path: str | pathlib.Path,
    *,
    lag: int = 336,
    horizon: int = 96,
    split: str = "train",
    target: str = "OT",
    borders: tuple[int, int, int] = ETTH_BORDERS,
    dtype=np.float32,
) -> InformerWindows:
    r"""Univariate forecasting windows of the Informer protocol (Zhou et al., AAAI 2021), as the SpaceTime,
    S4 and LTSF papers use them.

    Rows ``[0, b0)`` train, ``[b0 - lag, b1)`` validation, ``[b1 - lag, b2)`` test (``borders`` ``(b0, b1,
    b2)``; ETTh: 8640, 11520, 14400); the ``target`` column (``OT``) is standardised with the mean and the
    (population) standard deviation of the training rows; windows have stride 1:
    ``x_i = z[s + i : s + i + lag]``, ``y_i = z[s + i + lag : s + i + lag + horizon]`` for
    ``i = 0 .. n - 1``, ``n = rows - lag - horizon + 1``. MSE and MAE on this scale over every test window
    and horizon step are the protocol's metrics.

    **Returns** :class:`InformerWindows` ``(x (n, lag), y (n, horizon), mean, std)`` as NumPy arrays of
    ``dtype``. A missing ``path`` raises :class:`DataFileNotFoundError` naming it (skip on it).
    """
    lag = check_positive_int(lag, "lag")
    horizon = check_positive_int(horizon, "horizon")
    check_choice(split, "split", ("train", "val", "test"))
    if not isinstance(path, (str, pathlib.Path)):
        raise TypeError(f"`path` must be a str or pathlib.Path, got {type(path).__name__}.")
    path = pathlib.Path(path)
    if not path.is_file():
        raise DataFileNotFoundError(
            f"`path` {str(path)!r} does not exist: the data file is not available here (the ETTh1 data "
            "set lives at ../shared/data/ETTh1.csv relative to the repository); skipping."
        )
    if len(borders) != 3 or not all(isinstance(b, (int, np.integer)) for b in borders):
        raise TypeError(f"`borders` must be three ints (b0, b1, b2), got {borders!r}.")
    b0, b1, b2 = (int(b) for b in borders)
    if not 0 < b0 < b1 < b2:
        raise ValueError(f"`borders` must satisfy 0 < b0 < b1 < b2, got {borders!r}.")
    series = _read_column(path, target)
    if series.shape[0] < b2:
        raise ValueError(f"`borders` end at row {b2} but {path} has {series.shape[0]} rows.")
    train = series[:b0]
    mean, std = float(train.mean()), float(train.std())
    z = (series - mean) / std
    start, stop = {"train": (0, b0), "val": (b0 - lag, b1), "test": (b1 - lag, b2)}[split]
    if start < 0:
        raise ValueError(f"`lag` = {lag} reaches before the first row for split {split!r}.")
    rows = z[start:stop]
    n = rows.shape[0] - lag - horizon + 1
    if n < 1:
        raise ValueError(
            f"`lag` + `horizon` = {lag + horizon} exceed the {rows.shape[0]} rows of split {split!r}."
        )
    idx = np.arange(n)[:, None]
    x = rows[idx + np.arange(lag)[None, :]]
    y = rows[idx + lag + np.arange(horizon)[None, :]]
    return InformerWindows(x.astype(dtype), y.astype(dtype), mean, std)
