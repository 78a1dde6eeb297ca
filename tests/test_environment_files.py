"""pyproject.toml is the one list of Python packages; the conda files must say the same.

``environment.yml`` (users, with the dev tools) and ``binder/environment.yml`` (Binder:
no dev tools, CPU-only PyTorch) list pyproject's packages with the same lower bounds,
under their conda-forge names, plus PostgreSQL/PostGIS for the local STAC API.
"""

import re
from pathlib import Path

import pytest
import tomllib
import yaml

ROOT = Path(__file__).resolve().parent.parent
#: pip name -> conda-forge name, where they differ.
CONDA_NAME = {"torch": "pytorch"}
#: What the conda files add that pip cannot install.
SYSTEM = {"python", "postgresql", "postgis", "pip"}


def _split(requirement: str) -> tuple[str, str]:
    """``"dask[array]>=2024.1"`` -> ``("dask", ">=2024.1")`` (the lower bound only)."""
    match = re.match(r"\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*(.*)", requirement)
    name, spec = match.group(1).lower(), match.group(3).replace(" ", "")
    lower = next((part for part in spec.split(",") if part.startswith((">=", "=="))), "")
    return name, lower


def pyproject(*extras: str) -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in extras:
        wanted += project["optional-dependencies"][extra]
    return dict(_split(r) for r in wanted)


def conda_file(path: Path) -> dict[str, str]:
    spec = yaml.safe_load(path.read_text())
    out = {}
    for entry in spec["dependencies"]:
        for requirement in entry["pip"] if isinstance(entry, dict) else [entry]:
            if requirement.startswith("-e"):
                continue
            name, lower = _split(requirement)
            out[name] = lower
    return out


def as_conda(packages: dict[str, str], torch: str = "pytorch") -> dict[str, str]:
    names = {**CONDA_NAME, "torch": torch}
    return {names.get(name, name): lower for name, lower in packages.items()}


@pytest.mark.parametrize(
    "path, extras, torch",
    [
        ("environment.yml", ("explain", "lab", "dev"), "pytorch"),
        ("binder/environment.yml", ("explain", "lab"), "pytorch-cpu"),
    ],
)
def test_the_conda_files_list_pyprojects_packages_with_its_bounds(path, extras, torch):
    listed = conda_file(ROOT / path)
    wanted = as_conda(pyproject(*extras), torch)
    assert {n: b for n, b in listed.items() if n not in SYSTEM} == wanted, (
        f"{path} and pyproject.toml differ: only in {path}: "
        f"{sorted(set(listed) - set(wanted) - SYSTEM)}, only in pyproject: "
        f"{sorted(set(wanted) - set(listed))}, other bounds: "
        f"{sorted(n for n in set(listed) & set(wanted) if listed[n] != wanted[n])}"
    )
    assert SYSTEM <= set(listed)  # PostgreSQL and PostGIS for the local STAC API
