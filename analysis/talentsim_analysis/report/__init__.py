"""`talentsim report INPUT... -o DIR`: one HTML page with the figures of whatever it is given.

    /usr/bin/python3 -m talentsim_analysis.report out/baseline.h5 -o report/     # = talentsim report ...

Inputs (recognised by their content, docs/report.md):
  run file            `talentsim run` (HDF5, docs/hdf5-layout.md)
  sweep file          `talentsim sweep` / `talentsim compare` (HDF5, docs/experiments.md); a comparison
                      when it has variants and no parameters
  validation JSON     `talentsim validate --json`
  calibration         the YAML results or the Markdown report of `talentsim calibrate`, or JSON
                      with "kind": "calibration" (docs/report.md)
  benchmark JSON      `talentsim_bench --json`

Writes DIR/index.html and DIR/figures/ (a PNG per figure and the CSV of the data behind it). The
files are written under DIR/.report.partial-PID and moved into place at the end, index.html last,
so a report that fails leaves no page that looks complete. Exit codes: 0 written, 1 runtime
failure (the folder cannot be written, an existing report without --force), 2 bad input.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from .style import DPI, Figure, Palette, Spec, close

EXIT_OK, EXIT_RUNTIME, EXIT_INPUT = 0, 1, 2
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


class InputError(Exception):
    """A problem with the command line or an input (exit 2)."""


class OutputError(Exception):
    """The report cannot be written where asked (exit 1)."""


@dataclass
class Section:
    id: str
    kind: str
    heading: str
    path: str
    warnings: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    summary: List[Tuple[str, str, str]] = field(default_factory=list)
    figures: List[Figure] = field(default_factory=list)
    provenance: List[Tuple[str, str]] = field(default_factory=list)
    intro: str = ""


# ------------------------------------------------------------------------------------ inputs
def classify(path: str) -> str:
    """'run', 'sweep', 'validation', 'calibration' or 'bench'; InputError if it is none of them."""
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory; give a file (a run or sweep .h5, a .json or a calibration report)")
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError as e:
        raise InputError(f"{path}: cannot read it ({e.strerror})") from None
    if head.startswith(HDF5_MAGIC):
        import h5py
        try:
            with h5py.File(path, "r") as f:
                attrs = {k: f.attrs[k] for k in ("creator", "kind") if k in f.attrs}
                creator = _text(attrs.get("creator"))
                if creator != "talentsim":
                    raise InputError(f"{path}: an HDF5 file, but not one talentsim wrote (no creator = talentsim)")
                if _text(attrs.get("kind")) == "sweep":
                    return "sweep"
                if "series" in f and "dims" in f:
                    return "run"
                raise InputError(f"{path}: a talentsim HDF5 file without /series: neither a run nor a sweep file")
        except InputError:
            raise
        except Exception as e:  # h5py raises OSError and others for a damaged file
            raise InputError(f"{path}: cannot read it as HDF5 ({e})") from None
    text = head.decode("utf-8", errors="replace").lstrip()
    if text.startswith("{"):
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        except (ValueError, UnicodeDecodeError) as e:
            raise InputError(f"{path}: not valid JSON ({e})") from None
        if isinstance(doc, dict):
            if doc.get("tool") == "talentsim_bench":
                return "bench"
            if doc.get("tool") == "talentsim validate":
                return "validation"
            if doc.get("kind") == "calibration":
                return "calibration"
        raise InputError(f"{path}: a JSON file, but not one the report reads (talentsim_bench --json, talentsim "
                         "validate --json, or a calibration result with \"kind\": \"calibration\")")
    if text.startswith("# Calibration report") or text.startswith("# Every number of the calibration"):
        return "calibration"
    if path.endswith((".yaml", ".yml")):
        import yaml
        try:
            with open(path, encoding="utf-8") as f:
                doc = yaml.safe_load(f)
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            raise InputError(f"{path}: not valid YAML ({e})") from None
        if isinstance(doc, dict) and isinstance(doc.get("moments"), list):
            return "calibration"
        raise InputError(f"{path}: a YAML file, but not calibration results (a list of 'moments'); scenarios "
                         "and experiments are run first, then reported")
    raise InputError(f"{path}: not a talentsim run or sweep file, validation, calibration or benchmark result")


def _text(v) -> Optional[str]:
    if v is None:
        return None
    return v.decode() if isinstance(v, bytes) else str(v)


def report_regions(inputs: List[str], kinds: List[str]) -> List[str]:
    """Every region of the report's run files (a sweep's: of its first run file), in order, so that
    each keeps one colour on every figure."""
    import h5py
    from .sweep_figures import _read_strings
    names: List[str] = []
    for path, kind in zip(inputs, kinds):
        files = [path] if kind == "run" else []
        if kind == "sweep":
            folder = os.path.dirname(os.path.abspath(path))
            try:
                with h5py.File(path, "r") as f:
                    runs_dir = _text(f.attrs.get("runs_dir", "")) or ""
                files = [os.path.join(folder, runs_dir, n) for n in _read_strings(path, "runs/file") if n][:1]
            except Exception:
                files = []
        for fp in files:
            try:
                with h5py.File(fp, "r") as f:
                    names += [str(x) for x in f["dims/regions"].asstr()[()]]
            except Exception:  # read again, and reported, by the section
                pass
    return names


# ------------------------------------------------------------------------------------ drawing
class Sink:
    """Saves figures (PNG + CSV) into the report's figures folder."""

    def __init__(self, folder: str, verbose: bool = False):
        self.folder = folder
        self.verbose = verbose
        os.makedirs(folder, exist_ok=True)

    def save(self, sec: Section, spec: Spec) -> Figure:
        stem = f"{sec.id}_{spec.key}"
        png, csv = os.path.join(self.folder, stem + ".png"), os.path.join(self.folder, stem + ".csv")
        spec.fig.savefig(png, dpi=DPI)
        w, h = (int(round(x * DPI)) for x in spec.fig.get_size_inches())
        close(spec.fig)
        spec.data.to_csv(csv, index=False, encoding="utf-8")
        return Figure(stem, spec.title, spec.caption, f"figures/{stem}.png", f"figures/{stem}.csv", spec.notes, w, h)

    def failed(self, sec: Section, subject: str, e: Exception) -> None:
        """A figure that failed to draw: a note (with --verbose, the traceback on stderr)."""
        if self.verbose:
            traceback.print_exc()
        import matplotlib.pyplot as plt
        plt.close("all")
        sec.notes.append(f"{subject}: could not be drawn ({type(e).__name__}: {e}).")

    def draw(self, sec: Section, subject: str, build: Callable[[], object]) -> None:
        """Runs one figure builder: its figure goes into the section, or its note does (a figure that
        fails to draw becomes a note too, never a traceback)."""
        try:
            res = build()
        except Exception as e:  # the rest of the report must still be written
            self.failed(sec, subject, e)
            return
        if isinstance(res, Spec):
            sec.figures.append(self.save(sec, res))
        elif res:
            sec.notes.append(f"{subject}: not shown, {res}.")


