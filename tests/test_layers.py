"""No import points up (issue 22, item 4): the package's layers, read from its source.

Every ``import`` and ``from ... import`` in ``graphneg/**/*.py`` is read with :mod:`ast`,
including imports inside functions and under ``TYPE_CHECKING`` (a lazy import is still a
dependency), relative imports resolved. A module may import its own subpackage and any
*lower* layer; importing a higher layer, or a different subpackage of the same layer, fails.

The layers, lowest first (what each needs is what sits below it):

0. the private kernels ``graphneg/_*.py``, the private search package ``graphneg/_search/``
   and ``exceptions.py``: sparse canonicalisation, the id rule, argument checks, seeding,
   optional imports, and the exact and approximate search kernels under ``similarity`` and
   ``negatives``; they may import each other;
1. ``similarity`` (kNN graphs, communities, batches) and ``links`` (the citation graph):
   numpy/scipy pipelines over the kernels, independent of each other;
2. ``negatives``: mined, community and link negatives, masks (uses the kNN search and
   ``LinkGraph``);
3. ``io``: readers and writers of other tools' files and graphneg's own stored objects,
   including the files that carry negatives (trainer formats, mined runs);
4. ``training`` (torch samplers, losses, sentence-transformers), ``distributed``
   (``torch.distributed`` versions of the kNN graph, mining and communities) and
   ``training_data`` (the link pipeline's last stage: a citation graph and its negatives
   written as trainer files through ``io``): independent;
5. ``inspection``: looks at what either pipeline made (reads files through ``io``, plans
   batches as the samplers do);
6. the package root ``graphneg`` (``import graphneg``, ``from graphneg import knn_graph``): the
   public facade over layers 0-5 (its ``__init__.py`` is exempt as an importer), so no layer
   below the commands may reach the facade instead of the module it needs;
7. ``cli``: the commands, over everything;
8. ``__main__``: ``python -m graphneg``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "graphneg"

LAYERS: dict[str, int] = {
    "_private": 0,  # graphneg/_*.py, graphneg/_search/ and exceptions.py
    "similarity": 1,
    "links": 1,
    "negatives": 2,
    "io": 3,
    "training": 4,
    "distributed": 4,
    "training_data": 4,
    "inspection": 5,
    "graphneg": 6,  # the package root: `import graphneg`, `from graphneg import knn_graph`
    "cli": 7,
    "__main__": 8,
}

#: (importing module, imported module) pairs allowed against the order, each with its reason
EXCEPTIONS: dict[tuple[str, str], str] = {}


def unit(module: str) -> str:
    """The layer unit of a dotted module name: its subpackage, ``_private`` or ``graphneg``."""
    parts = module.split(".")
    if len(parts) == 1:
        return "graphneg"
    top = parts[1]
    if top == "__main__":
        return "__main__"
    if top == "exceptions" or top.startswith("_"):  # a private module or package: graphneg._search.*
        return "_private"
    return top


def module_name(path: Path) -> tuple[str, str]:
    """``(module, package)`` of a source file: the package relative imports start from."""
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        name = ".".join(parts[:-1])
        return name, name
    name = ".".join(parts)
    return name, name.rsplit(".", 1)[0]


def imported(node: ast.AST, package: str) -> list[str]:
    """The graphneg modules an import statement loads (``from pkg import sub`` → ``pkg.sub``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "graphneg"]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = package.split(".")
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target.split(".")[0] != "graphneg":
        return []
    out = []
    for alias in node.names:  # `from graphneg import io` loads graphneg.io, not only the root
        sub = f"{target}.{alias.name}"
        rel = Path(*sub.split(".")[1:])
        is_module = (ROOT / rel).is_dir() or (ROOT / rel).with_suffix(".py").is_file()
        out.append(sub if is_module else target)
    return out


def all_imports() -> list[tuple[str, int, str]]:
    """``(importing module, line, imported module)`` for every graphneg import in the package."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        module, package = module_name(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            for target in imported(node, package):
                found.append((module, node.lineno, target))
    return found


def violations() -> list[str]:
    bad = []
    for module, line, target in all_imports():
        if module == "graphneg":  # graphneg/__init__.py: the facade re-exports every layer
            continue
        src, dst = unit(module), unit(target)
        if src == dst or (src == "_private" and dst == "_private"):
            continue
        if LAYERS[dst] < LAYERS[src] or (module, target) in EXCEPTIONS:
            continue
        kind = "a higher" if LAYERS[dst] > LAYERS[src] else "a peer"
        bad.append(f"{module}:{line} imports {target} ({dst}, layer {LAYERS[dst]}): {kind} layer than "
                   f"{src} (layer {LAYERS[src]})")
    return bad


def test_every_package_unit_has_a_layer() -> None:
    units = {unit(m) for m, _, _ in all_imports()} | {unit(t) for _, _, t in all_imports()}
    subpackages = {unit(f"graphneg.{p.name}") for p in ROOT.iterdir() if (p / "__init__.py").is_file()}
    assert subpackages <= set(LAYERS), subpackages - set(LAYERS)
    assert units <= set(LAYERS), units - set(LAYERS)


def test_no_import_points_up() -> None:
    bad = violations()
    assert not bad, "imports that point up:\n" + "\n".join(bad)


def test_the_reader_sees_lazy_relative_and_root_imports() -> None:
    source = (
        "from .._sparse import graph_pattern\n"
        "def f():\n"
        "    import graphneg as gn\n"
        "    from ..cli._batches_io import read_batches\n"
        "    from .. import io\n"
    )
    got = [t for node in ast.walk(ast.parse(source)) for t in imported(node, "graphneg.inspection")]
    assert sorted(got) == ["graphneg", "graphneg._sparse", "graphneg.cli._batches_io", "graphneg.io"]
    assert [unit(t) for t in sorted(got)] == ["graphneg", "_private", "cli", "io"]
    assert unit("graphneg._search._blocks") == unit("graphneg._search") == "_private"


def test_exceptions_are_still_needed() -> None:
    edges = {(m, t) for m, _, t in all_imports()}
    stale = [pair for pair in EXCEPTIONS if pair not in edges]
    assert not stale, f"documented exceptions no longer imported (remove them): {stale}"
