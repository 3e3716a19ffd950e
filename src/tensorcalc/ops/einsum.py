"""``einsum``: Einstein summation as one multilinear primitive.

``y[out] = Σ_{summed labels} x₁[s₁] · x₂[s₂] ⋯ xₙ[sₙ]`` is linear in each operand, so

- jvp: ``ẏ = Σₖ einsum(s₁, …, sₖ, …, sₙ → out)(x₁, …, ẋₖ, …, xₙ)`` (product rule);
- transpose in operand ``k``: ``x̄ₖ = einsum(out, s₁, …, ŝₖ, …, sₙ → sₖ)(ȳ, x₁, …, xₙ)`` — the
  cotangent takes the place of the operand and the operand's subscripts become the output
  (the trace trick of docs/lessons/differentials.md: ``⟨ȳ, J ẋₖ⟩`` is one full contraction, read off
  for ``xₖ``). A label of ``sₖ`` that appears nowhere else was summed out, so its cotangent is
  broadcast back.

Why one ``einsum`` primitive rather than pairwise ``dot_general`` steps: the transpose of an
``n``-operand contraction is again an ``n``-operand contraction, and it gets its *own*
contraction order from opt_einsum. A pairwise decomposition would fix the reverse pass to the
mirror image of the forward order, which is often not the cheap one (for ``ab,bc,cd->ad`` the
forward path contracts from one end; the cotangent of the middle operand wants both ends).
Programs also stay short and readable: one ``einsum`` equation per user call, with its
contraction path as a parameter so the plan is visible and compiled code can reuse it.

The primitive's subscripts are canonical: explicit output, no ``...``, no label repeated within
an operand, one size per label. The public :func:`einsum` reduces NumPy's full syntax to that:
``...`` becomes fresh labels (right-aligned, broadcasting as NumPy does), a repeated label in an
operand (``ii->i``, ``ii``) becomes a ``diagonal`` first, and an axis of size 1 that broadcasts
against a longer one is squeezed away (its cotangent is then summed by the reshape's transpose).

Evaluation follows the path pairwise: labels of an operand needed nowhere else are summed first,
then each pair is laid out as ``(batch, free, contracted)`` and multiplied with ``matmul``
(BLAS, batched over labels shared by both operands and still needed). Paths come from
``opt_einsum.contract_path``: ``'auto'`` in general, ``'dp'`` when a label appears in three or
more tensors (counting the output), because ``'optimal'``, which ``'auto'`` uses for up to four
operands, can return a wrong-cost path then (dgasmith/opt_einsum#167).
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.backend import defxp
from ..core.errors import ShapeError
from ..core.primitive import Primitive, bind, get_aval
from ..core.shapes import ShapedArray, is_concrete, is_inexact_dtype, shape_str
from ..core.zeros import Zero
from ..interpreters.batch import defbatch
from ..interpreters.batch import moveaxis as _bmove
from ..interpreters.forward import add_tangents, defjvp_rule, fit_tangent
from ..interpreters.sparsity import DENSE, Pairs, SparsityQuery, defsparsity
from ..interpreters.transpose import deftranspose, is_undefined
from ._base import needs_bind
from .indexing import diagonal
from .structural import broadcast_to, convert, reduce_sum, reshape, transpose

LETTERS = string.ascii_letters


def _aval(x: Any) -> ShapedArray:
    return x.aval if is_undefined(x) else get_aval(x)


def _split_spec(subscripts: str) -> tuple[list[str], str]:
    lhs, out = subscripts.split("->")
    return lhs.split(","), out


# --- contraction paths ---------------------------------------------------------------------

_path_cache: dict[Any, tuple[tuple[int, ...], ...]] = {}


def contraction_path(subscripts: str, shapes: Sequence[Sequence[Any]]
                     ) -> tuple[tuple[int, ...], ...]:
    """The pairwise contraction order for canonical ``subscripts`` (opt_einsum, cached)."""
    ins, out = _split_spec(subscripts)
    if len(ins) <= 1:
        return ()
    if len(ins) == 2:
        return ((0, 1),)
    # Symbolic sizes have no numbers yet; plan as if each were a moderate size.
    shapes = tuple(tuple(d if isinstance(d, int) else 8 for d in s) for s in shapes)
    key = (subscripts, shapes)
    path = _path_cache.get(key)
    if path is None:
        import opt_einsum

        counts: dict[str, int] = {}
        for term in (*ins, out):
            for c in set(term):
                counts[c] = counts.get(c, 0) + 1
        # 'optimal' (used by 'auto' for <= 4 operands) can cache wrong costs when a label is
        # shared by 3+ tensors (dgasmith/opt_einsum#167); 'dp' is exact there.
        method = "dp" if any(n >= 3 for n in counts.values()) else "auto"
        raw, _ = opt_einsum.contract_path(subscripts, *shapes, shapes=True, optimize=method)
        path = tuple(tuple(int(i) for i in step) for step in raw)
        if len(_path_cache) > 4096:
            _path_cache.clear()
        _path_cache[key] = path
    return path


# --- evaluation ----------------------------------------------------------------------------


def _sum_unneeded(x: np.ndarray, labels: str, needed: set[str], xp: Any = np
                  ) -> tuple[np.ndarray, str]:
    drop = tuple(i for i, c in enumerate(labels) if c not in needed)
    if not drop:
        return x, labels
    return xp.sum(x, axis=drop), "".join(c for c in labels if c in needed)


def _contract_pair(a: np.ndarray, la: str, b: np.ndarray, lb: str, keep: set[str],
                   xp: Any = np) -> tuple[np.ndarray, str]:
    """``a[la] · b[lb]`` summed over shared labels not in ``keep``, as one batched matmul."""
    a, la = _sum_unneeded(a, la, keep | set(lb), xp)
    b, lb = _sum_unneeded(b, lb, keep | set(la), xp)
    batch = [c for c in la if c in lb and c in keep]
    contr = [c for c in la if c in lb and c not in keep]
    fa = [c for c in la if c not in lb]
    fb = [c for c in lb if c not in la]
    size = {**dict(zip(la, a.shape, strict=True)), **dict(zip(lb, b.shape, strict=True))}

    def prod(cs: list[str]) -> int:
        return int(np.prod([size[c] for c in cs], dtype=np.int64))

    perm = np.transpose if xp is np else xp.permute_dims  # NumPy < 2 has no permute_dims
    at = perm(a, tuple(la.index(c) for c in batch + fa + contr))
    bt = perm(b, tuple(lb.index(c) for c in batch + contr + fb))
    nb, nfa, nfb, nc = prod(batch), prod(fa), prod(fb), prod(contr)
    if nb == 1:
        r = xp.matmul(xp.reshape(at, (nfa, nc)), xp.reshape(bt, (nc, nfb)))
    else:
        r = xp.matmul(xp.reshape(at, (nb, nfa, nc)), xp.reshape(bt, (nb, nc, nfb)))
    labels = batch + fa + fb
    return xp.reshape(r, tuple(size[c] for c in labels)), "".join(labels)


def _einsum_impl(*operands: Any, subscripts: str, path: tuple[tuple[int, ...], ...],
                 xp: Any = np) -> Any:
    ins, out = _split_spec(subscripts)
    ops = [np.asarray(x) for x in operands] if xp is np else list(operands)
    labels = list(ins)
    for step in path:
        picked = sorted(step, reverse=True)
        group = [(ops.pop(i), labels.pop(i)) for i in picked]
        rest = set(out).union(*labels)
        x, lx = group[0]
        for k in range(1, len(group)):
            later = rest.union(*(lab for _, lab in group[k + 1:]))
            x, lx = _contract_pair(x, lx, group[k][0], group[k][1], later, xp)
        if len(group) == 1:
            x, lx = _sum_unneeded(x, lx, rest, xp)
        ops.append(x)
        labels.append(lx)
    while len(ops) > 1:  # a path that stops early: finish left to right
        b, lb = ops.pop(1), labels.pop(1)
        ops[0], labels[0] = _contract_pair(ops[0], labels[0], b, lb,
                                           set(out).union(*labels[1:]), xp)
    x, lx = _sum_unneeded(ops[0], labels[0], set(out), xp)
    res = (np.transpose if xp is np else xp.permute_dims)(x, tuple(lx.index(c) for c in out))
    if xp is not np:
        return res
    dtype = np.result_type(*operands) if operands else res.dtype
    return res.astype(dtype, copy=False)


def _einsum_xp(xp: Any, *operands: Any, subscripts: str, path: Any) -> Any:
    # The same pairwise contractions as on NumPy (transpose, reshape, batched matmul), in
    # standard functions: einsum itself is not in the standard.
    return _einsum_impl(*operands, subscripts=subscripts, path=path, xp=xp)


def _einsum_abstract(*xs: ShapedArray, subscripts: str, path: Any) -> ShapedArray:
    ins, out = _split_spec(subscripts)
    if len(ins) != len(xs):
        raise ShapeError(f"einsum: subscripts {subscripts!r} name {len(ins)} operands, got "
                         f"{len(xs)}")
    size: dict[str, Any] = {}
    for k, (term, x) in enumerate(zip(ins, xs, strict=True)):
        if len(term) != x.ndim:
            raise ShapeError(f"einsum: operand {k} has shape {shape_str(x.shape)} but "
                             f"subscripts {term!r}")
        for c, d in zip(term, x.shape, strict=True):
            if size.setdefault(c, d) != d:
                raise ShapeError(f"einsum: subscript {c!r} has sizes {size[c]} and {d} "
                                 f"(operand {k}, subscripts {subscripts!r})")
    dtypes = [x.dtype for x in xs if not x.weak_type] or [x.dtype for x in xs]
    return ShapedArray(tuple(size[c] for c in out), np.result_type(*dtypes))


einsum_p = Primitive("einsum", _einsum_impl, _einsum_abstract)
defxp(einsum_p, _einsum_xp)


def contract(operands: Sequence[Any], terms: Sequence[str], out: str) -> Any:
    """Canonical Einstein summation: distinct labels per operand, one size per label.

    One operand is a sum and a transpose (no ``einsum`` equation); several bind ``einsum``
    with the path planned for their shapes."""
    if len(operands) == 1:
        (x,), (term,) = operands, terms
        drop = tuple(i for i, c in enumerate(term) if c not in out)
        if drop:
            x = reduce_sum(x, drop)
            term = "".join(c for c in term if c in out)
        return transpose(x, tuple(term.index(c) for c in out)) if term != out else x
    subscripts = ",".join(terms) + "->" + out
    path = contraction_path(subscripts, [get_aval(x).shape for x in operands])
    return bind(einsum_p, *operands, subscripts=subscripts, path=path)


def _einsum_jvp(primals: list[Any], tangents: list[Any], *, subscripts: str, path: Any) -> Any:
    ans = bind(einsum_p, *primals, subscripts=subscripts, path=path)
    out: Any = Zero(None)
    for k, t in enumerate(tangents):
        if type(t) is Zero:
            continue
        ops = list(primals)
        ops[k] = t  # product rule: one term per differentiated operand
        out = add_tangents(out, bind(einsum_p, *ops, subscripts=subscripts, path=path))
    if type(out) is Zero:
        return ans, out
    return ans, fit_tangent(out, ans)


def _einsum_transpose(ct: Any, *xs: Any, subscripts: str, path: Any) -> list[Any]:
    ins, out = _split_spec(subscripts)
    undefined = [k for k, x in enumerate(xs) if is_undefined(x)]
    if len(undefined) != 1:
        raise TypeError("einsum is multilinear: its transpose needs every operand but one "
                        f"known, got {len(undefined)} unknown operands")
    (k,) = undefined
    others = [ct] + [x for j, x in enumerate(xs) if j != k]
    terms = [out] + [t for j, t in enumerate(ins) if j != k]
    avail = set().union(*terms)
    term_k = ins[k]
    present = "".join(c for c in term_k if c in avail)
    r = contract(others, terms, present)
    aval = xs[k].aval
    if present != term_k:
        # Labels summed out of operand k alone come back as a broadcast.
        r = reshape(r, tuple(d if c in avail else 1 for c, d in zip(term_k, aval.shape,
                                                                    strict=True)))
        r = broadcast_to(r, aval.shape)
    if get_aval(r).dtype != aval.dtype and is_inexact_dtype(aval.dtype):
        r = convert(r, aval.dtype)
    res: list[Any] = [None] * len(xs)
    res[k] = r
    return res


def _einsum_batch(args: Sequence[Any], dims: Sequence[Any], *, subscripts: str, path: Any
                  ) -> Any:
    ins, out = _split_spec(subscripts)
    used = set(subscripts)
    fresh = next((c for c in LETTERS if c not in used), None)
    if fresh is None:
        raise ShapeError("vmap of einsum: all 52 subscript letters are in use")
    terms = []
    ops = []
    for x, term, d in zip(args, ins, dims, strict=True):
        if d is None:
            ops.append(x)
            terms.append(term)
        else:
            ops.append(_bmove(x, d, 0))
            terms.append(fresh + term)
    return contract(ops, terms, fresh + out), 0


defjvp_rule(einsum_p, _einsum_jvp)
deftranspose(einsum_p, _einsum_transpose)
defbatch(einsum_p, _einsum_batch)

#: Largest index space (product of the sizes of the output's and the operand's labels) the
#: einsum sparsity rule enumerates; beyond it the block is taken as dense (and reported).
EINSUM_PATTERN_LIMIT = 1 << 26


def _einsum_sparsity(q: SparsityQuery) -> Any:
    """Linear in operand ``k`` with the others constant: ``w[o]`` reads ``u[v]`` when some
    assignment of the summed labels makes every constant factor nonzero. The product of the
    constants' nonzero masks over the labels of ``o`` and ``v`` is that pattern (no
    cancellation: the masks are nonnegative)."""
    ins, out = _split_spec(q.params["subscripts"])
    var = ins[q.k]
    others = [i for i in range(len(ins)) if i != q.k]
    consts = [q.const(i) for i in others]
    if any(c is None for c in consts):
        return DENSE  # a traced constant (under jit): its zeros are unknown
    size = {c: d for term, av in zip(ins, q.in_avals, strict=True)
            for c, d in zip(term, av.shape, strict=True)}
    labels = "".join(dict.fromkeys(out + var))
    if int(np.prod([size[c] for c in labels], dtype=np.int64)) > EINSUM_PATTERN_LIMIT:
        return DENSE
    terms = [ins[i] for i in others]
    present = "".join(c for c in labels if any(c in t for t in terms))
    masks = [(c != 0).astype(np.float64) for c in consts]
    hit = np.einsum(",".join(terms) + "->" + present, *masks) > 0 if terms else np.ones((), bool)
    hit = np.broadcast_to(hit.reshape([size[c] if c in present else 1 for c in labels]),
                          [size[c] for c in labels])
    where = np.nonzero(hit)

    def flat(term: str) -> np.ndarray:
        if not term:
            return np.zeros(where[0].size if where else 1, np.int64)
        return np.ravel_multi_index([where[labels.index(c)] for c in term],
                                    [size[c] for c in term]).astype(np.int64)

    return Pairs(flat(out), flat(var))


defsparsity(einsum_p, _einsum_sparsity)


# --- the public einsum: NumPy's subscript language -----------------------------------------


def _parse(subscripts: str, shapes: list[tuple[Any, ...]]) -> tuple[list[str], str]:
    """NumPy subscripts → one label per axis per operand (``...`` expanded) and the output."""
    s = subscripts.replace(" ", "")
    if s.count("->") > 1:
        raise ValueError(f"einsum: subscripts {subscripts!r} contain more than one '->'")
    lhs, arrow, rhs = s.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: subscripts {subscripts!r} name {len(terms)} operand(s) but "
                         f"{len(shapes)} were given")
    for term in [*terms, rhs]:
        bad = set(term.replace("...", "")) - set(LETTERS)
        if bad or term.count("...") > 1:
            raise ValueError(f"einsum: invalid subscript term {term!r} in {subscripts!r}: use "
                             "letters a-z, A-Z and at most one '...'")
    used = set(s) & set(LETTERS)
    spare = [c for c in LETTERS if c not in used]
    n_ell = 0
    for k, (term, shape) in enumerate(zip(terms, shapes, strict=True)):
        named = len(term.replace("...", ""))
        if "..." in term:
            if named > len(shape):
                raise ShapeError(
                    f"einsum: operand {k} has shape {shape_str(shape)} ({len(shape)} axes) but "
                    f"its subscripts {term!r} name {named}")
            n_ell = max(n_ell, len(shape) - named)
        elif named != len(shape):
            raise ShapeError(
                f"einsum: operand {k} has shape {shape_str(shape)} ({len(shape)} axes) but its "
                f"subscripts {term!r} name {named}; give one letter per axis (or use '...')")
    if n_ell > len(spare):
        raise ValueError("einsum: too many labels (at most 52 letters in all)")
    ell = "".join(spare[:n_ell])
    out_terms = []
    for term, shape in zip(terms, shapes, strict=True):
        if "..." in term:
            k = len(shape) - len(term.replace("...", ""))
            term = term.replace("...", ell[n_ell - k:] if k else "")
        out_terms.append(term)
    if arrow:
        if "..." in rhs:
            out = rhs.replace("...", ell)
        elif n_ell and any("..." in t for t in terms):
            raise ShapeError(
                f"einsum: the operands have broadcast ('...') axes but the output {rhs!r} of "
                f"{subscripts!r} has no '...'; add '...' to the output")
        else:
            out = rhs
    else:
        counts: dict[str, int] = {}
        for t in terms:
            for c in t.replace("...", ""):
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1))
    seen = set("".join(out_terms))
    for c in out:
        if out.count(c) > 1:
            raise ValueError(f"einsum: output subscript {c!r} appears more than once in "
                             f"{subscripts!r}")
        if c not in seen:
            raise ValueError(f"einsum: output subscript {c!r} does not appear in any input of "
                             f"{subscripts!r}")
    return out_terms, out


def _sizes(terms: list[str], shapes: list[tuple[Any, ...]], subscripts: str
           ) -> dict[str, Any]:
    """One size per label; a size 1 broadcasts (NumPy), any other mismatch is an error."""
    size: dict[str, Any] = {}
    where: dict[str, tuple[int, tuple[Any, ...]]] = {}
    for k, (term, shape) in enumerate(zip(terms, shapes, strict=True)):
        for c, d in zip(term, shape, strict=True):
            if c not in size or (size[c] == 1 and d != 1):
                size[c], where[c] = d, (k, shape)
            elif d != size[c] and d != 1:
                k0, shape0 = where[c]
                if k0 == k:
                    raise ShapeError(
                        f"einsum: subscript {c!r} is repeated in operand {k} ({term!r}) over "
                        f"axes of sizes {size[c]} and {d} (shape {shape_str(shape)}); a "
                        "repeated subscript takes a diagonal, which needs equal sizes")
                raise ShapeError(
                    f"einsum: subscript {c!r} has size {size[c]} in operand {k0} (shape "
                    f"{shape_str(shape0)}) but size {d} in operand {k} (shape "
                    f"{shape_str(shape)}) in {subscripts!r}; the sizes of a subscript must "
                    "agree (or be 1, which broadcasts)")
    return size


def _prepare(x: Any, term: str, k: int, size: dict[str, Any], subscripts: str
             ) -> tuple[Any, str]:
    """Take diagonals for repeated labels and squeeze broadcast unit axes of one operand."""
    shape = tuple(get_aval(x).shape)
    while len(set(term)) < len(term):
        c = next(c for c in term if term.count(c) > 1)
        p = term.index(c)
        q = term.index(c, p + 1)
        if shape[p] != shape[q]:
            raise ShapeError(
                f"einsum: subscript {c!r} is repeated in operand {k} ({term!r}) over axes of "
                f"sizes {shape[p]} and {shape[q]} (shape {shape_str(shape)}); a repeated "
                f"subscript takes a diagonal, which needs equal sizes")
        x = diagonal(x, 0, p, q)
        term = "".join(t for i, t in enumerate(term) if i not in (p, q)) + c
        shape = tuple(get_aval(x).shape)
    squeeze = [i for i, (c, d) in enumerate(zip(term, shape, strict=True))
               if d == 1 and size[c] != 1]
    if squeeze:
        x = reshape(x, tuple(d for i, d in enumerate(shape) if i not in squeeze))
        term = "".join(c for i, c in enumerate(term) if i not in squeeze)
    return x, term


def _from_sublists(args: Sequence[Any]) -> tuple[str, list[Any]]:
    """NumPy's interleaved form ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` as a string."""
    def term(sub: Any) -> str:
        parts = []
        for s in sub:
            if s is Ellipsis:
                parts.append("...")
            elif isinstance(s, (int, np.integer)) and 0 <= s < 52:
                parts.append(LETTERS[s])
            else:
                raise ValueError(f"einsum: subscript {s!r} in a sublist must be an int in "
                                 "[0, 52) or Ellipsis")
        return "".join(parts)

    args = list(args)
    out = term(args.pop()) if len(args) % 2 == 1 else None
    ops = args[0::2]
    spec = ",".join(term(s) for s in args[1::2])
    return (spec + "->" + out if out is not None else spec), ops


