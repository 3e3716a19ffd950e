"""``tensorcalc.tree_util``: JAX's pytree utilities under their JAX names.

A pytree is a nest of tuples, lists, dicts, namedtuples, ``None`` and registered classes, with
anything else as a leaf. ``is_leaf`` stops the descent where it returns True. Classes join with
:func:`register_pytree_node` (flatten/unflatten functions) or :func:`register_dataclass`
(a dataclass whose ``data_fields`` are children and ``meta_fields`` are static); both keep the
same meaning as in ``jax.tree_util``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

from .core.tree import (
    TreeDef,
    register_pytree_node,
    tree_flatten,
    tree_leaves,
    tree_map,
    tree_structure,
    tree_unflatten,
)

PyTreeDef = TreeDef


def all_leaves(iterable: Any, is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """Whether every item of ``iterable`` is a leaf."""
    return all(tree_structure(x, is_leaf).kind is None for x in iterable)


def tree_reduce(function: Callable[[Any, Any], Any], tree: Any, *initializer: Any,
                is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """``functools.reduce(function, tree_leaves(tree), *initializer)``."""
    return functools.reduce(function, tree_leaves(tree, is_leaf), *initializer)


def tree_all(tree: Any, *, is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """``all(tree_leaves(tree))``."""
    return all(tree_leaves(tree, is_leaf))


def treedef_children(treedef: TreeDef) -> list[TreeDef]:
    """The structures of the root's children."""
    return list(treedef.children)


def register_dataclass(nodetype: Any = None, data_fields: Sequence[str] | None = None,
                       meta_fields: Sequence[str] | None = None,
                       drop_fields: Sequence[str] = ()) -> Any:
    """Register a dataclass as a pytree: ``data_fields`` are children (traced, differentiated),
    ``meta_fields`` are part of the structure. Without the lists, fields marked
    ``dataclasses.field(metadata={"static": True})`` are meta and the others data. Works as a
    decorator, with or without arguments."""
    if nodetype is None:
        return functools.partial(register_dataclass, data_fields=data_fields,
                                 meta_fields=meta_fields, drop_fields=drop_fields)
    if data_fields is None or meta_fields is None:
        if not dataclasses.is_dataclass(nodetype):
            raise TypeError(f"register_dataclass: {nodetype.__name__} is not a dataclass; "
                            "pass data_fields and meta_fields")
        fields = [f for f in dataclasses.fields(nodetype) if f.init and f.name not in
                  drop_fields]
        meta = [f.name for f in fields if f.metadata.get("static", False)]
        data = [f.name for f in fields if f.name not in meta]
        data_fields = data if data_fields is None else data_fields
        meta_fields = meta if meta_fields is None else meta_fields
    data_t, meta_t = tuple(data_fields), tuple(meta_fields)

    def flatten(x: Any) -> tuple[list[Any], Any]:
        return [getattr(x, n) for n in data_t], tuple(getattr(x, n) for n in meta_t)

    def unflatten(meta: Any, children: list[Any]) -> Any:
        kwargs = dict(zip(data_t, children, strict=True)) | dict(zip(meta_t, meta, strict=True))
        return nodetype(**kwargs)

    register_pytree_node(nodetype, flatten, unflatten)
    return nodetype


__all__ = ["PyTreeDef", "all_leaves", "register_dataclass", "register_pytree_node",
           "tree_all", "tree_flatten", "tree_leaves", "tree_map", "tree_reduce",
           "tree_structure", "tree_unflatten", "treedef_children"]
