"""Every public callable and class documents itself: help() shows something, examples run.

A class built with a computed docstring (string concatenation) has ``__doc__ = None``; this
catches it. Each public name needs a NumPy-style ``Parameters`` or ``Examples`` section.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

MODULES = [
    "graphneg",
    "graphneg.similarity",
    "graphneg.links",
    "graphneg.negatives",
    "graphneg.training",
    "graphneg.training.st",
    "graphneg.io",
    "graphneg.training_data",
]
SECTIONS = ("Parameters\n", "Examples\n")
CLASS_SECTIONS = (*SECTIONS, "Attributes\n")  # result records document their fields
# gaps outside the samplers/CLI, reported to their owners; remove a name once it is fixed
KNOWN_GAPS: dict[str, str] = {}


def public_objects():
    seen = {}
    for module_name in MODULES:
        if module_name.startswith("graphneg.training"):
            pytest.importorskip("torch")
        if module_name == "graphneg.training.st":
            pytest.importorskip("transformers")
        module = importlib.import_module(module_name)
        names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
        for name in names:
            obj = getattr(module, name)
            if (inspect.isclass(obj) or callable(obj)) and not inspect.ismodule(obj):
                seen.setdefault(f"{module_name}.{name}", obj)
    return [
        pytest.param(name, obj, id=name,
                     marks=[pytest.mark.xfail(reason=KNOWN_GAPS[name])] if name in KNOWN_GAPS else [])
        for name, obj in sorted(seen.items())
    ]


def test_public_names_are_found():
    names = {p.values[0] for p in public_objects()}
    assert "graphneg.CommunityBatchSampler" in names and "graphneg.training.st.batch_sampler" in names


@pytest.mark.parametrize(("name", "obj"), public_objects())
def test_public_callable_has_numpy_docstring(name, obj):
    doc = obj.__doc__ if inspect.isclass(obj) else inspect.getdoc(obj)  # a class's own, not inherited
    assert doc and doc.strip(), f"{name} has no docstring (help() shows nothing)"
    if inspect.isclass(obj) and issubclass(obj, BaseException):
        return  # exceptions and warnings: one line saying when they are raised
    doc = inspect.cleandoc(doc)
    sections = CLASS_SECTIONS if inspect.isclass(obj) else SECTIONS
    assert any(s in doc for s in sections), f"{name}: docstring has no {'/'.join(s.strip() for s in sections)} section"