def einsum(*operands: Any, out: Any = None, optimize: Any = False, dtype: Any = None,
           order: str = "K", casting: str = "safe") -> Any:
    """``numpy.einsum``: subscripts with implicit or explicit output, ``...``, repeated labels
    (traces and diagonals), size-1 broadcasting, and the interleaved sublist form.

    Differentiable in every operand to any order; the contraction order comes from
    opt_einsum (``optimize`` is accepted for NumPy compatibility: traced operands are always
    contracted along a planned path)."""
    if not any(needs_bind(x) for x in operands):
        return np.einsum(*operands, out=out, optimize=optimize, dtype=dtype, order=order,
                         casting=casting)
    if out is not None:
        raise TypeError("einsum: out= is not supported for values being differentiated")
    if not operands:
        raise TypeError("einsum: no subscripts given")
    if isinstance(operands[0], str):
        subscripts, ops = operands[0], list(operands[1:])
    else:
        subscripts, ops = _from_sublists(operands)
    shapes = [tuple(get_aval(x).shape) for x in ops]
    terms, out_labels = _parse(subscripts, shapes)
    if not all(is_concrete(s) for s in shapes):
        size: dict[str, Any] = {}
        for t, s in zip(terms, shapes, strict=True):
            size.update(zip(t, s, strict=True))
    else:
        size = _sizes(terms, shapes, subscripts)
    prepared = [_prepare(x, t, k, size, subscripts)
                for k, (x, t) in enumerate(zip(ops, terms, strict=True))]
    res = contract([p[0] for p in prepared], [p[1] for p in prepared], out_labels)
    if dtype is not None:
        res = convert(res, dtype)
    return res
