"""Shared fixtures: one run of the small test scenario per session, and the documented layout.

CTest sets TALENTSIM_BINARY and TALENTSIM_SOURCE_DIR; outside CTest they default to
/work/main/build/talentsim and /work/main (or the checkout this file lives in).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

HERE = Path(__file__).resolve().parent
_DEFAULT_SOURCE = HERE.parent.parent if (HERE.parent.parent / "docs").is_dir() else Path("/work/main")
SOURCE_DIR = Path(os.environ.get("TALENTSIM_SOURCE_DIR") or _DEFAULT_SOURCE)
BINARY = Path(os.environ.get("TALENTSIM_BINARY") or SOURCE_DIR / "build" / "talentsim")
SCENARIO = SOURCE_DIR / "tests" / "data" / "scenarios" / "small.yaml"
LAYOUT_JSON = SOURCE_DIR / "docs" / "hdf5-layout.json"
LAYOUT_MD = SOURCE_DIR / "docs" / "hdf5-layout.md"
ANALYSIS_DIR = SOURCE_DIR / "analysis"

if str(ANALYSIS_DIR) not in sys.path:
    sys.path.insert(0, str(ANALYSIS_DIR))


def run_talentsim(args, timeout=300, **kw):
    """Runs the talentsim binary with `args`; returns the CompletedProcess."""
    if not BINARY.is_file():
        pytest.fail(f"talentsim binary not found at {BINARY} (build it, or set TALENTSIM_BINARY)")
    return subprocess.run([str(BINARY), *map(str, args)], capture_output=True, text=True, timeout=timeout, **kw)


@pytest.fixture(scope="session")
def source_dir() -> Path:
    return SOURCE_DIR


@pytest.fixture(scope="session")
def scenario_path() -> Path:
    assert SCENARIO.is_file(), f"missing test scenario {SCENARIO}"
    return SCENARIO


@pytest.fixture(scope="session")
def run_file(tmp_path_factory, scenario_path) -> Path:
    """The small scenario, run once per test session into a temporary directory."""
    out = tmp_path_factory.mktemp("talentsim_run") / "small.h5"
    proc = run_talentsim(["run", scenario_path, "-o", out, "--quiet"])
    assert proc.returncode == 0, f"talentsim run failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    assert out.is_file(), "talentsim run did not write its output file"
    leftovers = [p.name for p in out.parent.iterdir() if ".partial-" in p.name]
    assert not leftovers, f"temporary files left behind: {leftovers}"
    return out


@pytest.fixture(scope="session")
def h5(run_file):
    """The run file, open read-only for the whole session."""
    with h5py.File(run_file, "r") as f:
        yield f


@pytest.fixture(scope="session")
def layout():
    with open(LAYOUT_JSON, encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(scope="session")
def layout_md() -> str:
    return LAYOUT_MD.read_text(encoding="utf-8")
