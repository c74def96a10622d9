"""Every code the audit log can hold has words, so ``jixiao audit`` never prints a raw code.

The codes are read from the source (``audit(...)`` calls, case workflows, refusal guards),
so an action added later without a label fails here rather than in an operator's terminal.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

from domain.audit_labels import ACTION_LABELS, ACTOR_LABELS, ATTEMPT_LABELS, OBJECT_LABELS

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "chat", "conversations", "domain", "infra", "services")


def _trees() -> Iterator[ast.Module]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield ast.parse(path.read_text(encoding="utf-8"))


def _name(func: ast.expr) -> str:
    return (
        func.id
        if isinstance(func, ast.Name)
        else func.attr
        if isinstance(func, ast.Attribute)
        else ""
    )


def _strings(node: ast.AST) -> set[str]:
    return {
        n.value
        for n in ast.walk(node)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value
    }


def _value(constants: dict[str, str], node: ast.expr) -> set[str]:
    """The codes an argument can be: a literal, a conditional of literals, a module constant."""
    if isinstance(node, ast.Name) and node.id in constants:
        return {constants[node.id]}
    return _strings(node) if isinstance(node, (ast.Constant, ast.IfExp)) else set()


def _codes() -> dict[str, set[str]]:
    """Action, object, actor and attempted-action codes the code can write."""
    codes: dict[str, set[str]] = {
        "action": set(),
        "object": set(),
        "actor": set(),
        "attempt": set(),
    }
    guards: dict[str, int] = {}  # a function auditing a refusal of its parameter -> its position
    trees = list(_trees())
    for tree in trees:
        constants = {
            t.id: n.value.value
            for n in tree.body
            if isinstance(n, (ast.Assign, ast.AnnAssign)) and isinstance(n.value, ast.Constant)
            for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
            if isinstance(t, ast.Name) and isinstance(n.value.value, str)
        }
        value = functools.partial(_value, constants)

        for func in ast.walk(tree):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            params = [a.arg for a in func.args.args]
            for call in ast.walk(func):
                if (
                    not isinstance(call, ast.Call)
                    or _name(call.func) != "audit"
                    or len(call.args) < 2
                ):
                    continue
                codes["action"] |= value(call.args[1])
                for kw in call.keywords:
                    if kw.arg == "object_type":
                        codes["object"] |= value(kw.value)
                    elif kw.arg == "actor_label":
                        codes["actor"] |= value(kw.value)
                    elif kw.arg == "detail" and isinstance(kw.value, ast.Dict):
                        for k, v in zip(kw.value.keys, kw.value.values, strict=True):
                            if isinstance(k, ast.Constant) and k.value == "action":
                                if isinstance(v, ast.Subscript):  # action[:64]
                                    v = v.value
                                if isinstance(v, ast.Name) and v.id in params:
                                    guards[func.name] = params.index(v.id)
                                else:
                                    codes["attempt"] |= value(v)
        for call in ast.walk(tree):
            if (
                isinstance(call, ast.Call)
                and _name(call.func) == "Transition"
                and len(call.args) > 4
            ):
                codes["action"] |= value(call.args[4])
            if isinstance(call, ast.Call) and _name(call.func) == "Workflow" and call.args:
                codes["object"] |= value(call.args[0])
            if isinstance(call, ast.Call):  # passed on to audit() by cases.apply and the like
                for kw in call.keywords:
                    if kw.arg == "actor_label":
                        codes["actor"] |= value(kw.value)
    # a function handing its parameter on to a guard is a guard too (admin_only -> refuse)
    functions = [
        f
        for tree in trees
        for f in ast.walk(tree)
        if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    grown = True
    while grown:
        grown = False
        for func in functions:
            params = [a.arg for a in func.args.args]
            for call in ast.walk(func):
                if not isinstance(call, ast.Call) or _name(call.func) not in guards:
                    continue
                position = guards[_name(call.func)]
                arg = call.args[position] if len(call.args) > position else None
                if isinstance(arg, ast.Name) and arg.id in params and func.name not in guards:
                    guards[func.name] = params.index(arg.id)
                    grown = True
    for tree in trees:
        for call in ast.walk(tree):
            if isinstance(call, ast.Call) and _name(call.func) in guards:
                position = guards[_name(call.func)]
                if len(call.args) > position:
                    codes["attempt"] |= _strings(call.args[position])
    return codes


def test_every_audited_code_has_words() -> None:
    codes = _codes()
    # the scan itself finds what it must, else an empty scan would pass
    assert {"cycle.export", "calendar.unofficial", "appeal.open", "report.sent"} <= codes["action"]
    assert {"admin", "report", "export", "proxy"} <= codes["attempt"]
    assert {"calendar", "console", "rectification"} <= codes["object"]
    assert {"calendar", "job", "telegram"} <= codes["actor"]
    assert codes["action"] - ACTION_LABELS.keys() == set()
    assert codes["attempt"] - ACTION_LABELS.keys() - ATTEMPT_LABELS.keys() == set()
    assert codes["object"] - OBJECT_LABELS.keys() == set()
    assert codes["actor"] - ACTOR_LABELS.keys() == set()
