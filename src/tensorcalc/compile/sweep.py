"""One forward sweep that runs several rewrite rules per equation.

Each simplification of :mod:`tensorcalc.compile.passes` and :mod:`tensorcalc.compile.structured`
is a *rule*: a function of one equation (its inputs already rewritten) and the sweep's state
that returns

* the equation itself (no change),
* another :class:`~tensorcalc.core.ir.Equation` computing the same outputs (a rewrite; the
  next rule sees it), or
* a tuple of atoms, one per output: the outputs *are* those atoms (an alias), and the equation
  is dropped.

Every rule is a forward rule: it only looks at the equation and at what earlier equations
became. So running the rules one after another on each equation, in a single walk, computes
the same program as running each rule as a pass of its own over the whole program (each pass
sees the earlier passes' results for the earlier equations either way), while rebuilding the
program once instead of once per pass: that is most of the time passes take on a long program.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..core.ir import Equation, Literal, Program, Var

Atom = Var | Literal
Rule = Callable[[Equation, "Sweep"], Any]


class Sweep:
    """The state of one walk: substitutions made so far, the equations kept, and what the
    rules remember about earlier equations (``defs``: the kept equation defining a variable,
    ``diag``: variables known to be ``diag(d)``, ``seen``: equations by their CSE key)."""

    __slots__ = ("_table", "defs", "diag", "out", "rules", "seen", "subst")

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        self.subst: dict[Var, Atom] = {}
        self.out: list[Equation] = []
        self.defs: dict[Var, Equation] = {}
        self.diag: dict[Var, Any] = {}
        self.seen: dict[Any, tuple[Var, ...]] = {}
        self._table: dict[Any, tuple[tuple[int, Rule], ...]] = {}

    def read(self, a: Atom) -> Atom:
        subst = self.subst
        while type(a) is Var and a in subst:
            a = subst[a]
        return a

    def push(self, eq: Equation, start: int = 0) -> None:
        """Run ``rules[start:]`` on ``eq`` (inputs already read) and keep what is left. A rule
        that adds an equation of its own before ``eq`` pushes it with its own index + 1."""
        table = self._table
        while True:
            prim = eq.primitive
            rules = table.get(prim) if start == 0 else None
            if rules is None:
                rules = self._applicable(prim, start)
            for i, rule in rules:
                got = rule(eq, self)
                if got is eq:
                    continue
                if type(got) is Equation:
                    eq = got
                    if eq.primitive is not prim:  # other rules apply to the new primitive
                        start = i + 1
                        break
                    continue
                for old, new in zip(eq.outputs, got, strict=True):
                    self.subst[old] = new
                return
            else:
                break
        self.out.append(eq)
        for v in eq.outputs:
            self.defs[v] = eq

    def _applicable(self, prim: Any, start: int) -> tuple[tuple[int, Rule], ...]:
        """The rules from ``start`` on that look at ``prim`` (a rule's ``primitives``
        attribute names the primitives it rewrites; without one it looks at every equation):
        most equations meet two or three rules instead of all of them."""
        key = prim if start == 0 else (prim, start)  # most lookups start at 0: no tuple
        got = self._table.get(key)
        if got is None:
            got = self._table[key] = tuple(
                (i, rule) for i, rule in enumerate(self.rules) if i >= start
                and (getattr(rule, "primitives", None) is None or prim in rule.primitives))
        return got

    def run(self, prog: Program) -> Program:
        subst = self.subst
        for eq in prog.equations:
            if subst:
                ins = eq.inputs
                for a in ins:
                    if type(a) is Var and a in subst:
                        eq = Equation(eq.primitive, tuple(self.read(b) for b in ins),
                                      eq.outputs, eq.params)
                        break
            self.push(eq)
        return Program(prog.inputs, self.out, [self.read(a) for a in prog.outputs])


def rewrites(*primitives: Any) -> Callable[[Rule], Rule]:
    """Declare the primitives a rule rewrites, so the sweep calls it only on those."""
    def mark(rule: Rule) -> Rule:
        rule.primitives = frozenset(primitives)  # type: ignore[attr-defined]
        return rule
    return mark


def run_rules(prog: Program, rules: Sequence[Rule]) -> Program:
    """Rewrite ``prog`` with ``rules``, applied in order to each equation in one sweep."""
    return Sweep(rules).run(prog)
