"""Calibration results as the report reads them (docs/report.md, "Calibration input").

The report reads one documented form, `Calibration` below, from any of:

* a JSON file with `"kind": "calibration"` (schema 1, docs/report.md);
* the YAML results file of `talentsim calibrate` (`output.results`, branch calib20 of issue #20:
  `setup`, `search`, `objective_start`, `objective`, `parameters`, `moments` with `targeted`,
  `fresh_mean`, `fresh_se`, `tolerance`, `within`, ..., `history`): the same reader, its
  targets being the targeted moments and their verdict on fresh seeds;
* the Markdown report `talentsim calibrate` writes (docs/calibration_report.md), in the layout
  of main (Targets: simulated mean, SE over replications) or of calib20 (Targets: the verdict on
  fresh seeds, "mean ± SE"): its Targets, Parameters and Evaluations tables and objective line.

Field names are looked up through ALIASES, so a writer that names a field differently needs one
line there.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional


class CalibrationFormatError(ValueError):
    """The file is not a calibration result the report can read (the message says why)."""


#: Schema name -> the names a writer may use for it (first match wins).
ALIASES: Dict[str, List[str]] = {
    # targets
    "name": ["name", "target", "label"],
    "moment": ["moment"],
    "value": ["value", "target_value"],
    "tolerance": ["tolerance", "tol"],
    # calib20's results: the verdict on fresh seeds (fresh_mean, fresh_se) is what `within` and
    # `tolerance` refer to; the mean at the fit's seeds (fit_mean, fit_se) only without it
    "se": ["se", "fresh_se", "standard_error", "se_mean", "sem", "fit_se"],
    "simulated_mean": ["simulated_mean", "fresh_mean", "simulated", "mean", "sim_mean", "fit_mean"],
    "within": ["within", "within_tolerance", "ok"],
    "source": ["source", "citation"],
    "start_mean": ["start_mean", "simulated_start"],
    # parameters
    "key": ["key", "parameter", "name"],
    "min": ["min", "lower", "lo"],
    "max": ["max", "upper", "hi"],
    "start": ["start", "initial"],
    "fitted": ["fitted", "value", "estimate", "best"],
    "log": ["log", "log_scale"],
    "in_overlay": ["in_overlay", "overlay"],
}


@dataclass
class Target:
    name: str
    value: float
    tolerance: float
    se: float
    simulated_mean: float
    within: Optional[bool] = None
    source: str = ""
    moment: str = ""
    start_mean: float = float("nan")

    @property
    def deviation(self) -> float:
        """(simulated mean − target) in tolerances: within tolerance is |deviation| ≤ 1."""
        return (self.simulated_mean - self.value) / self.tolerance if self.tolerance else float("nan")


@dataclass
class Parameter:
    key: str
    fitted: float
    min: float = float("nan")
    max: float = float("nan")
    start: float = float("nan")
    se: float = float("nan")
    log: bool = False
    in_overlay: Optional[bool] = None


@dataclass
class Calibration:
    path: str
    targets: List[Target]
    parameters: List[Parameter]
    objective_start: float = float("nan")
    objective_fitted: float = float("nan")
    evaluations: Optional[int] = None
    stop: str = ""
    history: List[float] = field(default_factory=list)  #: objective of each evaluation, in order
    provenance: Dict[str, str] = field(default_factory=dict)
    source_format: str = ""


def _get(d: dict, name: str, default=None):
    for k in ALIASES.get(name, [name]):
        if k in d and d[k] is not None:
            return d[k]
    return default


def _num(v) -> float:
    if v is None:
        return float("nan")
    if isinstance(v, bool):
        return float(v)
    try:
        return float(str(v).replace(",", "").replace("**", ""))
    except ValueError:
        return float("nan")


def _bool(v) -> Optional[bool]:
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    s = str(v).strip().strip("*").strip().lower()
    if s in ("yes", "true", "1", "y"):
        return True
    if s in ("no", "false", "0", "n"):
        return False
    return None


def from_mapping(path: str, doc: dict, source_format: str) -> Calibration:
    """Schema 1 (JSON), or calib20's YAML results (`moments` with `targeted`)."""
    targets_raw = doc.get("targets")
    if targets_raw is None and isinstance(doc.get("moments"), list):
        targets_raw = [m for m in doc["moments"] if isinstance(m, dict) and m.get("targeted", True)]
    if not isinstance(targets_raw, list):
        raise CalibrationFormatError(f"{path}: 'targets' (or 'moments') must be a list of objects")
    targets = []
    for i, t in enumerate(targets_raw):
        if not isinstance(t, dict):
            raise CalibrationFormatError(f"{path}: targets[{i}] is not an object")
        name = _get(t, "name")
        if name is None:
            raise CalibrationFormatError(f"{path}: targets[{i}] has no name")
        targets.append(Target(str(name), _num(_get(t, "value")), _num(_get(t, "tolerance")), _num(_get(t, "se")),
                              _num(_get(t, "simulated_mean")), _bool(_get(t, "within")), str(_get(t, "source", "")),
                              str(_get(t, "moment", "")), _num(_get(t, "start_mean"))))
    params = []
    for i, p in enumerate(doc.get("parameters") or []):
        if not isinstance(p, dict) or _get(p, "key") is None:
            raise CalibrationFormatError(f"{path}: parameters[{i}] has no key")
        params.append(Parameter(str(_get(p, "key")), _num(_get(p, "fitted")), _num(_get(p, "min")), _num(_get(p, "max")),
                                _num(_get(p, "start")), _num(_get(p, "se")), bool(_bool(_get(p, "log")) or False),
                                _bool(_get(p, "in_overlay"))))
    obj = doc.get("objective")
    if not isinstance(obj, dict):  # calib20: objective_start, objective
        obj = {"start": doc.get("objective_start"), "fitted": obj}
    hist = doc.get("history") or []
    history = [_num(h.get("objective") if isinstance(h, dict) else h) for h in hist]
    flat = dict(doc)
    if isinstance(doc.get("setup"), dict):
        flat = {**doc["setup"], **doc}
    prov = {k: str(flat[k]) for k in ("calibration_file", "generated_by", "mode", "scenario", "version",
                                      "git_commit", "replications", "seed", "seeds", "steps", "researchers", "date",
                                      "digest") if k in flat and not isinstance(flat[k], (dict, list))}
    search = doc.get("search") if isinstance(doc.get("search"), dict) else {}
    ev = doc.get("evaluations", search.get("evaluations"))
    stop = doc.get("stop", search.get("stop", "")) or ("an evaluation, not a fit" if doc.get("mode") == "evaluate" else "")
    return Calibration(path, targets, params, _num(obj.get("start")), _num(obj.get("fitted")),
                       int(ev) if isinstance(ev, (int, float)) else None, str(stop), history, prov, source_format)


