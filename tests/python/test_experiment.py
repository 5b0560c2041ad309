"""Sweep files (talentsim sweep / compare / export) read with talentsim_analysis.load_experiment.

The frames are checked against the raw HDF5 arrays and against statistics recomputed here
with pandas and scipy, never against the model's numbers.
"""
import hashlib
import math
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats
from scipy.stats import qmc

from conftest import ANALYSIS_DIR, BINARY, SOURCE_DIR, run_talentsim

import talentsim_analysis as ta

SMALL = SOURCE_DIR / "tests" / "data" / "scenarios" / "small.yaml"

EXPERIMENT = f"""
base: {SMALL}
seed: 3
replications: 3
steps: 12
parameters:
  firms.Meta.pay.max_package: {{values: [1e6, 1e8]}}
  firms.OpenAI.retention.rule: {{values: [none, bertrand]}}
variants:
  lam: {{set: [market.lambda1=0.05]}}
outcomes:
  meta_elite: {{metric: firm_count, firm: Meta, tier: elite}}
  us_top_share: {{metric: share, location: US, tier: [top, elite], scale: 100, digits: 2}}
  net_us_cn_top: {{metric: net_flow, from: US, to: CN, tier: [top, elite]}}
  us_top_pay: {{metric: pay_percentile, location: US, tier: [top, elite], percentile: 50}}
"""


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    d = tmp_path_factory.mktemp("sweep")
    (d / "exp.yaml").write_text(EXPERIMENT)
    out = d / "out.h5"
    proc = run_talentsim(["sweep", d / "exp.yaml", "-o", out, "--jobs", "2", "--threads", "2"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.fixture(scope="module")
def exp(sweep):
    return ta.load_experiment(sweep)


def test_frames_hold_the_raw_arrays(exp, sweep):
    with h5py.File(sweep, "r") as f:
        values = f["outcomes/values"][()]
        status = f["runs/status"][()]
        seeds = f["runs/seed"][()]
        points = f["runs/point"][()]
        text = f["design/text"].asstr()[()]
    assert exp.complete
    assert exp.outcomes == ["meta_elite", "us_top_share", "net_us_cn_top", "us_top_pay"]
    assert exp.parameters == ["firms.Meta.pay.max_package", "firms.OpenAI.retention.rule"]
    assert exp.variants == ["small", "lam"]
    assert len(exp.design) == 4 and len(exp.runs) == 4 * 3 * 2
    r = exp.results
    assert list(r.columns) == ta.experiment.RUN_COLUMNS + exp.parameters + exp.outcomes
    assert (r["status"] == "done").all() and (status == 1).all()
    np.testing.assert_array_equal(r[exp.outcomes].to_numpy(), values)
    np.testing.assert_array_equal(r["seed"].to_numpy(), seeds)
    # parameters in the user's units: numbers as numbers, rule names as text
    assert r["firms.Meta.pay.max_package"].dtype.kind == "f"
    np.testing.assert_array_equal(r["firms.OpenAI.retention.rule"].to_numpy(), text[points, 1])
    assert set(r["firms.Meta.pay.max_package"]) == {1e6, 1e8}
    assert "Experiment" in repr(exp)


def test_seeds_pair_replications(exp):
    r = exp.results
    # common random numbers: one seed per replication, whatever the point and variant
    per_rep = r.groupby("replication")["seed"].nunique()
    assert (per_rep == 1).all()
    assert r.groupby("replication")["seed"].first().nunique() == 3


def test_summaries_are_the_replications_mean_sd_and_t_interval(exp):
    r, s = exp.results, exp.summaries
    assert len(s) == 2 * 4 * 4
    for (variant, point), g in r.groupby(["variant", "point"], observed=True):
        for o in exp.outcomes:
            x = g[o].dropna().to_numpy()
            row = s[(s.variant == variant) & (s.point == point) & (s.outcome == o)].iloc[0]
            assert row["n"] == len(x)
            assert row["mean"] == pytest.approx(x.mean(), rel=1e-12, abs=1e-12)
            sd = x.std(ddof=1)
            assert row["sd"] == pytest.approx(sd, rel=1e-9, abs=1e-12)
            half = stats.t.ppf(0.975, len(x) - 1) * sd / math.sqrt(len(x))
            assert row["lo"] == pytest.approx(x.mean() - half, rel=1e-9, abs=1e-9)
            assert row["hi"] == pytest.approx(x.mean() + half, rel=1e-9, abs=1e-9)
            assert row["firms.OpenAI.retention.rule"] in ("none", "bertrand")


def test_differences_are_paired_by_replication(exp):
    r, d = exp.results, exp.differences
    assert set(d["variant"]) == {"lam"}
    wide = r.pivot_table(index=["point", "replication"], columns="variant", values=exp.outcomes, observed=True)
    for o in exp.outcomes:
        diff = (wide[(o, "lam")] - wide[(o, "small")]).groupby(level="point")
        for point, x in diff:
            row = d[(d.point == point) & (d.outcome == o)].iloc[0]
            assert row["mean"] == pytest.approx(x.mean(), rel=1e-9, abs=1e-9)
            assert row["n"] == x.count()
    # a higher offer rate changes something: the paired differences are not all zero
    assert (d["mean"].abs() > 0).any()


def test_export_csv_has_the_frames(exp, sweep, tmp_path):
    proc = run_talentsim(["export", sweep, "--csv", tmp_path / "csv"])
    assert proc.returncode == 0, proc.stderr
    out = pd.read_csv(tmp_path / "csv" / "outcomes.csv", float_precision="round_trip")
    r = exp.results
    assert list(out.columns) == list(r.columns)
    np.testing.assert_allclose(out[exp.outcomes].to_numpy(), r[exp.outcomes].to_numpy(), rtol=1e-15)
    assert list(out["variant"]) == list(r["variant"].astype(str))
    assert list(out["seed"]) == list(r["seed"])
    summ = pd.read_csv(tmp_path / "csv" / "summaries.csv", float_precision="round_trip")
    np.testing.assert_allclose(summ["mean"].to_numpy(), exp.summaries["mean"].to_numpy(), rtol=1e-15)
    diff = pd.read_csv(tmp_path / "csv" / "differences.csv", float_precision="round_trip")
    np.testing.assert_allclose(diff["hi"].to_numpy(), exp.differences["hi"].to_numpy(), rtol=1e-15)
    design = pd.read_csv(tmp_path / "csv" / "design.csv", float_precision="round_trip")
    pd.testing.assert_frame_equal(design, exp.design, check_dtype=False)


def test_saltelli_sweep_has_sobol_indices(tmp_path):
    (tmp_path / "s.yaml").write_text(f"""
base: {SMALL}
steps: 12
parameters:
  market.lambda1: {{range: [0.01, 0.04], scale: log}}
  market.utility.noise: {{range: [0.05, 0.3]}}
design: {{kind: saltelli, n: 4, bootstrap: 50}}
outcomes:
  j2j: {{metric: market, stat: job_to_job_moves}}
""")
    proc = run_talentsim(["sweep", tmp_path / "s.yaml", "-o", tmp_path / "s.h5", "--quiet"])
    assert proc.returncode == 0, proc.stderr
    e = ta.load_experiment(tmp_path / "s.h5")
    assert len(e.design) == 4 * (2 + 2)
    idx = e.indices
    assert set(idx["index"]) == {"S1", "ST"} and set(idx["method"]) == {"sobol"}
    assert len(idx) == 2 * 2
    with h5py.File(tmp_path / "s.h5", "r") as f:
        np.testing.assert_array_equal(idx[idx["index"] == "ST"]["value"].to_numpy(), f["sensitivity/sobol/ST"][0, 0, :])
    # the log-scaled parameter stays in its range; A_B^i takes column i from B
    lam = e.design["market.lambda1"].to_numpy().reshape(4, 4)
    assert ((lam >= 0.01) & (lam <= 0.04)).all()
    u = e.unit.reshape(4, 4, 2)
    np.testing.assert_array_equal(u[:, 1, 0], u[:, 3, 0])  # A_B^1: column 0 from B
    np.testing.assert_array_equal(u[:, 1, 1], u[:, 0, 1])  # ... column 1 from A


def test_sobol_design_is_scipys_sobol_sequence_in_100_dimensions(tmp_path):
    """Joe–Kuo direction numbers of all 100 dimensions against scipy.stats.qmc.Sobol (unscrambled)."""
    regions = ["US", "CN", "EU", "UK", "CA", "IN", "ROW"]
    keys = [f"regions.{d}.visa_by_origin.{o}.{field}" for field in ("approval", "renewal") for d in regions for o in regions]
    keys += ["regions.US.visa.approval", "regions.CN.visa.approval"]
    assert len(keys) == 100
    lines = [f"base: {SMALL}", "steps: 12", "parameters:"] + [f"  {k}: {{range: [0, 1]}}" for k in keys]
    lines += ["design: {kind: sobol, n: 256, skip: 0}", "outcomes: {j2j: {metric: market, stat: job_to_job_moves}}"]
    (tmp_path / "d.yaml").write_text("\n".join(lines) + "\n")
    proc = run_talentsim(["sweep", tmp_path / "d.yaml", "--dry-run"], timeout=600)
    assert proc.returncode == 0, proc.stderr
    from io import StringIO
    got = pd.read_csv(StringIO(proc.stdout), float_precision="round_trip").drop(columns="point").to_numpy()
    want = qmc.Sobol(d=100, scramble=False).random(256)
    np.testing.assert_array_equal(got, want)


def test_scenarios_experiment_lists_every_library_scenario(source_dir):
    spec = yaml.safe_load((source_dir / "scenarios/experiments/scenarios.yaml").read_text())
    library = sorted(p.stem for p in (source_dir / "scenarios").glob("*.yaml") if not p.name.startswith("baseline"))
    assert sorted(spec["variants"]) == library
    for name, v in spec["variants"].items():
        assert v["scenario"] == f"../{name}.yaml"


def test_scenario_table_wrapper_writes_only_where_asked(tmp_path, source_dir):
    readme, doc = source_dir / "README.md", source_dir / "docs" / "scenarios.md"
    before = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (readme, doc)]
    env = dict(os.environ, TALENTSIM_BINARY=str(BINARY))
    out = tmp_path / "table.h5"
    proc = subprocess.run([sys.executable, str(ANALYSIS_DIR / "scenario_table.py"), "--replications", "2", "--steps", "16",
                           "--set", "population.researchers=4000", "--jobs", "2", "--out", str(out)],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out.is_file()
    table = [l for l in proc.stdout.splitlines() if l.startswith("| `")]
    variants = yaml.safe_load((source_dir / "scenarios/experiments/scenarios.yaml").read_text())["variants"]
    assert len(table) == len(variants) and all("(difference)" in l for l in table)
    assert "| baseline (level, mean over seeds) |" in proc.stdout
    after = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (readme, doc)]
    assert after == before


def test_run_files_are_compressed_with_shuffle_and_deflate(h5):
    """Every numeric dataset of a run file with data is chunked, shuffled and deflated."""
    checked = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.shape and obj.size > 0 and not h5py.check_string_dtype(obj.dtype):
            assert obj.compression == "gzip", name
            assert obj.shuffle, name
            checked.append(name)

    h5.visititems(visit)
    assert any(n.startswith("events/") for n in checked) and any(n.startswith("series/") for n in checked)
    assert any(n.startswith("snapshots/") for n in checked)
