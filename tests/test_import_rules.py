"""``ynps_geo/_kernels`` imports only numpy, numba, typing and its own modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

KERNELS = Path(__file__).resolve().parents[1] / "ynps_geo" / "_kernels"
ALLOWED = {"numpy", "numba", "typing", "__future__"}


def _files() -> list[Path]:
    return sorted(KERNELS.glob("*.py"))


def test_kernel_files_exist() -> None:
    assert _files(), f"no modules found in {KERNELS}"


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.name)
def test_kernels_import_only_numpy_and_numba(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level > 0:  # relative import inside _kernels
                continue
            names = [node.module or ""]
        else:
            continue
        bad += [f"line {node.lineno}: {n}" for n in names if n.split(".")[0] not in ALLOWED]
    assert not bad, f"{path.name} imports outside numpy/numba/typing: {bad}"
