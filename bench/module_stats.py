"""Module sizes and package-level import cycles of reelflow (issue 15's closing note).

Run from the repository root: ``python bench/module_stats.py``. Prints the number of modules
under ``src/reelflow``, the median/p90/max module length in lines, and every pair of top-level
packages that import each other (directly or through other modules), with one shortest chain each.
Imports under ``if TYPE_CHECKING:`` count: a cycle there is still a cycle for a reader.
"""

from __future__ import annotations

import itertools
import statistics
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PACKAGE = "reelflow"


def _percentile(values: list[int], fraction: float) -> int:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))
    return ordered[index]


def module_sizes() -> dict[str, int]:
    """Lines per module file, keyed by path relative to ``src``."""
    return {
        str(path.relative_to(SRC)): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted((SRC / PACKAGE).rglob("*.py"))
    }


def top_level_units(graph: grimp.ImportGraph) -> list[str]:
    """Top-level packages and modules of reelflow (``reelflow.db``, ``reelflow.config``, ...)."""
    return sorted(graph.find_children(PACKAGE))


Cycle = tuple[str, str, tuple[str, ...], tuple[str, ...]]


def package_cycles(graph: grimp.ImportGraph) -> list[Cycle]:
    """Pairs of top-level units that reach each other, with one shortest chain each way."""
    cycles: list[Cycle] = []
    for upper, lower in itertools.combinations(top_level_units(graph), 2):
        down = graph.find_shortest_chain(importer=upper, imported=lower, as_packages=True)
        up = graph.find_shortest_chain(importer=lower, imported=upper, as_packages=True)
        if down and up:
            cycles.append((upper, lower, down, up))
    return cycles


def main() -> int:
    sys.path.insert(0, str(SRC))
    sizes = module_sizes()
    lines = list(sizes.values())
    largest = max(sizes, key=lambda name: sizes[name])
    print(f"modules: {len(lines)}")
    print(
        f"lines: total {sum(lines)}, median {statistics.median(lines):g}, "
        f"p90 {_percentile(lines, 0.9)}, max {sizes[largest]} ({largest})"
    )
    over = sorted((name for name, size in sizes.items() if size > 600))
    print(f"over 600 lines: {', '.join(over) if over else 'none'}")

    graph = grimp.build_graph(PACKAGE, include_external_packages=False)
    cycles = package_cycles(graph)
    print(f"package cycles: {len(cycles)}")
    for upper, lower, down, up in cycles:
        print(f"  {upper} <-> {lower}")
        print(f"    {' -> '.join(down)}")
        print(f"    {' -> '.join(up)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
