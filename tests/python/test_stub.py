"""The typed stub shipped beside the module names exactly what the module has."""
import ast
import inspect
import pathlib

import xiaoxiang as xx

STUB = pathlib.Path(xx.__file__).with_name("__init__.pyi")


def stub_tree():
    assert STUB.exists(), f"no stub beside the module: {STUB}"
    return ast.parse(STUB.read_text())


def stub_names(tree):
    names = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = node
    return names


HELPERS = {"ArrayLike", "Table", "Message"}  # type aliases of the stub itself


def test_top_level_names_match():
    tree = stub_tree()
    stub = {n for n in stub_names(tree) if not n.startswith("_")}
    stub |= {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets}
    stub -= HELPERS
    module = {n for n in dir(xx) if not n.startswith("_")}
    assert stub == module


def test_class_members_match():
    names = stub_names(stub_tree())
    for name in dir(xx):
        cls = getattr(xx, name)
        if not inspect.isclass(cls) or name.startswith("_") or issubclass(cls, BaseException):
            continue
        stub_members = {n.name for n in names[name].body
                        if isinstance(n, ast.FunctionDef) and (not n.name.startswith("_") or n.name in ("__len__", "__enter__", "__exit__", "__bool__"))}
        members = {m for m in dir(cls) if not m.startswith("_")}
        members |= {m for m in ("__len__", "__enter__", "__exit__", "__bool__") if m in cls.__dict__}
        assert stub_members == members, name


def test_function_parameters_match():
    names = stub_names(stub_tree())
    for name in dir(xx):
        fn = getattr(xx, name)
        if name.startswith("_") or inspect.isclass(fn) or not callable(fn):
            continue
        doc = fn.__doc__.splitlines()[0]  # pybind11's signature line: name(a: ..., b: ...) -> ...
        stub_params = [a.arg for a in names[name].args.args + names[name].args.kwonlyargs]
        for param in stub_params:
            assert f"{param}:" in doc, (name, param, doc)


def test_docstrings_everywhere():
    for name in dir(xx):
        if name.startswith("_"):
            continue
        obj = getattr(xx, name)
        if callable(obj):
            assert obj.__doc__, name