def _attr_rows(attrs: dict, keys: List[Tuple[str, str]]) -> List[Tuple[str, str]]:
    return [(label, str(attrs[k])) for k, label in keys if k in attrs and str(attrs[k]) != ""]


def section_run(path: str, sec: Section, pal: Palette, sink: Sink, firms: int) -> None:
    from ..run import load_run
    from . import run_figures as rf
    run = load_run(path)
    a = run.attrs
    status = a.get("status", "?")
    steps, planned = run.n_steps, a.get("steps_planned")
    sec.heading = f"Run: {os.path.basename(path)}"
    sec.intro = f"Scenario {run.metadata.get('scenario_path', '?')}, seed {a.get('seed')}, {steps} months from {a.get('start_month')}."
    if status == "interrupted":
        sec.warnings.append(f"{path} was interrupted after step {a.get('last_step')} of {planned} planned: the figures "
                            f"cover the {steps} steps that ran.")
    elif status != "complete":
        sec.warnings.append(f"{path} is not a finished run (status '{status}': the run was killed or is still "
                            f"going): the figures cover the {steps} steps written.")
    if steps == 0:
        sec.warnings.append(f"{path} has no steps (the run was 0 steps long): the figures over time are replaced by "
                            "notes.")
    elif run.series["stocks"][-1].sum() == 0:
        sec.warnings.append(f"{path} has no researchers: shares, rates and pay are undefined.")
    for n in run.metadata.get("notes", []) or []:
        sec.notes.append(f"Scenario loader: {n}")
    sec.summary = rf.headline(run)
    for build in rf.FIGURES:
        subject = rf.FIGURE_SUBJECTS[build.__name__]
        if build is rf.fig_firms:
            sink.draw(sec, subject, lambda: rf.fig_firms(run, pal, firms))
        else:
            sink.draw(sec, subject, lambda b=build: b(run, pal))
    sec.provenance = _attr_rows(a, [("version", "version"), ("git_commit", "commit")]) + [
        ("scenario", str(run.metadata.get("scenario_path", ""))),
        ("overrides", "; ".join(run.metadata.get("overrides", []) or []) or "none"),
        ("seed", str(a.get("seed"))),
        ("steps", f"{steps} of {planned} planned (from {a.get('start_month')})"),
        ("replications", "1 (a single run)"),
        ("status", str(status)),
        ("event log", str(run.event_level)),
    ] + _attr_rows(a, [("threads", "threads"), ("start_time", "started"), ("end_time", "ended"), ("run_id", "run id")]) + [
        ("command", str(run.metadata.get("command_line", ""))),
    ]


