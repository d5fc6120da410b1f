"""The mechanism shared by every NNX twin: Equinox leaves as ``nnx.Param`` and the converters.

An Equinox model is a pytree; its twin holds the same arrays as ``nnx.Param`` variables at the same
attribute paths (``model.blocks[0].layer.A_re``), plus the model's tree structure (its static fields: sizes,
methods, activations) as static metadata. Evaluating the twin rebuilds the Equinox model from the current
values of those variables (``jax.tree_util.tree_unflatten``: no copy, no ``__init__``, free under ``jit``)
and calls its method, so each twin runs exactly the core functions (and the input checks) of its Equinox
twin and the two can never drift apart.
"""

from __future__ import annotations

from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from flax import nnx

__all__ = ["to_equinox", "to_nnx"]

_ATTR, _SEQ = "attr", "seq"


class _Node(nnx.Module):
    """A container mirroring one Equinox submodule (its array fields as attributes)."""


def _key_path(path) -> tuple[tuple[str, Any], ...]:
    out = []
    for k in path:
        if isinstance(k, jax.tree_util.GetAttrKey):
            out.append((_ATTR, k.name))
        elif isinstance(k, jax.tree_util.SequenceKey):
            out.append((_SEQ, k.idx))
        else:  # dicts or custom nodes: no jaxsci model has them; say so rather than guess a name
            raise TypeError(
                f"to_nnx: unsupported pytree node {k!r} in the Equinox model (only module fields and "
                "tuples/lists are mirrored)."
            )
    return tuple(out)


def _insert(tree, path, leaf):
    """Insert ``leaf`` in a plain nested dict (module fields) / list (sequences) at ``path``."""
    node = tree
    for i, (kind, k) in enumerate(path[:-1]):
        child_kind = path[i + 1][0]
        if kind == _ATTR:
            child = node.setdefault(k, {} if child_kind == _ATTR else [])
        else:
            node.extend([None] * (k + 1 - len(node)))
            if node[k] is None:
                node[k] = {} if child_kind == _ATTR else []
            child = node[k]
        node = child
    kind, k = path[-1]
    if kind == _ATTR:
        node[k] = leaf
    else:
        node.extend([None] * (k + 1 - len(node)))
        node[k] = leaf


def _to_nnx_container(value):
    if isinstance(value, dict):
        node = _Node()
        for name, child in value.items():
            setattr(node, name, _to_nnx_container(child))
        return node
    if isinstance(value, list):
        return nnx.List([_to_nnx_container(v) for v in value])
    return value  # an nnx.Variable (or None, a gap left by a field without arrays)


def _variable(x, where):
    x = jnp.asarray(x)
    if jnp.issubdtype(x.dtype, jnp.complexfloating):
        raise TypeError(
            f"to_nnx: the Equinox leaf {where} is complex; jaxsci stores complex parameters as separate "
            "real and imaginary arrays."
        )
    if jnp.issubdtype(x.dtype, jnp.floating):
        return nnx.Param(x)
    return nnx.Variable(x)  # integer/boolean arrays: state, not trained


def _has_dropout(model) -> bool:
    is_dropout = lambda m: isinstance(m, eqx.nn.Dropout)
    drops = [m for m in jax.tree.leaves(model, is_leaf=is_dropout) if is_dropout(m)]
    return any(not isinstance(d.p, (int, float)) or d.p > 0 for d in drops)


