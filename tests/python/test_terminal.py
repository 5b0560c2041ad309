"""The progress line (README, Command line): shown on a terminal, nothing with --quiet or when
stderr is not a terminal. The terminal is a pseudo-terminal from Python's pty module."""
import os
import pty
import select
import subprocess

import pytest

from conftest import BINARY, run_talentsim

TINY = """run: {steps: 400}
population: {researchers: 2000}
firms:
  - {name: A, hq: US, headcount: 900}
  - {name: B, hq: CN, headcount: 900}
"""


def run_on_terminal(args, timeout=120):
    """Runs talentsim with stderr on a pseudo-terminal; returns (exit code, what the terminal got)."""
    if not BINARY.is_file():
        pytest.fail(f"talentsim binary not found at {BINARY}")
    try:
        master, slave = pty.openpty()
    except OSError as e:  # e.g. a chroot without /dev/pts: there is no terminal to test on
        pytest.skip(f"no pseudo-terminal on this machine ({e})")
    try:
        proc = subprocess.Popen([str(BINARY), *map(str, args)], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=slave)
        os.close(slave)
        got = b""
        while True:
            ready, _, _ = select.select([master], [], [], timeout)
            if not ready:
                proc.kill()
                pytest.fail("talentsim did not finish")
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the other side closed
                break
            if not chunk:
                break
            got += chunk
        return proc.wait(timeout=timeout), got.decode("utf-8", "replace")
    finally:
        os.close(master)


@pytest.fixture()
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


def test_progress_line_on_a_terminal(tiny, tmp_path):
    code, term = run_on_terminal(["run", tiny, "-o", tmp_path / "t.h5"])
    assert code == 0, term
    # One line rewritten in place (\r) that ends at the last step, then a newline.
    assert "\r  step " in term
    assert "steps/s" in term and "ETA" in term
    assert "step 400/400  2058-10" in term
    assert term.rstrip("\r\n ").endswith("ETA 0s")


def test_spin_up_progress_on_a_terminal(tiny, tmp_path):
    code, term = run_on_terminal(["run", tiny, "-o", tmp_path / "s.h5", "--steps", "12", "--set", "run.spin_up=30"])
    assert code == 0, term
    # The spin-up's own line, finished before the steps' line starts.
    assert "\r  spin-up 30/30 months" in term
    assert term.index("spin-up 30/30 months") < term.index("step 12/12")


def test_no_progress_with_quiet(tiny, tmp_path):
    code, term = run_on_terminal(["run", tiny, "-o", tmp_path / "q.h5", "--quiet"])
    assert code == 0, term
    assert term == ""
    code, term = run_on_terminal(["run", tiny, "-o", tmp_path / "q2.h5", "--quiet", "--set", "run.spin_up=30"])
    assert code == 0, term
    assert term == ""


def test_no_progress_when_stderr_is_not_a_terminal(tiny, tmp_path):
    proc = run_talentsim(["run", tiny, "-o", tmp_path / "p.h5"])
    assert proc.returncode == 0, proc.stderr
    assert "steps/s" not in proc.stderr
    assert proc.stdout.startswith("wrote ")