def section_sweep(path: str, sec: Section, pal: Palette, sink: Sink, firms: int) -> None:
    from ..experiment import load_experiment
    from . import sweep_figures as sf
    sw = sf.Sweep(load_experiment(path))
    a = sw.e.attrs
    kind = sw.kind
    sec.heading = {"comparison": "Comparison", "sobol": "Sensitivity (Sobol)", "morris": "Screening (Morris)",
                   "sweep": "Sweep", "replications": "Replications"}[kind] + f": {os.path.basename(path)}"
    sec.kind = kind
    status = a.get("status")
    done, total = a.get("runs_done", 0), a.get("runs", 0)
    if status != "complete":
        sec.warnings.append(f"{path} is {'interrupted' if status == 'interrupted' else 'unfinished (status ' + str(status) + ')'}:"
                            f" {done} of {total} runs done; the figures use the runs that finished.")
    if a.get("runs_failed"):
        sec.warnings.append(f"{path}: {a.get('runs_failed')} of {total} runs failed; they are left out.")
    if done == 0:
        sec.warnings.append(f"{path} has no finished run: there is nothing to plot.")
    sec.notes.extend(sw.notes)
    for n in sw.e.metadata.get("notes", []) if isinstance(sw.e.metadata.get("notes"), list) else \
            ([sw.e.metadata["notes"]] if sw.e.metadata.get("notes") else []):
        sec.notes.append(f"Sweep: {n}")
    sec.summary = sf.headline(sw) if done else [("runs", f"0 done of {total}", "")]
    if kind == "comparison" and done:
        sec.intro = (f"{len(sw.variants) - 1} scenario(s) against {sw.base}, {a.get('replications')} replications "
                     f"each with common seeds, {a.get('steps')} steps.")
        paths = None
        if sw.run_files is not None:
            try:
                paths, notes, months = sf.outcome_paths(sw)
            except Exception as e:  # a damaged run file: the figures from the sweep file still come
                sink.failed(sec, "Outcomes over time", e)
        if paths is not None:
            for k, o in enumerate(sw.outcomes):
                sink.draw(sec, f"{sw.labels[o]} over time",
                          lambda o=o, k=k: sf.fig_paths(sw, pal, paths, notes, months, o, k))
        elif sw.run_files is None:
            sec.notes.append("Outcomes over time: not shown, the sweep kept no run files (keep: outcomes); "
                             "`talentsim compare ... --keep series` keeps them. The spread of the final values is "
                             "shown instead.")
            sink.draw(sec, "Outcomes at the end", lambda: sf.fig_final(
                sw, pal, "The sweep kept no run files (keep: outcomes), so the paths over time are not shown; "
                "`talentsim compare ... --keep series` keeps them."))
        sink.draw(sec, "Change in each outcome", lambda: sf.fig_forest(sw, pal))
        first = None
        if sw.run_files is not None:
            try:
                with _first_run(sw) as f0:
                    first = f0.regions, f0.tiers, f0.firm_names
            except Exception as e:
                sink.failed(sec, "Changes between scenarios", e)
        if first is not None:
            regions, tiers, names = first
            sink.draw(sec, "Change in moves between regions", lambda: sf.fig_flow_change(sw, pal, regions))
            sink.draw(sec, "Winners and losers by region", lambda: sf.fig_region_change(sw, pal, regions, tiers))
            sink.draw(sec, "Winners and losers by named firm", lambda: sf.fig_firm_change(sw, pal, names, firms))
        elif sw.run_files is None:
            sec.notes.append("Changes in flows, and winners and losers by region and firm: not shown, they need the "
                             "run files (keep: series).")
    elif kind in ("sweep", "replications") and done:
        sec.intro = f"{len(sw.params)} parameter(s), {a.get('points')} points, {a.get('replications')} replications."
        nump = sum(sw.numeric)
        P = len(sw.params)
        if P == 0:
            sink.draw(sec, "Outcomes at the end", lambda: sf.fig_final(
                sw, pal, "The experiment varies nothing: these are its replications."))
        elif P == 1 or (P == 2 and nump == 1):
            sink.draw(sec, "Response curves", lambda: sf.fig_response(sw, pal))
        elif P == 2:
            sink.draw(sec, "Heatmap", lambda: sf.fig_heatmap(sw, pal))
        else:
            for k, o in enumerate(sw.outcomes):
                sink.draw(sec, f"{sw.labels[o]} against each parameter",
                          lambda o=o, k=k: sf.fig_small_multiples(sw, pal, o, k))
    elif kind in ("sobol", "morris") and done:
        sec.intro = f"{len(sw.params)} parameters, {a.get('points')} design points ({a.get('design')} design)."
        sink.draw(sec, "Sensitivity indices", lambda: sf.fig_sobol(sw, pal) if kind == "sobol" else sf.fig_morris(sw, pal))
        for k, o in enumerate(sw.outcomes):
            sink.draw(sec, f"{sw.labels[o]} against each parameter",
                      lambda o=o, k=k: sf.fig_small_multiples(sw, pal, o, k))
    seeds = sw.e.runs["seed"]
    sec.provenance = _attr_rows(a, [("version", "version"), ("git_commit", "commit")]) + [
        ("experiment", str(sw.e.metadata.get("experiment_path", ""))),
        ("scenarios", ", ".join(f"{v}: {s}" for v, s in zip(sw.variants, _scenarios(path)))),
        ("seeds", f"experiment seed {a.get('seed')}, {a.get('seeds')} seeds"
                  + (f" ({seeds.min()}..{seeds.max()})" if len(seeds) else "")),
        ("steps", str(a.get("steps"))),
        ("replications", str(a.get("replications"))),
        ("design", f"{a.get('design')}, {a.get('points')} points"),
        ("status", f"{status}: {done} of {total} runs done, {a.get('runs_failed', 0)} failed, "
                   f"{a.get('runs_pending', 0)} pending"),
        ("kept", f"{a.get('keep')} ({'run files found' if sw.run_files is not None else 'no run files read'})"),
    ] + _attr_rows(a, [("start_time", "started"), ("end_time", "ended"), ("host", "host")]) + [
        ("command", str(sw.e.metadata.get("command_line", ""))),
    ]