class _Twin(nnx.Module):
    """Base of the NNX twins: construction, conversion and evaluation through the Equinox model.

    Subclasses set ``_equinox_class``; their ``__call__``/``step``/``init_state`` call the Equinox
    model's method of that name on the rebuilt model.
    """

    _equinox_class: ClassVar[type]

    def __init__(self, *args, rngs: nnx.Rngs | None = None, **kwargs):
        cls = self._equinox_class
        if len(args) == 1 and not kwargs and isinstance(args[0], cls):
            model = args[0]  # conversion: the Equinox model's weights, unchanged
        elif len(args) == 1 and not kwargs and isinstance(args[0], eqx.Module):
            raise TypeError(
                f"{type(self).__name__} converts a {cls.__module__}.{cls.__qualname__}, got "
                f"{type(args[0]).__name__} (use jaxsci.nnx.to_nnx to pick the twin)."
            )
        else:
            if not isinstance(rngs, nnx.Rngs):
                raise TypeError(
                    f"`rngs` must be an nnx.Rngs (e.g. nnx.Rngs(0)) to initialise "
                    f"{type(self).__name__}, got {type(rngs).__name__}."
                )
            if "key" in kwargs:
                raise TypeError(
                    f"{type(self).__name__} takes `rngs` (an nnx.Rngs), not `key`: its parameters are "
                    "drawn from rngs.params()."
                )
            model = cls(*args, key=rngs.params(), **kwargs)
        self._adopt(model, rngs)

    def _adopt(self, model, rngs):
        leaves, treedef = jax.tree_util.tree_flatten_with_path(model)
        tree: dict = {}
        spec = []
        for path, leaf in leaves:
            kpath = _key_path(path)
            if eqx.is_array(leaf):
                _insert(tree, kpath, _variable(leaf, jax.tree_util.keystr(path)))
                spec.append((kpath, False, None))
            else:  # Python scalars in non-static fields (eqx.nn.Dropout's p, inference)
                spec.append((kpath, True, leaf))
        for name, value in tree.items():
            if hasattr(type(self), name) or name in ("rngs", "deterministic"):
                raise TypeError(  # a field name that would shadow a method of the twin
                    f"{type(self).__name__}: the Equinox field {name!r} clashes with an attribute of "
                    "the NNX twin."
                )
            setattr(self, name, _to_nnx_container(value))
        self._treedef = treedef
        self._leaf_spec = tuple(spec)
        if _has_dropout(model):
            self.deterministic = False  # nnx convention: model.eval() / model.train() switch it
            if rngs is None:
                rngs = nnx.Rngs(dropout=0)
            self.rngs = rngs.fork()

    def to_equinox(self) -> eqx.Module:
        """The Equinox twin holding this model's current parameter values (the same arrays: works
        inside ``nnx.jit``/``nnx.grad``; :func:`to_equinox` outside them)."""
        values = []
        for path, static, value in self._leaf_spec:
            if not static:
                node = self
                for kind, k in path:
                    node = getattr(node, k) if kind == _ATTR else node[k]
                value = node.get_value()
            values.append(value)
        return jax.tree_util.tree_unflatten(self._treedef, values)

    def _dropout_key(self, key):
        if key is None and getattr(self, "deterministic", True) is False:
            return self.rngs.dropout()
        return key

    def __call__(self, x, *, key=None):
        """The Equinox model's ``__call__(x, key=...)``. Dropout (models with a rate > 0): with
        ``key=None`` a key is drawn from the module's ``rngs`` unless the module is in evaluation mode
        (``model.eval()``, the ``deterministic`` attribute); an explicit ``key`` is used as given."""
        return self.to_equinox()(x, key=self._dropout_key(key))


class _Streaming(_Twin):
    """A twin whose Equinox model streams one token at a time (``init_state`` / ``step``)."""

    def init_state(self):
        """The Equinox model's ``init_state()``: the streaming state before the first token."""
        return self.to_equinox().init_state()

    def step(self, state, x):
        """The Equinox model's ``step(state, x)``: one token in, ``(y_t, state)`` out (dropout off)."""
        return self.to_equinox().step(state, x)


_TWINS: dict[type, type] = {}


def _register(twin: type) -> type:
    _TWINS[twin._equinox_class] = twin
    return twin


def to_nnx(model: eqx.Module, *, rngs: nnx.Rngs | None = None) -> nnx.Module:
    """The NNX twin of a jaxsci Equinox model, holding the same weights.

    ``model`` is one of the Equinox models that have a twin in :mod:`jaxsci.nnx` (``jaxsci.ssm.S4DLayer``,
    ``S5Layer``, ``SSMModel``, ``MambaBlock``, ``MambaModel``, ``CompanionSSM``, ``SpaceTime``,
    ``jaxsci.spectral.FNO``, ``jaxsci.multigrid.MgNO``, ``jaxsci.operators.LSM``); every array leaf
    becomes an ``nnx.Param`` at the same attribute path (``twin.blocks[0].layer.A_re``; real and imaginary
    parts stay separate arrays, as in the Equinox model), every static field stays static. ``rngs`` feeds
    dropout in training mode (default ``nnx.Rngs(dropout=0)``; models without dropout ignore it).
    ``to_equinox(to_nnx(m))`` equals ``m`` leaf for leaf (``eqx.tree_equal``). Cost: no copy of the
    arrays.
    """
    twin = _TWINS.get(type(model))
    if twin is None:
        names = ", ".join(sorted(f"{c.__module__.split('._')[0]}.{c.__name__}" for c in _TWINS))
        raise TypeError(f"`model` must be one of {names}; got {type(model).__name__}.")
    if rngs is not None and not isinstance(rngs, nnx.Rngs):
        raise TypeError(f"`rngs` must be an nnx.Rngs or None, got {type(rngs).__name__}.")
    return twin(model, rngs=rngs)


def to_equinox(model: nnx.Module) -> eqx.Module:
    """The Equinox model of an NNX twin (:func:`to_nnx`'s inverse), holding its current weights.

    The arrays are those of the twin's ``nnx.Param`` variables (no copy); train in one front end and
    evaluate or fine-tune in the other. ``to_nnx(to_equinox(t))`` has the same state as ``t``.
    """
    if not isinstance(model, _Twin):
        raise TypeError(
            f"`model` must be a jaxsci.nnx model (an NNX twin), got {type(model).__name__}."
        )
    return model.to_equinox()
