#!/usr/bin/python3
"""Scenario table: every scenario of the library against the baseline, with 95% intervals.

A thin wrapper over `talentsim sweep scenarios/experiments/scenarios.yaml`, the experiment that
holds the library (its variants), the outcomes, the horizon and the replications (its comments
describe them; docs/scenarios.md explains how to read the table). The sweep runs replication k
with the same seed in the baseline and in every scenario (common random numbers) and reports the
paired differences scenario − baseline with 95% t intervals; this script prints that table and,
with --update-docs, writes it between the markers of README.md and docs/scenarios.md.

Usage (from the repository root):
  /usr/bin/python3 analysis/scenario_table.py                     # the table, runs in a temporary directory
  /usr/bin/python3 analysis/scenario_table.py --update-docs --jobs 2
  /usr/bin/python3 analysis/scenario_table.py --replications 3 --steps 24 --out /tmp/table.h5
Nothing in the repository changes without --update-docs. The same table, by hand:
  build/talentsim sweep scenarios/experiments/scenarios.yaml -o OUT.h5 --jobs 2
  build/talentsim export OUT.h5 --table
"""
from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENT = ROOT / "scenarios" / "experiments" / "scenarios.yaml"
BEGIN_MARK = "<!-- BEGIN scenario_table.py output -->"
END_MARK = "<!-- END scenario_table.py output -->"


def write_doc(doc: Path, section: str) -> None:
    """Replaces the marked section of `doc`; a document without the markers is left alone."""
    text = doc.read_text()
    if BEGIN_MARK not in text or END_MARK not in text:
        print(f"(no markers in {doc}: not changed)", file=sys.stderr)
        return
    head, rest = text.split(BEGIN_MARK, 1)
    doc.write_text(head + f"{BEGIN_MARK}\n{section}\n{END_MARK}" + rest.split(END_MARK, 1)[1])
    print(f"(written to {doc})", file=sys.stderr)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--binary", type=Path, default=Path(os.environ.get("TALENTSIM_BINARY", ROOT / "build/talentsim")))
    p.add_argument("--experiment", type=Path, default=EXPERIMENT)
    p.add_argument("--out", type=Path, help="the sweep file (default: in a temporary directory, removed afterwards)")
    p.add_argument("--replications", "-R", type=int, help="replications (default: the experiment's)")
    p.add_argument("--steps", type=int, help="horizon in months (default: the experiment's)")
    p.add_argument("--seed", type=int, help="experiment seed (default: the experiment's)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="scenario override for every run, baseline included (e.g. population.researchers=100000)")
    p.add_argument("--jobs", type=int, default=1, help="runs at a time (talentsim sweep --jobs)")
    p.add_argument("--update-docs", action="store_true",
                   help="write the table between the markers of README.md and docs/scenarios.md")
    args = p.parse_args(argv)
    if (args.replications is not None and args.replications < 1) or (args.steps is not None and args.steps < 1):
        p.error("--replications and --steps must be at least 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    sets = []
    if args.replications is not None:
        sets += ["--set", f"replications={args.replications}"]
    if args.steps is not None:
        sets += ["--set", f"steps={args.steps}"]
    if args.seed is not None:
        sets += ["--set", f"seed={args.seed}"]
    if args.set:  # the experiment's `set:` list: scenario overrides for every run
        sets += ["--set", "set=[" + ", ".join('"' + s.replace('"', '\\"') + '"' for s in args.set) + "]"]
    with tempfile.TemporaryDirectory(prefix="scenario_table-") as tmp:
        out = args.out or Path(tmp) / "scenarios.h5"
        cmd = [str(args.binary), "sweep", str(args.experiment), "-o", str(out), "--jobs", str(args.jobs), "--quiet", *sets]
        if args.out and out.exists():
            cmd.append("--force")
        t0 = time.monotonic()
        proc = subprocess.run(cmd, text=True)
        if proc.returncode != 0:
            print(f"scenario_table.py: {shlex.join(cmd)} exited with {proc.returncode}", file=sys.stderr)
            return proc.returncode
        minutes = (time.monotonic() - t0) / 60
        table = subprocess.run([str(args.binary), "export", str(out), "--table"], capture_output=True, text=True)
        if table.returncode != 0:
            print(table.stderr, file=sys.stderr)
            return table.returncode
        with h5py.File(out, "r") as f:
            a = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
            sets = [str(x) for x in f["metadata/overrides"].asstr()[()]]
        if args.out:
            print(f"(the sweep file: {out})", file=sys.stderr)
    command = "/usr/bin/python3 analysis/scenario_table.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    section = (f"Generated by `{command.strip()}` on {time.strftime('%Y-%m-%d')}: "
               f"{a['runs']} runs ({a['replications']} replications × {a['variants']} scenarios, the baseline "
               f"included), {a['steps']} steps, experiment seed {a['seed']}"
               + (f", overrides of the experiment `{' '.join(sets)}`" if sets else "")
               + f"; talentsim {a['version']} at commit {a['git_commit']}; {minutes:.1f} min with "
               f"{args.jobs} job{'s' if args.jobs != 1 else ''}.\n\n{table.stdout.strip()}")
    print(section)
    if args.update_docs:
        write_doc(ROOT / "docs" / "scenarios.md", section)
        write_doc(ROOT / "README.md", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
