"""The native module's type stubs (``runlog/_runlog.pyi``) name what the
module has, with the same parameters, and ship with ``py.typed``."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import runlog
from runlog import _runlog

PACKAGE = Path(runlog.__file__).parent


def stub_tree():
    return ast.parse((PACKAGE / "_runlog.pyi").read_text())


def params(fn: ast.FunctionDef):
    names = [a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs]
    return [n for n in names if n != "self"]


def native_params(obj):
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    return [n for n in sig.parameters if n != "self"]


def test_the_package_is_typed():
    assert (PACKAGE / "py.typed").exists()


def test_every_native_function_and_method_has_a_stub_with_its_parameters():
    tree = stub_tree()
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    public = [n for n in dir(_runlog) if not n.startswith("__")]
    for name in public:
        obj = getattr(_runlog, name)
        if inspect.isclass(obj):
            assert name in classes, f"class {name} has no stub"
            stubbed = {n.name: n for n in classes[name].body if isinstance(n, ast.FunctionDef)}
            for attr in [a for a in vars(obj) if not a.startswith("__")]:
                assert attr in stubbed, f"{name}.{attr} has no stub"
                got = native_params(getattr(obj, attr))
                if got is not None and callable(getattr(obj, attr)):
                    assert params(stubbed[attr]) == got, f"{name}.{attr}"
        elif callable(obj):
            assert name in functions, f"{name} has no stub"
            got = native_params(obj)
            if got is not None:
                assert params(functions[name]) == got, name
    for name in list(functions) + list(classes):
        assert hasattr(_runlog, name), f"the stub names {name}, which the module lacks"