def from_json(path: str, doc: dict) -> Calibration:
    return from_mapping(path, doc, "JSON (schema %s)" % doc.get("schema", "?"))


def _md_table(text: str, heading: str) -> Optional[List[Dict[str, str]]]:
    """The first Markdown table after the `## heading...` line (a heading that starts with `heading`),
    as rows of {column: cell}."""
    m = re.search(r"^##\s+" + re.escape(heading) + r"\b.*$", text, re.M)
    if not m:
        return None
    lines = text[m.end():].lstrip("\n").splitlines()
    rows = []
    header = None
    for line in lines:
        if not line.startswith("|"):
            if header is not None:
                break
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
        elif set("".join(cells)) <= set("-: "):
            continue
        else:
            rows.append(dict(zip(header, cells)))
    return rows if header else None


def _unquote(s: str) -> str:
    return s.strip().strip("`").replace(" (log scale)", "").strip("`")


def _mean_se(cell: Optional[str]):
    """'0.5007 ± 4.864e-05' -> (0.5007, 4.864e-05)."""
    if not cell or "±" not in cell:
        return _num(cell), float("nan")
    a, b = cell.split("±", 1)
    return _num(a), _num(b)


def from_markdown(path: str, text: str) -> Calibration:
    targets_rows = _md_table(text, "Targets")
    if not targets_rows:
        raise CalibrationFormatError(f"{path}: no '## Targets' table (is this a `talentsim calibrate` report?)")
    targets = []
    for r in targets_rows:
        if "fresh seeds ± SE" in r:  # calib20's layout: the verdict on fresh seeds
            mean, se = _mean_se(r["fresh seeds ± SE"])
            moment = _unquote(r.get("what and when", "")).split(",")[0]
        else:
            mean, se = _num(r.get("simulated mean")), _num(r.get("SE over replications", r.get("SE")))
            moment = _unquote(r.get("moment", ""))
        targets.append(Target(r.get("target", "?"), _num(r.get("value")), _num(r.get("tolerance")), se, mean,
                              _bool(r.get("within tolerance", r.get("within"))), r.get("source", ""), moment,
                              _num(r.get("start mean"))))
    params = []
    for r in _md_table(text, "Parameters") or []:
        key = r.get("key", "")
        params.append(Parameter(_unquote(key), _num(r.get("fitted", r.get("value"))), _num(r.get("min")),
                                _num(r.get("max")), _num(r.get("start")), _num(r.get("SE")), "(log scale)" in key,
                                _bool((r.get("in the overlay") or "").split(" ")[0])))
    history = [_num(r.get("J")) for r in (_md_table(text, "Evaluations") or [])]
    m_start = re.search(r"Objective at the start:\s*([0-9.eE+-]+)", text)
    m_opt = (re.search(r"at the optimum:\s*([0-9.eE+-]+)", text)
             or re.search(r"Objective J\(x\) = g′Wg at these values:\s*([0-9.eE+-]+)", text))
    m_gen = re.search(r"Generated by `([^`]*)`", text)
    m_ev = re.search(r"(\d+) evaluations of at most \d+,\s*([^.]*)\.", text)
    prov = {}
    if m_gen:
        prov["command"] = m_gen.group(1)
    m_sc = re.search(r"^- Scenario: `([^`]*)`", text, re.M)
    if m_sc:
        prov["scenario"] = m_sc.group(1)
    m_rep = re.search(r"^- Replications: (\d+) per evaluation with run\.seed = (\d+) \+ r", text, re.M)
    if m_rep:
        prov["replications"] = m_rep.group(1)
        prov["seeds"] = f"{m_rep.group(2)}..{int(m_rep.group(2)) + int(m_rep.group(1)) - 1}"
    return Calibration(path, targets, params, _num(m_start.group(1)) if m_start else math.nan,
                       _num(m_opt.group(1).rstrip(".")) if m_opt else math.nan,
                       int(m_ev.group(1)) if m_ev else None, m_ev.group(2) if m_ev else "", history, prov,
                       "Markdown report of talentsim calibrate")


