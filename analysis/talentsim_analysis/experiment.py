"""Reading a sweep file (`talentsim sweep` / `talentsim compare`; layout: docs/experiments.md).

    from talentsim_analysis import load_experiment
    e = load_experiment("comp_sweep.h5")
    e.results        # one row per run: run, point, replication, variant, seed, status, seconds,
                     # host, error, one column per parameter (user's units), one per outcome
    e.summaries      # long: variant, point, parameters..., outcome, n, mean, sd, lo, hi
    e.differences    # long: variant (each but the base), point, parameters..., outcome, n, mean, sd, lo, hi
    e.indices        # long: method (sobol | morris), variant, outcome, parameter, index, value, lo, hi, n

The frames hold the same columns as the CSV files of `talentsim export OUT.h5 --csv DIR`
(results = outcomes.csv).
"""
from __future__ import annotations

from typing import Dict, List

import h5py
import numpy as np
import pandas as pd

from .run import _attr, _strings

RUN_COLUMNS = ["run", "point", "replication", "variant", "seed", "status", "seconds", "host", "error"]
STAT_COLUMNS = ["n", "mean", "sd", "lo", "hi"]


class Experiment:
    """One sweep file in memory.

    Attributes (filled by `load_experiment`):
      path          file name
      attrs         root attributes (kind "sweep", status, runs, runs_done, runs_failed, design, seeds, ...)
      metadata      /metadata as str or list of str (experiment_yaml, source_paths, notes, ...)
      parameters    parameter keys (scenario key paths), in design order
      outcomes      outcome names
      labels, scale, digits   the outcomes' display settings
      variants      variant names; variants[0] is the base
      design        DataFrame, one row per point: point, one column per parameter (numbers in the
                    user's units; text values, e.g. a retention rule, as text)
      unit          numpy array [point, parameter]: the design's unit-cube coordinates
      runs          DataFrame of the runs table (RUN_COLUMNS)
      values        numpy array [run, outcome]
      results, summaries, differences, indices   tidy frames (see the module docstring)
    """

    def __init__(self, path: str):
        self.path = str(path)
        with h5py.File(self.path, "r") as f:
            self.attrs = {k: _attr(v) for k, v in f.attrs.items()}
            if self.attrs.get("kind") != "sweep":
                raise ValueError(f"{self.path} is not a sweep file (talentsim sweep / compare write those)")
            self.metadata = {k: _strings(v) for k, v in f["metadata"].items()}
            statuses = _strings(f["dims/run_statuses"])
            d = f["design"]
            self.parameters: List[str] = _strings(d["parameters"])
            numeric = d["numeric"][()].astype(bool)
            values = d["values"][()]
            text = d["text"].asstr()[()] if len(self.parameters) else np.empty((values.shape[0], 0), dtype=object)
            self.unit: np.ndarray = d["unit"][()]
            n_points = int(self.attrs["points"])
            cols: Dict[str, object] = {"point": np.arange(n_points)}
            for j, p in enumerate(self.parameters):
                cols[p] = values[:, j] if numeric[j] else [str(x) for x in text[:, j]]
            self.design = pd.DataFrame(cols)
            o = f["outcomes"]
            self.outcomes: List[str] = _strings(o["names"])
            self.labels: List[str] = _strings(o["labels"])
            self.scale: np.ndarray = o["scale"][()]
            self.digits: np.ndarray = o["digits"][()]
            self.values: np.ndarray = o["values"][()].reshape(-1, len(self.outcomes))
            self.variants: List[str] = _strings(f["variants/name"])
            r = f["runs"]
            self.runs = pd.DataFrame({
                "run": r["id"][()],
                "point": r["point"][()],
                "replication": r["replication"][()],
                "variant": pd.Categorical.from_codes(r["variant"][()], categories=self.variants),
                "seed": r["seed"][()],
                "status": pd.Categorical.from_codes(r["status"][()].astype(int), categories=statuses),
                "seconds": r["seconds"][()],
                "host": _strings(r["host"]),
                "error": _strings(r["error"]),
            })
            self._summary = {k: v[()] for k, v in f["summary"].items()} if "summary" in f else None
            self._differences = {k: v[()] for k, v in f["differences"].items() if k != "variants"} if "differences" in f else None
            self._sobol = {k: v[()] for k, v in f["sensitivity/sobol"].items()} if "sensitivity/sobol" in f else None
            self._morris = {k: v[()] for k, v in f["sensitivity/morris"].items()} if "sensitivity/morris" in f else None

    def __repr__(self) -> str:
        return (f"<Experiment {self.path!r}: {len(self.design)} points × {self.attrs.get('replications')} replications × "
                f"{len(self.variants)} variants = {len(self.runs)} runs, design {self.attrs.get('design')}, "
                f"{len(self.outcomes)} outcomes, status={self.attrs.get('status')}>")

    @property
    def complete(self) -> bool:
        return self.attrs.get("status") == "complete"

    @property
    def results(self) -> pd.DataFrame:
        """One row per run: the runs table, its point's parameter values and its outcomes (NaN
        for runs that are pending or failed)."""
        df = self.runs.merge(self.design, on="point", how="left")
        for k, name in enumerate(self.outcomes):
            df[name] = self.values[:, k]
        return df

    def _stats(self, data, variants: List[str]) -> pd.DataFrame:
        if data is None:
            return pd.DataFrame(columns=["variant", "point", *self.parameters, "outcome", *STAT_COLUMNS])
        V, P, K = len(variants), len(self.design), len(self.outcomes)
        v, p, k = np.meshgrid(np.arange(V), np.arange(P), np.arange(K), indexing="ij")
        df = pd.DataFrame({
            "variant": pd.Categorical.from_codes(v.ravel(), categories=variants),
            "point": p.ravel(),
            "outcome": pd.Categorical.from_codes(k.ravel(), categories=self.outcomes),
        })
        for c in STAT_COLUMNS:
            df[c] = data[c].reshape(-1)
        df = df.merge(self.design, on="point", how="left")
        return df[["variant", "point", *self.parameters, "outcome", *STAT_COLUMNS]]

    @property
    def summaries(self) -> pd.DataFrame:
        """Per variant, point and outcome: n, mean, sd and the 95% t interval [lo, hi] of the mean
        over the replications (empty until the sweep is complete)."""
        return self._stats(self._summary, self.variants)

    @property
    def differences(self) -> pd.DataFrame:
        """Per variant (but the base), point and outcome: the paired differences variant − base
        over the replications (same seed), with n, mean, sd and the 95% t interval."""
        return self._stats(self._differences, self.variants[1:])

    @property
    def indices(self) -> pd.DataFrame:
        """Sensitivity indices: sobol S1 and ST (with 95% bootstrap intervals), morris mu_star
        (with its interval), mu and sigma; one row per method, variant, outcome, parameter, index."""
        rows = []
        K, k = len(self.outcomes), len(self.parameters)

        def emit(method, index, value, lo, hi, n):
            for a in range(len(self.variants)):
                for o in range(K):
                    for j in range(k):
                        rows.append((method, self.variants[a], self.outcomes[o], self.parameters[j], index,
                                     value[a, o, j], np.nan if lo is None else lo[a, o, j],
                                     np.nan if hi is None else hi[a, o, j], n[a, o]))

        if self._sobol is not None:
            s = self._sobol
            emit("sobol", "S1", s["S1"], s["S1_lo"], s["S1_hi"], s["n"])
            emit("sobol", "ST", s["ST"], s["ST_lo"], s["ST_hi"], s["n"])
        if self._morris is not None:
            m = self._morris
            emit("morris", "mu_star", m["mu_star"], m["mu_star_lo"], m["mu_star_hi"], m["n"])
            emit("morris", "mu", m["mu"], None, None, m["n"])
            emit("morris", "sigma", m["sigma"], None, None, m["n"])
        return pd.DataFrame(rows, columns=["method", "variant", "outcome", "parameter", "index", "value", "lo", "hi", "n"])


def load_experiment(path) -> Experiment:
    """Reads a sweep file written by `talentsim sweep` or `talentsim compare`."""
    return Experiment(path)
