"""The Informer-protocol window loader against the protocol (issue 14)."""

import pathlib

import numpy as np
import pytest

from jaxsci.data import DataFileNotFoundError, informer_windows

ETTH1 = pathlib.Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "ETTh1.csv"


def _write(tmp_path, values):
    path = tmp_path / "toy.csv"
    lines = ["date,A,OT"] + [f"t{i},{-v},{v}" for i, v in enumerate(values)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_synthetic_csv_splits_and_scaling(tmp_path):
    values = np.arange(30.0) ** 1.5
    path = _write(tmp_path, values)
    kw = dict(lag=4, horizon=2, borders=(12, 20, 28), dtype=np.float64)
    train = informer_windows(path, split="train", **kw)
    # StandardScaler: the population std of the training rows
    mu, sd = values[:12].mean(), values[:12].std()
    assert np.isclose(train.mean, mu) and np.isclose(train.std, sd)
    z = (values - mu) / sd
    assert train.x.shape == (12 - 4 - 2 + 1, 4) and train.y.shape == (7, 2)
    np.testing.assert_allclose(train.x[0], z[0:4])
    np.testing.assert_allclose(train.y[-1], z[10:12])
    val = informer_windows(path, split="val", **kw)  # rows [12 - lag, 20)
    assert val.x.shape[0] == 20 - 8 - 4 - 2 + 1
    np.testing.assert_allclose(val.x[0], z[8:12])
    np.testing.assert_allclose(val.y[0], z[12:14])
    test = informer_windows(path, split="test", **kw)  # rows [20 - lag, 28)
    np.testing.assert_allclose(test.y[-1], z[26:28])
    assert test.x.dtype == np.float64
    a = informer_windows(path, split="test", target="A", **kw)
    np.testing.assert_allclose(a.x, -test.x)  # the A column is -OT: scaled with its own statistics


def test_missing_file_message(tmp_path):
    with pytest.raises(DataFileNotFoundError, match="`path`.*does not exist"):
        informer_windows(tmp_path / "absent.csv")
    assert issubclass(DataFileNotFoundError, FileNotFoundError)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(lag=0), "`lag`"),
        (dict(horizon=-1), "`horizon`"),
        (dict(split="dev"), "`split`"),
        (dict(target="XX"), "`target`"),
        (dict(borders=(12, 10, 28)), "`borders`"),
        (dict(borders=(12, 20, 99)), "`borders`"),
        (dict(lag=8, horizon=8), "`lag`"),
    ],
)
def test_bad_arguments(tmp_path, kw, match):
    path = _write(tmp_path, np.arange(30.0))
    args = dict(lag=4, horizon=2, borders=(12, 20, 28))
    args.update(kw)
    with pytest.raises((ValueError, TypeError), match=match):
        informer_windows(path, **args)


def test_etth1_protocol():
    try:
        test = informer_windows(ETTH1, lag=336, horizon=96, split="test", dtype=np.float64)
    except DataFileNotFoundError as e:
        pytest.skip(str(e))
    raw = np.genfromtxt(ETTH1, delimiter=",", skip_header=1, usecols=7)
    assert raw.shape == (17420,)
    mu, sd = raw[:8640].mean(), raw[:8640].std()
    np.testing.assert_allclose([test.mean, test.std], [mu, sd])
    z = (raw - mu) / sd
    assert test.x.shape == (14400 - (11520 - 336) - 336 - 96 + 1, 336)  # 2785 windows
    np.testing.assert_allclose(test.x[0], z[11520 - 336 : 11520])
    np.testing.assert_allclose(test.y[0], z[11520 : 11520 + 96])
    np.testing.assert_allclose(test.y[-1], z[14400 - 96 : 14400])
    train = informer_windows(ETTH1, lag=336, horizon=720, split="train")
    assert train.x.shape == (8640 - 336 - 720 + 1, 336) and train.x.dtype == np.float32
    assert abs(z[:8640].mean()) < 1e-12