def _scenarios(path: str) -> List[str]:
    from .sweep_figures import _read_strings
    return _read_strings(path, "variants/scenario")


class _first_run:
    def __init__(self, sw):
        from .runfiles import RunFile
        self.f = RunFile(sw.run_files["path"].iloc[0])

    def __enter__(self):
        return self.f

    def __exit__(self, *exc):
        self.f.close()


def section_validation(path: str, sec: Section, pal: Palette, sink: Sink) -> None:
    from . import check_figures as cf
    with open(path, encoding="utf-8") as f:
        v = json.load(f)
    name = cf.KIND_NAMES.get(v.get("kind"), str(v.get("kind")))
    sec.heading = f"Validation: {name} ({os.path.basename(path)})"
    sec.intro = (f"The model reduced to the {name} textbook case, against its closed forms "
                 f"(scenario {v.get('scenario', '?')}).")
    if not v.get("pass", False):
        failed = [c.get("quantity") for c in v.get("checks", []) if not c.get("pass")]
        sec.warnings.append(f"{path}: the validation FAILED ({len(failed)} check(s): {'; '.join(map(str, failed))}).")
    sec.summary = cf.validation_headline(v)
    sink.draw(sec, "Checks", lambda: cf.fig_checks(v, pal))
    for k, d in enumerate(v.get("distributions") or []):
        sink.draw(sec, str(d.get("name", "distribution")), lambda d=d, k=k: cf.fig_distribution(v, d, pal, k))
    sec.provenance = [(label, str(v[k])) for k, label in
                      (("version", "version"), ("git_commit", "commit"), ("scenario", "scenario"),
                       ("overrides", "overrides"), ("seed", "seed"), ("burn_in", "burn-in steps"),
                       ("window", "window steps")) if k in v and str(v[k]) != ""]
    sec.provenance += [("steps", str(v.get("steps"))), ("replications", "1"),
                       ("status", "pass" if v.get("pass") else "FAIL")]


