"""Training: losses, parameter counts, the one train step (keys, sharding, frozen normalisers),
overfitting FNO and MgNO, determinism, data parallelism through the user's sharding, checkpoints, run
records, normalisers and resolution transfer, optimizer schedule, bad inputs."""

import importlib.util
import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from jaxsci.data import grf
from jaxsci.multigrid import MgNO
from jaxsci.spectral import FNO
from jaxsci.training import (
    Normalized,
    Normalizer,
    evaluate,
    fit,
    load_checkpoint,
    make_optimizer,
    make_train_step,
    mse,
    num_real_parameters,
    relative_h1,
    relative_l2,
    resolution_transfer,
    save_checkpoint,
)

F32 = jnp.float32


@pytest.fixture(scope="module")
def pairs():
    """4 samples of a fixed linear operator on 16 x 16 GRFs (float32, like real training data)."""
    x = grf(jax.random.key(0), 4, (16, 16), alpha=2.0, tau=3.0, sigma=9.0).astype(F32)[:, None]
    y = 0.5 * x + 0.2 * jnp.roll(x, 1, axis=-1)
    return np.asarray(x), np.asarray(y)


def _mgno(key=1):
    return MgNO(
        1,
        1,
        width=8,
        num_layers=2,
        num_iterations=((1, 0), (1, 0)),
        grid_shape=(16, 16),
        dtype=F32,
        key=jax.random.key(key),
    )


def _leaves(m):
    return jax.tree.leaves(eqx.filter(m, eqx.is_array))


def test_losses_against_references():
    rng = np.random.default_rng(0)
    p, t = rng.standard_normal((2, 1, 8, 8))
    np.testing.assert_allclose(
        relative_l2(p, t), np.linalg.norm(p - t) / np.linalg.norm(t), rtol=1e-12
    )
    n, eps = 64, 1e-2
    x = np.arange(n) / n
    target = np.cos(2 * np.pi * x)[None]
    pred = target + eps * np.sin(2 * np.pi * x)[None]
    # |e|^2 + |e'|^2 = eps^2 (1 + 4 pi^2) N/2 and the same for the target without eps: ratio eps
    np.testing.assert_allclose(relative_h1(pred, target, method="spectral"), eps, rtol=1e-10)
    np.testing.assert_allclose(relative_h1(pred, target, method="fd"), eps, rtol=3e-2)
    with pytest.raises(ValueError, match="method"):
        relative_h1(pred, target, method="sobolev")
    with pytest.raises((ValueError, TypeError), match="pred|target"):
        relative_l2(pred, target[:, :4])


def test_num_real_parameters_counts_complex_twice_and_skips_normalizers(pairs):
    tree = {"w": jnp.ones((3, 2), jnp.complex64), "b": jnp.ones(4), "n": jnp.arange(3)}
    assert num_real_parameters(tree) == 16
    model = _mgno()
    from jaxsci.multigrid._mgno import mgno_num_parameters

    expected = mgno_num_parameters(1, 1, width=8, num_layers=2, num_iterations=((1, 0), (1, 0)))
    assert num_real_parameters(model) == expected
    x, y = pairs
    wrapped = Normalized(model, Normalizer.from_data(x, pointwise=True), Normalizer.from_data(y))
    assert num_real_parameters(wrapped) == expected
    # eval_shape outputs are counted without allocating
    assert num_real_parameters(jax.eval_shape(lambda: model)) == expected


@pytest.mark.parametrize("name", ["mgno", "fno"])
def test_tiny_models_overfit_a_handful_of_samples(pairs, name):
    if name == "mgno":
        model = _mgno()
    else:
        model = FNO(
            1,
            1,
            modes=(6, 6),
            width=8,
            depth=2,
            projection_width=16,
            dtype=F32,
            key=jax.random.key(1),
        )
    epochs = 300
    opt = optax.adam(optax.cosine_decay_schedule(1e-2, epochs))
    _, record = fit(
        model,
        opt,
        pairs,
        epochs=epochs,
        batch_size=4,
        key=jax.random.key(2),
        progress=False,
    )
    first, last = record["history"][0]["train_loss"], record["history"][-1]["train_loss"]
    assert last < first / 100, (first, last)