def looks_like_yaml_results(path: str, text: str) -> bool:
    return path.endswith((".yaml", ".yml")) or text.lstrip().startswith("# Every number of the calibration")


def read_calibration(path: str) -> Calibration:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if looks_like_yaml_results(path, text):
        import yaml
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise CalibrationFormatError(f"{path}: not valid YAML ({e})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("moments"), list):
            raise CalibrationFormatError(f"{path}: calibration results have a list of 'moments'")
        return from_mapping(path, doc, "YAML results of talentsim calibrate")
    if path.endswith(".json") or text.lstrip().startswith("{"):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise CalibrationFormatError(f"{path}: not valid JSON ({e})") from None
        if not isinstance(doc, dict) or doc.get("kind") != "calibration":
            raise CalibrationFormatError(f"{path}: a calibration JSON file has \"kind\": \"calibration\"")
        return from_json(path, doc)
    return from_markdown(path, text)


def to_json(c: Calibration) -> dict:
    """The documented JSON form (schema 1) of a calibration, e.g. converted from the Markdown report."""
    def clean(v):
        return None if isinstance(v, float) and not math.isfinite(v) else v
    return {
        "kind": "calibration", "schema": 1, **c.provenance,
        "objective": {"start": clean(c.objective_start), "fitted": clean(c.objective_fitted)},
        "evaluations": c.evaluations, "stop": c.stop,
        "targets": [{"name": t.name, "moment": t.moment, "value": clean(t.value), "tolerance": clean(t.tolerance),
                     "se": clean(t.se), "simulated_mean": clean(t.simulated_mean), "within": t.within,
                     "source": t.source, "start_mean": clean(t.start_mean)} for t in c.targets],
        "parameters": [{"key": p.key, "min": clean(p.min), "max": clean(p.max), "start": clean(p.start),
                        "fitted": clean(p.fitted), "se": clean(p.se), "log": p.log, "in_overlay": p.in_overlay}
                       for p in c.parameters],
        "history": [{"objective": clean(h)} for h in c.history],
    }
