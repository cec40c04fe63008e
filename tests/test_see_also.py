"""Every public name says where to look next: a numpydoc "See Also" section whose names exist.

Walks the ``__all__`` of ``graphneg`` and of each public subpackage (lazy names included;
``graphneg.training.st`` too when sentence-transformers is installed). A public function or
class needs a "See Also" section in its own docstring, and every name listed there must
resolve to an object: short names against the object's module, its subpackage, ``graphneg``
and the public subpackages, dotted ones (``graphneg.distributed.knn_graph``,
``LinkGraph.from_edges``, ``numpy.load``) attribute by attribute. A rename that forgets a
docstring fails here.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import sys

import pytest

import graphneg

_HEADER = re.compile(r"^See Also\n-{8,}\n", re.MULTILINE)
_NEXT_HEADER = re.compile(r"^\S[^\n]*\n-{3,}\n", re.MULTILINE)
_ROLE = re.compile(r":\w+:`~?([^`]+)`")


def _modules():
    names = ["graphneg"]
    for info in pkgutil.walk_packages(graphneg.__path__, "graphneg."):
        if info.ispkg and not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    mods = []
    for name in names:
        try:
            mods.append(importlib.import_module(name))
        except ImportError:  # an optional dependency (torch, sentence-transformers) is missing
            continue
    return mods


def _public_objects() -> dict[str, object]:
    seen: dict[int, str] = {}
    found = {}
    for mod in _modules():
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name, None)
            if not callable(obj) or inspect.ismodule(obj) or id(obj) in seen:
                continue
            seen[id(obj)] = f"{mod.__name__}.{name}"
            found[seen[id(obj)]] = obj
    return found


def _own_doc(obj) -> str:
    doc = obj.__doc__ if inspect.isclass(obj) else inspect.getdoc(obj)  # a class's own, not inherited
    return inspect.cleandoc(doc or "")


def _see_also_names(doc: str) -> list[str]:
    """The names listed in a docstring's See Also section (``a, b : why`` lines)."""
    match = _HEADER.search(doc)
    if match is None:
        return []
    body = doc[match.end():]
    end = _NEXT_HEADER.search(body)
    names = []
    for line in body[: end.start() if end else None].splitlines():
        if not line.strip() or line.startswith(" "):  # blank, or a reason's continuation
            continue
        head = _ROLE.sub(r"\1", line.split(" : ", 1)[0])
        names += [n.strip().strip("`").lstrip("~") for n in head.split(",") if n.strip()]
    return names


def _resolve(name: str, owner) -> bool:
    parts = name.split(".")
    home = sys.modules[owner.__module__]
    scopes = [home, sys.modules[home.__name__.rpartition(".")[0]], *_modules()]
    if inspect.isclass(owner):
        scopes.insert(0, owner)
    if parts[0] == "graphneg":
        scopes, parts = [graphneg], parts[1:]
    elif parts[0] in ("numpy", "scipy", "torch", "networkx", "sentence_transformers"):
        try:
            scopes, parts = [importlib.import_module(parts[0])], parts[1:]
        except ImportError:
            return True  # an optional package that is not installed here
    for scope in scopes:
        obj = scope
        for i, part in enumerate(parts):
            try:
                obj = getattr(obj, part)
            except AttributeError:
                obj = _missing_attribute(obj, part, last=i == len(parts) - 1)
                if obj is None:
                    break
        if obj is not None:
            return True
    return False


def _missing_attribute(obj, part: str, last: bool):
    """A submodule its package does not import, or an instance attribute a class documents."""
    if inspect.ismodule(obj):
        try:
            return importlib.import_module(f"{obj.__name__}.{part}")
        except ModuleNotFoundError as err:
            return True if not err.name.startswith("graphneg") else None  # an optional package
    if inspect.isclass(obj) and last:
        annotated = {name for klass in obj.__mro__ for name in getattr(klass, "__annotations__", {})}
        documented = re.search(rf"^(\w+, )*{part}(, \w+)* :", _own_doc(obj), re.MULTILINE)  # its Attributes
        return True if part in annotated or documented else None
    return None


PUBLIC = _public_objects()


def test_the_walk_sees_every_public_subpackage():
    names = set(PUBLIC)
    for expected in ("graphneg.mine_hard_negatives", "graphneg.distributed.knn_graph", "graphneg.read_tevatron",
                     "graphneg.inspection.write_report", "graphneg.cli.main"):
        assert expected in names


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_name_has_see_also(name):
    doc = _own_doc(PUBLIC[name])
    assert _HEADER.search(doc), f'{name}: no "See Also" section (numpydoc: after Returns/Raises, before Notes)'


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_see_also_names_resolve(name):
    obj = PUBLIC[name]
    missing = [n for n in _see_also_names(_own_doc(obj)) if not _resolve(n, obj)]
    assert not missing, f"{name}: See Also names that do not exist: {missing}"


def test_resolver_finds_what_exists_only():
    assert _resolve("graphneg.LinkGraph.counts", graphneg.knn_graph)  # an instance attribute it documents
    assert _resolve("read_tevatron", graphneg.write_tevatron)  # a short name, from the owner's module
    assert not _resolve("graphneg.no_such_function", graphneg.knn_graph)
    assert not _resolve("no_such_function", graphneg.write_tevatron)


def test_see_also_parser():
    doc = ("Summary.\n\nSee Also\n--------\na, b.c : why,\n    and more : still why.\n:func:`~d` : x.\n\n"
           "Notes\n-----\ne : no\n")
    assert _see_also_names(doc) == ["a", "b.c", "d"]