def _batch_sharding():
    # the caller (here the test) builds the mesh; library code only follows the sharding it is given
    mesh = jax.make_mesh(
        (jax.device_count(),), ("batch",), axis_types=(jax.sharding.AxisType.Auto,)
    )
    return NamedSharding(mesh, P("batch"))


def test_training_is_deterministic_and_data_parallel_matches(pairs):
    assert jax.local_device_count() == 8
    x = np.concatenate([pairs[0]] * 2)  # 8 samples: one per fake device
    y = np.concatenate([pairs[1]] * 2)
    opt = make_optimizer(1e-3, steps_per_epoch=1, epochs=2)
    kw = dict(epochs=2, batch_size=8, progress=False)
    m1, r1 = fit(_mgno(), opt, (x, y), key=jax.random.key(3), **kw)
    m2, r2 = fit(_mgno(), opt, (x, y), key=jax.random.key(3), **kw)
    for a, b in zip(_leaves(m1), _leaves(m2), strict=True):
        np.testing.assert_array_equal(a, b)
    assert [h["train_loss"] for h in r1["history"]] == [h["train_loss"] for h in r2["history"]]
    sharding = _batch_sharding()
    m3, r3 = fit(_mgno(), opt, (x, y), key=jax.random.key(3), sharding=sharding, **kw)
    assert r3["config"]["num_devices"] == 8 and r1["config"]["num_devices"] == 1
    for a, b in zip(_leaves(m1), _leaves(m3), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(r3["final_train_loss"], r1["final_train_loss"], rtol=1e-5)
    # JAX training data stays on the device (no host copy): the same run
    m4, _ = fit(_mgno(), opt, (jnp.asarray(x), jnp.asarray(y)), key=jax.random.key(3), **kw)
    for a, b in zip(_leaves(m1), _leaves(m4), strict=True):
        np.testing.assert_array_equal(a, b)


class _Dropout(eqx.Module):
    """A model whose output depends on its key (dropout on a linear map), to see keys arrive."""

    w: jax.Array

    def __call__(self, x, *, key=None):
        if key is not None:
            x = x * jax.random.bernoulli(key, 0.5, x.shape) * 2.0
        return self.w * x


def test_train_step_contract_keys_sharding_and_frozen_normalizers(pairs):
    x, y = (jnp.asarray(a) for a in pairs)
    opt = optax.adamw(1e-2, weight_decay=0.5)  # decay would move the normaliser without the mask
    model = Normalized(_mgno(), Normalizer.from_data(x), Normalizer.from_data(y))
    step = make_train_step(lambda p, t: jnp.mean((p - t) ** 2), opt)
    state = opt.init(eqx.filter(model, eqx.is_inexact_array))
    new, state, loss = step(model, state, x, y, jax.random.key(0))
    assert loss.shape == () and bool(jnp.isfinite(loss))
    np.testing.assert_array_equal(new.x_normalizer.mean, model.x_normalizer.mean)
    np.testing.assert_array_equal(new.y_normalizer.std, model.y_normalizer.std)
    assert not np.array_equal(new.model.projection, model.model.projection)
    # the loss is the batch mean of the per-sample loss of model(x_i, key=k_i)
    drop = _Dropout(jnp.ones(()))
    sgd = optax.sgd(0.0)
    step = make_train_step(lambda p, t: jnp.sum(p), sgd)
    ones = jnp.ones((4, 1, 256))
    _, _, l1 = step(drop, sgd.init(drop), ones, ones, jax.random.key(1))
    _, _, l2 = step(drop, sgd.init(drop), ones, ones, jax.random.key(2))
    keys = jax.random.split(jax.random.key(1), 4)
    expected = jnp.mean(jnp.stack([jnp.sum(drop(ones[i], key=keys[i])) for i in range(4)]))
    np.testing.assert_allclose(l1, expected, rtol=1e-12)
    assert float(l1) != float(l2)  # the keys reach the model: dropout is on
    # batch-sharded inputs: the step follows them (data parallel) and matches the unsharded step
    x8, y8 = jnp.concatenate([x, x]), jnp.concatenate([y, y])
    step = make_train_step(lambda p, t: jnp.mean((p - t) ** 2), opt)
    state = opt.init(eqx.filter(model, eqx.is_inexact_array))
    ref, _, ref_loss = step(model, state, x8, y8, jax.random.key(0))
    sharding = _batch_sharding()
    xs, ys = jax.device_put(x8, sharding), jax.device_put(y8, sharding)
    got, _, got_loss = step(model, state, xs, ys, jax.random.key(0))
    np.testing.assert_allclose(got_loss, ref_loss, rtol=1e-5)
    np.testing.assert_allclose(got.model.projection, ref.model.projection, rtol=1e-4, atol=1e-6)


def test_fit_passes_keys_so_dropout_trains():
    x = jnp.ones((4, 1, 8))
    _, r = fit(
        _Dropout(jnp.ones(())),
        optax.sgd(0.0),
        (x, x),
        epochs=3,
        batch_size=2,
        key=jax.random.key(0),
        loss=lambda p, t: jnp.sum(p),
        progress=False,
    )
    losses = [h["train_loss"] for h in r["history"]]
    assert len(set(losses)) > 1  # with the weight frozen, only dropout varies the loss


def test_record_checkpoint_and_evaluation(pairs, tmp_path):
    x, y = pairs
    model = Normalized(_mgno(), Normalizer.from_data(x), None)
    opt = make_optimizer(1e-3, steps_per_epoch=2, epochs=2, schedule="cosine")
    trained, record = fit(
        model,
        opt,
        (x, y),
        epochs=2,
        batch_size=2,
        key=jax.random.key(4),
        test_data=(x, y),
        eval_every=1,
        progress=False,
        record_path=tmp_path / "run.json",
        checkpoint_path=tmp_path / "model.eqx",
        config={"model": "mgno"},
    )
    saved = json.loads((tmp_path / "run.json").read_text())
    for field in ("config", "history", "test", "num_real_parameters", "train_time_s", "device"):
        assert field in saved
    assert saved["config"]["model"] == "mgno" and len(saved["history"]) == 2
    assert "test" in saved["history"][0] and saved["device"]["jax_version"] == jax.__version__
    # the normaliser's statistics are data, not parameters: unchanged by training
    np.testing.assert_array_equal(trained.x_normalizer.mean, model.x_normalizer.mean)
    loaded, meta = load_checkpoint(tmp_path / "model.eqx", model)
    for a, b in zip(_leaves(trained), _leaves(loaded), strict=False):
        np.testing.assert_array_equal(a, b)
    assert meta["record"]["num_real_parameters"] == record["num_real_parameters"]
    save_checkpoint(tmp_path / "again.eqx", loaded, metadata={"note": "x"})
    assert json.loads((tmp_path / "again.eqx.json").read_text())["note"] == "x"
    metrics = evaluate(loaded, (x, y), batch_size=3)  # last batch padded
    np.testing.assert_allclose(metrics["relative_l2"], record["test"]["relative_l2"], rtol=1e-6)
    identity = evaluate(lambda v, key=None: v, (y, y))
    assert identity["relative_l2"] == 0.0 and identity["num_samples"] == 4


def test_resolution_transfer_evaluates_every_grid(pairs):
    coarse = pairs
    fine_x = grf(jax.random.key(0), 2, (32, 32), alpha=2.0, tau=3.0, sigma=9.0).astype(F32)[:, None]
    fine = (np.asarray(fine_x), np.asarray(0.5 * fine_x + 0.2 * jnp.roll(fine_x, 1, axis=-1)))
    model = FNO(
        1, 1, modes=(4, 4), width=4, depth=1, projection_width=8, dtype=F32, key=jax.random.key(0)
    )
    out = resolution_transfer(model, {16: coarse, 32: fine})
    assert set(out) == {16, 32} and all(np.isfinite(v["relative_l2"]) for v in out.values())
    with pytest.raises(TypeError, match="datasets"):
        resolution_transfer(model, [])


def test_normalizer_works_at_another_resolution():
    """The README setup (Normalized FNO, default normalisers) trained on 32^2, evaluated at 64^2."""

    def pairs_at(n, key):
        x = grf(jax.random.key(key), 6, (n, n), alpha=2.0, tau=3.0, sigma=9.0)[:, None] + 2.0
        return x, 0.5 * x**2

    x32, y32 = pairs_at(32, 0)
    x64, y64 = pairs_at(64, 1)
    fno = FNO(1, 1, modes=(4, 4), width=4, depth=1, projection_width=8, key=jax.random.key(0))
    model = Normalized(fno, Normalizer.from_data(x32), Normalizer.from_data(y32))
    model, record = fit(
        model,
        optax.adam(1e-2),
        (x32, y32),
        epochs=40,
        batch_size=3,
        key=jax.random.key(1),
        progress=False,
    )
    out = resolution_transfer(model, {32: (x32, y32), 64: (x64, y64)})
    # about 0.05 at 32^2 and 0.27 at 64^2 (finer GRFs carry modes the 32^2 data never showed)
    assert out[32]["relative_l2"] < 0.2 and out[64]["relative_l2"] < 0.5
    # per-channel statistics (the default) do not depend on the grid
    assert model.x_normalizer.mean.shape == (1, 1, 1) and not model.x_normalizer.pointwise
    # pointwise statistics are resampled to the input's grid (node layout): at the nested grid's
    # shared nodes (63 = 2 * 32 - 1) they are the stored ones, and encode/decode round-trip
    pw = Normalizer.from_data(x32, pointwise=True)
    assert pw.pointwise and pw.mean.shape == (1, 32, 32)
    fine = x64[0, :, :63, :63]
    enc = pw.encode(fine)
    assert enc.shape == (1, 63, 63)
    np.testing.assert_allclose(
        enc[:, ::2, ::2], (fine[:, ::2, ::2] - pw.mean) / (pw.std + pw.eps), rtol=1e-10
    )
    np.testing.assert_allclose(pw.decode(enc), fine, rtol=1e-10, atol=1e-10)
    periodic = Normalizer.from_data(x32, pointwise=True, layout="periodic")
    assert periodic.encode(x64[0]).shape == (1, 64, 64)
    with pytest.raises(ValueError, match="layout"):
        Normalizer.from_data(x32, layout="cells")
    with pytest.raises(ValueError, match="`x`"):
        pw.encode(fine[0])


def test_step_schedule_halves_the_learning_rate():
    opt = make_optimizer(
        1.0, steps_per_epoch=1, epochs=4, step_epochs=2, gamma=0.5, weight_decay=0.0
    )
    params = jnp.zeros(())
    state = opt.init(params)
    sizes = []
    for _ in range(4):
        upd, state = opt.update(jnp.ones(()), state, params)
        sizes.append(float(-upd))
    np.testing.assert_allclose(sizes, [1.0, 1.0, 0.5, 0.5], rtol=1e-6)


def test_bad_inputs_name_the_argument(pairs):
    opt = optax.adam(1e-3)
    with pytest.raises(ValueError, match="batch_size"):
        fit(_mgno(), opt, pairs, epochs=1, batch_size=5, key=jax.random.key(0))
    with pytest.raises(ValueError, match="loss"):
        fit(_mgno(), opt, pairs, epochs=1, batch_size=2, key=jax.random.key(0), loss="l1")
    with pytest.raises(TypeError, match="train_data"):
        fit(_mgno(), opt, pairs[0], epochs=1, batch_size=2, key=jax.random.key(0))
    with pytest.raises(ValueError, match="batch_size"):
        fit(
            _mgno(),
            opt,
            pairs,
            epochs=1,
            batch_size=3,
            key=jax.random.key(0),
            sharding=_batch_sharding(),
        )
    with pytest.raises(TypeError, match="sharding"):
        fit(_mgno(), opt, pairs, epochs=1, batch_size=2, key=jax.random.key(0), sharding="batch")
    with pytest.raises(ValueError, match="schedule"):
        make_optimizer(steps_per_epoch=1, epochs=1, schedule="linear")


def test_checkpoint_every_and_resume_reproduce_the_uninterrupted_run(pairs, tmp_path, capsys):
    x, y = pairs
    opt = make_optimizer(1e-3, steps_per_epoch=2, epochs=4, step_epochs=1)
    kw = dict(batch_size=2, key=jax.random.key(5))
    full, r_full = fit(_mgno(), opt, (x, y), epochs=4, progress=False, **kw)
    path = tmp_path / "run.eqx"
    fit(
        _mgno(),
        opt,
        (x, y),
        epochs=2,
        checkpoint_path=path,
        checkpoint_every=1,
        progress=False,
        **kw,
    )
    assert (tmp_path / "run.eqx.state").exists()
    resumed, r_res = fit(
        _mgno(),
        opt,
        (x, y),
        epochs=4,
        checkpoint_path=path,
        checkpoint_every=1,
        resume=True,
        progress=True,
        **kw,
    )
    for a, b in zip(_leaves(full), _leaves(resumed), strict=False):
        np.testing.assert_array_equal(a, b)
    assert [h["train_loss"] for h in r_res["history"]] == [
        h["train_loss"] for h in r_full["history"]
    ]
    err = capsys.readouterr().err
    if importlib.util.find_spec("tqdm") is not None:  # tqdm is optional: without it, no bar
        assert "training" in err and "loss=" in err  # the progress bar shows the running loss
    with pytest.raises(ValueError, match="checkpoint_path"):
        fit(_mgno(), opt, (x, y), epochs=1, resume=True, **kw)


def test_normalized_ensembles_under_filter_vmap_and_jit(pairs):
    x, y = pairs
    xn, yn = Normalizer.from_data(x), Normalizer.from_data(y)

    def make(k):
        fno = FNO(1, 1, modes=(3, 3), width=4, depth=1, projection_width=4, dtype=F32, key=k)
        return Normalized(fno, xn, yn)

    keys = jax.random.split(jax.random.key(7), 3)
    ensemble = eqx.filter_vmap(make)(keys)
    outs = eqx.filter_vmap(lambda m: m(x[0]))(ensemble)
    assert outs.shape == (3, 1, 16, 16) and not np.allclose(outs[0], outs[1])
    for i in range(3):
        np.testing.assert_allclose(outs[i], make(keys[i])(x[0]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(eqx.filter_jit(make)(keys[0])(x[0]), outs[0], rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError, match="x_normalizer"):
        Normalized(make(keys[0]).model, x_normalizer="standard")


def test_fit_turns_ssm_model_dropout_on():
    from jaxsci.ssm import SSMModel

    x = jax.random.normal(jax.random.key(1), (4, 16, 1))
    y = jnp.zeros((4, 1))

    def losses(dropout):
        model = SSMModel(
            1, 1, d_model=8, n_layers=1, state_size=4, dropout=dropout, key=jax.random.key(0)
        )
        _, r = fit(
            model,
            optax.sgd(0.0),  # frozen weights: only dropout can change the loss
            (x, y),
            epochs=3,
            batch_size=2,
            key=jax.random.key(2),
            loss=mse,
            progress=False,
        )
        return [h["train_loss"] for h in r["history"]]

    assert len(set(losses(0.5))) == 3
    np.testing.assert_allclose(losses(0.0), losses(0.0)[0], rtol=1e-6)