def section_calibration(path: str, sec: Section, pal: Palette, sink: Sink) -> None:
    from . import check_figures as cf
    from .calibration import CalibrationFormatError, read_calibration
    try:
        c = read_calibration(path)
    except CalibrationFormatError as e:
        raise InputError(str(e)) from None
    sec.heading = f"Calibration: {os.path.basename(path)}"
    sec.intro = f"Read from the {c.source_format}."
    if not c.targets:
        sec.warnings.append(f"{path}: the calibration lists no targets.")
    sec.summary = cf.calibration_headline(c)
    sink.draw(sec, "Targets", lambda: cf.fig_targets(c, pal))
    sink.draw(sec, "Parameters", lambda: cf.fig_parameters(c, pal))
    sink.draw(sec, "Search", lambda: cf.fig_history(c, pal))
    sec.provenance = list(c.provenance.items()) + [("format", c.source_format)]
    if "status" not in c.provenance:
        sec.provenance.append(("status", c.stop or "n/a"))


def section_bench(path: str, sec: Section, pal: Palette, sink: Sink) -> None:
    from . import check_figures as cf
    with open(path, encoding="utf-8") as f:
        b = json.load(f)
    sec.heading = f"Benchmark: {os.path.basename(path)}"
    m, s = b.get("machine", {}) or {}, b.get("settings", {}) or {}
    sec.intro = f"{m.get('cpu_model', '?')}, {m.get('nproc', '?')} CPUs; scenario {s.get('scenario', '?')}."
    failed = [r for r in b.get("runs", []) if isinstance(r, dict) and not r.get("ok")]
    if failed:
        sec.warnings.append(f"{path}: {len(failed)} benchmark configuration(s) failed: "
                            + "; ".join(str(r.get("error", "?")) for r in failed[:3]))
    if s.get("smoke"):
        sec.notes.append("A smoke run (--smoke): tiny sizes, the timings say little.")
    sec.summary = cf.bench_headline(b)
    sink.draw(sec, "Throughput", lambda: cf.fig_throughput(b, pal))
    sink.draw(sec, "Time per phase", lambda: cf.fig_phases(b, pal))
    sink.draw(sec, "Memory", lambda: cf.fig_memory(b, pal))
    sec.provenance = [("version", str(m.get("talentsim_version", ""))), ("commit", str(m.get("git_commit", ""))),
                      ("scenario", str(s.get("scenario", ""))), ("steps", str(s.get("steps", ""))),
                      ("repetitions", str(s.get("repetitions", ""))), ("date", str(m.get("date_utc", ""))),
                      ("machine", f"{m.get('cpu_model', '')}, {m.get('nproc', '')} CPUs, {m.get('hostname', '')}"),
                      ("status", f"{len(b.get('runs', [])) - len(failed)} of {len(b.get('runs', []))} ran"),
                      ("command", str(b.get("command_line", "")))]


# ------------------------------------------------------------------------------------ the page
def render(title: str, sections: List[Section], pal: Palette, started: float) -> str:
    import jinja2
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.dirname(os.path.abspath(__file__))),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    tpl = env.get_template("template.html.j2")
    return tpl.render(title=title, sections=sections, palette=pal.assigned,
                      warnings=[w for s in sections for w in s.warnings],
                      generated=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                      seconds=f"{time.monotonic() - started:.1f}", command=" ".join(["talentsim report"] + sys.argv[1:]))


