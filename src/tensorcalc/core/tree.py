"""Pytrees: nested containers of arrays that transformations flatten and rebuild.

Containers are tuples, lists, dicts (flattened in sorted-key order, as JAX does), namedtuples and
``None`` (a container with no leaves); anything else is a leaf. Further container types can be
registered with :func:`register_pytree_node`. Flattening is iterative, so depth is not limited by
Python's recursion limit.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

_registry: dict[type, tuple[Callable[[Any], tuple[list[Any], Hashable]],
                            Callable[[Hashable, list[Any]], Any]]] = {}


def register_pytree_node(
    cls: type,
    flatten: Callable[[Any], tuple[list[Any], Hashable]],
    unflatten: Callable[[Hashable, list[Any]], Any],
) -> None:
    """Make instances of ``cls`` containers: ``flatten(x) -> (children, aux)``."""
    _registry[cls] = (flatten, unflatten)


def _flatten_dict(d: dict) -> tuple[list[Any], Hashable]:
    keys = sorted(d)
    return [d[k] for k in keys], tuple(keys)


register_pytree_node(tuple, lambda t: (list(t), None), lambda _, c: tuple(c))
register_pytree_node(list, lambda t: (list(t), None), lambda _, c: list(c))
register_pytree_node(dict, _flatten_dict, lambda keys, c: dict(zip(keys, c, strict=True)))
register_pytree_node(type(None), lambda t: ([], None), lambda _, c: None)


def _node_kind(x: Any) -> Any:
    t = type(x)
    if t in _registry:
        return t
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return "namedtuple"
    return None


@dataclass(frozen=True)
class TreeDef:
    """The structure of a pytree without its leaves. ``num_leaves`` counts the leaves."""

    kind: Any
    aux: Hashable
    children: tuple[TreeDef, ...]
    num_leaves: int

    def unflatten(self, leaves: Iterable[Any]) -> Any:
        return tree_unflatten(self, leaves)

    def __repr__(self) -> str:
        if self.kind is None:
            return "*"
        name = getattr(self.kind, "__name__", str(self.kind))
        return f"{name}({', '.join(map(repr, self.children))})"


_LEAF = TreeDef(None, None, (), 1)


#: The structure of a flat tuple or list of ``n`` leaves, by ``(type, n)``: every call of a
#: transformation flattens its arguments and outputs, mostly a few arrays in a tuple.
_flat_defs: dict[tuple[type, int], TreeDef] = {}


def _flat_def(kind: type, n: int) -> TreeDef:
    d = _flat_defs.get((kind, n))
    if d is None:
        d = TreeDef(kind, None, (_LEAF,) * n, n)
        if len(_flat_defs) < 256:
            _flat_defs[(kind, n)] = d
    return d


def tree_flatten(tree: Any, is_leaf: Callable[[Any], bool] | None = None
                 ) -> tuple[list[Any], TreeDef]:
    """Leaves in order and the tree structure; ``is_leaf(x)`` true makes ``x`` a leaf even
    when it is a container."""
    if is_leaf is None:
        # Fast paths, the same result as the walk below: one leaf, or a flat tuple or list
        # of leaves (the arguments of a call). A tuple subclass may be a namedtuple: walked.
        kind = type(tree)
        if kind is tuple or kind is list:
            if not any(type(c) in _registry or isinstance(c, tuple) for c in tree):
                return list(tree), _flat_def(kind, len(tree))
        elif kind not in _registry and not isinstance(tree, tuple):
            return [tree], _LEAF
    leaves: list[Any] = []
    # Iterative post-order: frames of (node, kind, aux, children, built child defs).
    stack: list[list[Any]] = []

    def open_node(x: Any) -> TreeDef | None:
        kind = None if is_leaf is not None and is_leaf(x) else _node_kind(x)
        if kind is None:
            leaves.append(x)
            return _LEAF
        if kind == "namedtuple":
            children, aux = list(x), type(x)
        else:
            children, aux = _registry[kind][0](x)
        stack.append([kind, aux, children, 0, []])
        return None

    root = open_node(tree)
    while stack:
        frame = stack[-1]
        kind, aux, children, i, built = frame
        if i < len(children):
            frame[3] = i + 1
            d = open_node(children[i])
            if d is not None:
                built.append(d)
            continue
        stack.pop()
        node = TreeDef(kind, aux, tuple(built), sum(c.num_leaves for c in built))
        if stack:
            stack[-1][4].append(node)
        else:
            root = node
    assert root is not None
    return leaves, root


def tree_unflatten(treedef: TreeDef, leaves: Iterable[Any]) -> Any:
    """Rebuild a pytree of structure ``treedef`` from ``leaves``."""
    kind = treedef.kind
    if kind is None or ((kind is tuple or kind is list)
                        and (treedef is _flat_defs.get((kind, treedef.num_leaves))
                             or all(c.kind is None for c in treedef.children))):
        # One leaf, or a flat tuple or list of leaves (see tree_flatten); a wrong count of
        # leaves takes the walk below, which reports it.
        if type(leaves) is not list:
            leaves = list(leaves)
        if len(leaves) == treedef.num_leaves:
            return leaves[0] if kind is None else kind(leaves)
    it = iter(leaves)
    result: list[Any] = []
    stack: list[list[Any]] = [[treedef, 0, []]]
    while stack:
        frame = stack[-1]
        d, i, built = frame
        if d.kind is None:
            stack.pop()
            value = next(it)
        elif i < len(d.children):
            frame[1] = i + 1
            stack.append([d.children[i], 0, []])
            continue
        else:
            stack.pop()
            if d.kind == "namedtuple":
                value = d.aux(*built)
            else:
                value = _registry[d.kind][1](d.aux, built)
        if stack:
            stack[-1][2].append(value)
        else:
            result.append(value)
    rest = list(it)
    if rest:
        raise ValueError(f"tree_unflatten: {len(rest)} leaves left over for structure {treedef}")
    return result[0]


def tree_map(f: Callable[..., Any], tree: Any, *rest: Any,
             is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """``f`` applied leaf by leaf; ``rest`` are trees of the same structure as ``tree`` (or
    with ``tree``'s leaves as prefixes, as in JAX: a leaf of ``tree`` takes the whole subtree
    of each other tree at that place)."""
    leaves, d = tree_flatten(tree, is_leaf)
    others = [_flatten_up_to(d, r) for r in rest]
    return tree_unflatten(d, [f(*xs) for xs in zip(leaves, *others, strict=True)])


def _flatten_up_to(d: TreeDef, other: Any) -> list[Any]:
    """``other``'s subtrees at the leaves of structure ``d``."""
    out: list[Any] = []
    stack: list[tuple[TreeDef, Any]] = [(d, other)]
    while stack:
        node, sub = stack.pop()
        if node.kind is None:
            out.append(sub)
            continue
        children, _ = tree_flatten(sub, lambda x, s=sub: x is not s)
        if len(children) != len(node.children):
            raise ValueError(f"tree_map: a tree has structure {tree_structure(sub)} where "
                             f"{node} was expected")
        stack.extend(reversed(list(zip(node.children, children, strict=True))))
    return out


def tree_leaves(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> list[Any]:
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> TreeDef:
    return tree_flatten(tree, is_leaf)[1]