def build_report(inputs: List[str], outdir: str, force: bool = False, title: Optional[str] = None, firms: int = 20,
                 verbose: bool = False, progress: Optional[Callable[[str], None]] = None) -> Dict[str, object]:
    """Writes the report; returns {'index': path, 'sections': [...], 'figures': n}. Raises
    InputError (exit 2) or OutputError (exit 1) before writing anything in the target."""
    started = time.monotonic()
    kinds = [classify(p) for p in inputs]  # every input is checked before anything is written
    if os.path.exists(outdir) and not os.path.isdir(outdir):
        raise InputError(f"{outdir}: exists and is not a directory; -o takes a folder")
    index = os.path.join(outdir, "index.html")
    if os.path.exists(index) and not force:
        raise OutputError(f"{index} already exists (use --force to replace it and {outdir}/figures)")
    try:
        os.makedirs(outdir, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create {outdir}: {e.strerror}") from None
    if not os.access(outdir, os.W_OK):
        raise OutputError(f"{outdir} is not writable")
    tmp = os.path.join(outdir, f".report.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        sink = Sink(os.path.join(tmp, "figures"), verbose)
        pal = Palette(report_regions(inputs, kinds))
        sections = []
        for i, (path, kind) in enumerate(zip(inputs, kinds), start=1):
            if progress:
                progress(f"[{i}/{len(inputs)}] {path} ({kind})")
            sec = Section(f"s{i}", kind, os.path.basename(path), path)
            try:
                {"run": lambda: section_run(path, sec, pal, sink, firms),
                 "sweep": lambda: section_sweep(path, sec, pal, sink, firms),
                 "validation": lambda: section_validation(path, sec, pal, sink),
                 "calibration": lambda: section_calibration(path, sec, pal, sink),
                 "bench": lambda: section_bench(path, sec, pal, sink)}[kind]()
            except InputError:
                raise
            except Exception as e:  # a file the readers do not understand: a note, and the rest goes on
                if verbose:
                    traceback.print_exc()
                sec.warnings.append(f"{path}: could not be read as a {kind} file ({type(e).__name__}: {e}).")
            sections.append(sec)
        page_title = title or "talentsim report: " + ", ".join(os.path.basename(p) for p in inputs)
        html = render(page_title, sections, pal, started)
        with open(os.path.join(tmp, "index.html"), "w", encoding="utf-8") as f:
            f.write(html)
        # Move into place: the figures first, the page last.
        figs = os.path.join(outdir, "figures")
        if os.path.exists(figs):
            shutil.rmtree(figs)
        os.replace(os.path.join(tmp, "figures"), figs)
        os.replace(os.path.join(tmp, "index.html"), index)
    except OSError as e:
        raise OutputError(f"cannot write the report into {outdir}: {e}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"index": index, "sections": sections, "figures": sum(len(s.figures) for s in sections)}


HELP = """Writes DIR/index.html: one page with a summary table of headline numbers, the figures of every
input (each a PNG with the CSV of the data behind it in DIR/figures/) and their provenance. It
opens from disk without a network. Inputs are recognised by their content: run files (talentsim
run), sweep and comparison files (talentsim sweep / compare; the paths over time need --keep
series), validation results (talentsim validate --json), calibration results (the YAML results
or the Markdown report of talentsim calibrate, or JSON) and benchmark results
(talentsim_bench --json). docs/report.md lists the figures."""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="talentsim report", usage="talentsim report INPUT... -o DIR [options]",
                                 description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="example:\n  talentsim report out/baseline.h5 -o report/\n"
                                        "  talentsim report cmp.h5 out/baseline.h5 bench.json -o report/ --force")
    ap.add_argument("inputs", nargs="+", metavar="INPUT", help="files to report on (see above)")
    ap.add_argument("-o", "--output", required=True, metavar="DIR", help="folder of the report (created if missing)")
    ap.add_argument("--force", action="store_true",
                    help="replace DIR/index.html and DIR/figures/ if they exist (default: refuse)")
    ap.add_argument("--title", help="the page's title (default: the input file names)")
    ap.add_argument("--firms", type=int, default=20, metavar="N",
                    help="firms in the elite ranking and in the firms' winners and losers (default 20)")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress lines and no closing line")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the Python traceback of a figure that fails")
    args = ap.parse_args(argv)
    if args.firms < 1:
        ap.error("--firms must be at least 1")
    say = (lambda s: print(f"talentsim report: {s}", file=sys.stderr, flush=True)) \
        if (sys.stderr.isatty() and not args.quiet) else None
    try:
        res = build_report(args.inputs, args.output, args.force, args.title, args.firms, args.verbose, say)
    except InputError as e:
        print(f"talentsim report: {e}; nothing was written", file=sys.stderr)
        return EXIT_INPUT
    except OutputError as e:
        print(f"talentsim report: {e}", file=sys.stderr)
        return EXIT_RUNTIME
    except KeyboardInterrupt:
        print("talentsim report: interrupted; nothing was written", file=sys.stderr)
        return 130
    if not args.quiet:
        notes = sum(len(s.notes) for s in res["sections"])
        print(f"wrote {res['index']} ({res['figures']} figures, {notes} notes)")
    return EXIT_OK
