"""The run file of the small scenario against docs/hdf5-layout.json and docs/hdf5-layout.md.

Only structure and identities are tested, never the model's numbers.
"""
import os
import re
import signal
import subprocess
import time

import h5py
import numpy as np
import pytest
import yaml

import layout_check
from conftest import BINARY, run_talentsim

KINDS = {"group", "dataset", "attribute"}
DTYPES = {"string", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"}


# ----------------------------------------------------------------------------- helpers
def strings(ds):
    v = ds.asstr()[()]
    return [str(x) for x in v] if isinstance(v, np.ndarray) else str(v)


def names(h5, key):
    return strings(h5["dims"][key])


def config_of(h5):
    return yaml.safe_load(strings(h5["metadata/resolved_config"]))


def expect_snapshots(h5, config):
    snaps = ((config or {}).get("output") or {}).get("snapshots") or []
    last = int(h5.attrs["last_step"])
    return any(0 <= int(s) <= last for s in snaps)


def col(h5, key, name):
    return names(h5, key).index(name)


# ----------------------------------------------------------------------------- the documents themselves
def test_layout_json_is_well_formed(layout):
    assert set(layout) >= {"dimensions", "objects", "placeholders"}
    dims = layout["dimensions"]
    bad = []
    for path, spec in layout["objects"].items():
        if not path.startswith("/"):
            bad.append(f"{path}: not absolute")
        if spec.get("kind") not in KINDS:
            bad.append(f"{path}: kind {spec.get('kind')!r}")
        if spec.get("kind") in ("dataset", "attribute"):
            if spec.get("dtype") not in DTYPES:
                bad.append(f"{path}: dtype {spec.get('dtype')!r}")
            if not isinstance(spec.get("dims"), list):
                bad.append(f"{path}: dims missing")
            for d in spec.get("dims", []):
                if not isinstance(d, int) and d not in dims:
                    bad.append(f"{path}: unknown dimension {d!r}")
        if (spec.get("kind") == "attribute") != ("@" in path):
            bad.append(f"{path}: attributes (and only they) are written PATH@NAME")
        if not spec.get("description"):
            bad.append(f"{path}: no description")
        parent = layout_check.split_path(path)[0] if "@" in path else path.rsplit("/", 1)[0] or "/"
        if parent not in layout["objects"]:
            bad.append(f"{path}: parent {parent} not documented")
    for name, spec in dims.items():
        ref = spec.get("size_from")
        if ref and ref not in layout["objects"]:
            bad.append(f"dimension {name}: size_from {ref} is not a documented object")
    assert not bad, "\n".join(bad)


def test_markdown_mentions_every_documented_path(layout, layout_md):
    missing = [p for p in layout["objects"] if p != "/" and p not in layout_md]
    assert not missing, "paths in hdf5-layout.json but not in hdf5-layout.md:\n" + "\n".join(missing)


def test_markdown_paths_are_in_the_json(layout, layout_md):
    roots = "series|events|firms|dims|metadata|cohorts|poaching|snapshots"
    mentioned = set(re.findall(r"`(/(?:%s)(?:/[A-Za-z0-9_]+)*(?:@[A-Za-z_]+)?)`" % roots, layout_md))
    unknown = sorted(p for p in mentioned if p not in layout["objects"])
    assert not unknown, "paths in hdf5-layout.md that hdf5-layout.json does not list:\n" + "\n".join(unknown)


# ----------------------------------------------------------------------------- file vs layout, both ways
def test_every_documented_object_exists_with_its_type_and_shape(h5, layout):
    config = config_of(h5)
    errors = layout_check.check_documented(h5, layout, config, expect_snapshots(h5, config))
    assert not errors, "file differs from docs/hdf5-layout.json:\n" + "\n".join(errors)


def test_every_object_in_the_file_is_documented(h5, layout):
    errors = layout_check.check_undocumented(h5, layout)
    assert not errors, "\n".join(errors)


def test_step_dimension_is_the_number_of_steps_run(h5, layout):
    steps = int(h5.attrs["last_step"]) + 1
    step_objs = [p for p, s in layout["objects"].items() if s.get("dims", [None])[:1] == ["step"]]
    assert step_objs
    for p in step_objs:
        assert h5[p].shape[0] == steps, p
        assert h5[p].maxshape[0] is None, f"{p} is not extendable"


def test_snapshot_groups_are_the_configured_steps(h5):
    config = config_of(h5)
    last = int(h5.attrs["last_step"])
    want = sorted({int(s) for s in config["output"].get("snapshots") or [] if 0 <= int(s) <= last})
    have = sorted(int(k[len("step_"):]) for k in h5["snapshots"]) if "snapshots" in h5 else []
    assert have == want
    for k in (h5["snapshots"] if "snapshots" in h5 else []):
        assert re.fullmatch(r"step_[0-9]{6}", k)


# ----------------------------------------------------------------------------- root attributes and metadata
def test_root_attributes(h5, scenario_path):
    a = h5.attrs
    assert a["creator"] == "talentsim"
    assert a["status"] == "complete"
    assert int(a["steps_planned"]) >= 1
    assert int(a["last_step"]) == int(a["steps_planned"]) - 1
    scenario = yaml.safe_load(scenario_path.read_text())
    config = config_of(h5)
    assert int(a["seed"]) == int(config["run"]["seed"])
    if (scenario.get("run") or {}).get("seed") is not None:
        assert int(a["seed"]) == int(scenario["run"]["seed"])
    if (scenario.get("run") or {}).get("steps") is not None:
        assert int(a["steps_planned"]) == int(scenario["run"]["steps"])
    assert int(a["threads"]) >= 1
    assert re.fullmatch(r"\d{4}-\d{2}", a["start_month"])
    assert a["start_month"] == str(config["run"]["start"])
    for k in ("start_time", "end_time"):
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", a[k]), k
    assert a["start_time"] <= a["end_time"]
    assert a["version"] and a["git_commit"]
    assert a["layout"] == "docs/hdf5-layout.md"


def test_scenario_yaml_is_the_scenario_file_verbatim(h5, scenario_path):
    text = scenario_path.read_text(encoding="utf-8")
    assert strings(h5["metadata/scenario_yaml"]) == text
    paths = strings(h5["metadata/source_paths"])
    texts = strings(h5["metadata/source_texts"])
    assert len(paths) == len(texts) >= 1
    assert texts[0] == text
    assert os.path.samefile(paths[0], scenario_path) or paths[0].endswith(scenario_path.name)
    assert strings(h5["metadata/scenario_path"]) == paths[0]
    assert strings(h5["metadata/overrides"]) == []
    assert "run" in strings(h5["metadata/command_line"])


def test_resolved_config(h5, scenario_path):
    text = strings(h5["metadata/resolved_config"])
    assert "population:" in text
    config = yaml.safe_load(text)
    assert isinstance(config, dict)
    for key in ("run", "regions", "population", "market", "firms", "output"):
        assert key in config, key
    assert list(config["regions"]) == names(h5, "regions")
    assert int(config["run"]["steps"]) == int(h5.attrs["steps_planned"])
    assert len(config["firms"]) == int(h5["firms/group"][()].max()) + 1
    # It is what `talentsim config` prints for the same scenario.
    proc = run_talentsim(["config", scenario_path])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == text


def test_dims_names(h5):
    regions = names(h5, "regions")
    assert len(regions) == len(set(regions)) >= 1
    assert names(h5, "tiers") == ["regular", "top", "elite"]
    assert names(h5, "percentiles") == ["p10", "p25", "p50", "p75", "p90"]
    assert names(h5, "statuses") == ["citizen", "permanent_resident", "work_visa", "student_visa", "none"]
    for key in ("visa_stats", "market_stats", "event_kinds"):
        v = names(h5, key)
        assert len(v) == len(set(v)) >= 1, key
    for needed in ("employed", "unemployed", "job_to_job_moves"):
        assert needed in names(h5, "market_stats")


def test_firm_table(h5):
    regions = set(names(h5, "regions"))
    name = strings(h5["firms/name"])
    assert len(name) == len(set(name)), "firm names are not unique"
    assert set(strings(h5["firms/hq"])) <= regions
    assert set(strings(h5["firms/controlled_by"])) <= regions
    assert set(strings(h5["firms/kind"])) <= {"frontier_lab", "big_tech", "startup", "academia"}
    assert (h5["firms/group"][()] >= 0).all()
    assert (h5["firms/max_package"][()] > 0).all()


# ----------------------------------------------------------------------------- series identities
def test_step_and_month_columns(h5):
    n = int(h5.attrs["last_step"]) + 1
    assert (h5["series/step"][()] == np.arange(n)).all()
    y0, m0 = map(int, h5.attrs["start_month"].split("-"))
    k = y0 * 12 + (m0 - 1) + np.arange(n)
    assert (h5["series/month"][()] == (k // 12) * 100 + k % 12 + 1).all()


def test_stocks_sum_to_employed_plus_unemployed(h5):
    stocks = h5["series/stocks"][()]
    market = h5["series/market"][()]
    emp, unemp = col(h5, "market_stats", "employed"), col(h5, "market_stats", "unemployed")
    assert (stocks.sum(axis=(1, 2, 3)) == market[:, emp] + market[:, unemp]).all()
    assert (h5["series/firm_headcount"][()].sum(axis=1) == market[:, emp]).all()


def test_counts_are_non_negative(h5):
    for key in ("stocks", "flows", "visa", "market", "firm_headcount", "firm_elite"):
        assert (h5["series"][key][()] >= 0).all(), key
    assert (h5["series/firm_vacancies"][()] >= -1).all()
    for key in ("output_by_region", "output_by_origin", "hc_output_by_region", "hc_output_by_origin",
                "firm_output", "firm_hc_output", "firm_wage_bill", "firm_compute_per_researcher"):
        v = h5["series"][key][()]
        assert np.isfinite(v).all() and (v >= 0).all(), key


def test_flows_have_no_diagonal(h5):
    flows = h5["series/flows"][()]
    assert (np.einsum("tii->t", flows) == 0).all()


def test_output_totals_agree(h5):
    s = h5["series"]
    # Region and origin totals are sums of per-researcher credits rounded to 2^-20 papers (fixed point,
    # deterministic), so they match the firm totals to within half a unit per employed researcher.
    employed = s["market"][:, col(h5, "market_stats", "employed")].astype(float)
    atol = employed * 2.0 ** -21 + 1e-9
    tot = s["output_by_region"][()].sum(axis=1)
    hc = s["hc_output_by_region"][()].sum(axis=1)
    np.testing.assert_allclose(s["output_by_origin"][()].sum(axis=1), tot, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(s["hc_output_by_origin"][()].sum(axis=1), hc, rtol=1e-12, atol=1e-9)
    assert (np.abs(s["firm_output"][()].sum(axis=1) - tot) <= atol).all()
    assert (np.abs(s["firm_hc_output"][()].sum(axis=1) - hc) <= atol).all()
    assert (hc <= tot + 1e-9).all()
    assert (s["firm_hc_output"][()] <= s["firm_output"][()] * (1 + 1e-12) + 1e-12).all()


def test_pay_percentiles_are_ordered(h5):
    pp = h5["series/pay_percentiles"][()]  # [step, tier, region, percentile]
    ok = ~np.isnan(pp)
    # A cell is either all NaN (nobody employed) or fully defined.
    assert (ok.all(axis=-1) | (~ok).all(axis=-1)).all()
    v = pp[ok.all(axis=-1)]
    assert (v > 0).all()
    assert (np.diff(v, axis=-1) >= -1e-9 * v[:, 1:]).all()
    assert h5["series/pay_percentiles"].attrs["units"] == "USD per year"


# ----------------------------------------------------------------------------- event log
def test_event_log_columns(h5):
    ev = h5["events"]
    cols = {k: ev[k][()] for k in ev}
    lengths = {k: len(v) for k, v in cols.items()}
    assert len(set(lengths.values())) == 1, lengths
    assert ev.attrs["level"] in ("all", "top", "none")
    n = lengths["step"]
    if ev.attrs["level"] == "none":
        assert n == 0
        return
    last = int(h5.attrs["last_step"])
    R, F = len(names(h5, "regions")), len(h5["firms/name"])
    assert (cols["kind"] < len(names(h5, "event_kinds"))).all()
    assert ((cols["step"] >= 0) & (cols["step"] <= last)).all()
    assert (np.diff(cols["step"]) >= 0).all(), "events are not in step order"
    for k in ("from_region", "to_region"):
        assert (cols[k] < R).all(), k
    for k in ("from_firm", "to_firm"):
        assert ((cols[k] >= -1) & (cols[k] < F)).all(), k
    for k in ("pay_before", "pay_after"):
        assert np.isfinite(cols[k]).all() and (cols[k] >= 0).all(), k


def _event_counts(h5, kinds, T):
    kind_names = names(h5, "event_kinds")
    k = h5["events/kind"][()]
    st = h5["events/step"][()]
    return {name: np.bincount(st[k == kind_names.index(name)], minlength=T) for name in kinds}


def test_event_log_matches_the_counters(h5):
    if h5["events"].attrs["level"] != "all":
        pytest.skip("identities need output.event_log: all")
    T = int(h5.attrs["last_step"]) + 1
    kind_names = names(h5, "event_kinds")
    k = h5["events/kind"][()]
    st = h5["events/step"][()]
    fr, to = h5["events/from_region"][()], h5["events/to_region"][()]
    R = len(names(h5, "regions"))
    # flows = region-changing hires, moves, relocations and forced departures
    sel = np.isin(k, [kind_names.index(x) for x in ("hire", "move", "relocation", "forced_departure")]) & (fr != to)
    flows = np.zeros((T, R, R), dtype=np.int64)
    np.add.at(flows, (st[sel], fr[sel], to[sel]), 1)
    assert (flows == h5["series/flows"][()]).all()
    # market counters
    market = h5["series/market"][()]
    pairs = {"entrants": "entry", "exits": "exit", "hires_from_unemployment": "hire",
             "job_to_job_moves": "move", "counteroffer_raises": "counter_raise", "relocations": "relocation"}
    counts = _event_counts(h5, pairs.values(), T)
    for stat, kind in pairs.items():
        assert (market[:, col(h5, "market_stats", stat)] == counts[kind]).all(), stat
    # visa statistics (summed over destinations and origins)
    visa = h5["series/visa"][()].sum(axis=(1, 2))
    vpairs = {"applications": "visa_petition", "approvals": "visa_approved", "denials": "visa_denied",
              "lottery_losses": "visa_lottery_lost", "expiries": "visa_expired", "renewals": "visa_renewed",
              "permanent_residency": "permanent_residency", "forced_departures": "forced_departure"}
    counts = _event_counts(h5, vpairs.values(), T)
    for stat, kind in vpairs.items():
        assert (visa[:, col(h5, "visa_stats", stat)] == counts[kind]).all(), stat


# ----------------------------------------------------------------------------- poaching
def test_poaching_table(h5):
    p = h5["poaching"]
    a, b, c = p["from_firm"][()], p["to_firm"][()], p["count"][()]
    assert len(a) == len(b) == len(c)
    F = len(h5["firms/name"])
    assert ((a >= 0) & (a < F) & (b >= 0) & (b < F)).all()
    assert (c > 0).all()
    assert (a != b).all()
    keys = list(zip(a.tolist(), b.tolist()))
    assert keys == sorted(set(keys)), "pairs are not unique and sorted"
    jj = h5["series/market"][:, col(h5, "market_stats", "job_to_job_moves")]
    assert c.sum() == jj.sum()


# ----------------------------------------------------------------------------- cohorts
def _check_rates(rate, base, M, what):
    # rate: [mark, years, ...]; base: [mark, ...]
    K1 = rate.shape[1]
    for m in range(M):
        for k in range(K1):
            r = rate[m, k]
            undefined = (m + k >= M) | (base[m] == 0)
            assert np.isnan(r[undefined]).all(), f"{what}: mark {m}, k {k}: values where undefined"
            assert not np.isnan(r[~undefined]).any(), f"{what}: mark {m}, k {k}: NaN where defined"
            d = r[~undefined]
            assert ((d >= 0) & (d <= 1)).all(), f"{what}: outside [0, 1]"
            if k == 0:
                assert (d == 1).all(), f"{what}: rate at k = 0 is not 1"
            else:
                prev = rate[m, k - 1][~undefined]
                assert (d <= prev + 1e-12).all(), f"{what}: increases from k = {k - 1} to {k}"


def test_cohort_tables(h5):
    c = h5["cohorts"]
    last = int(h5.attrs["last_step"])
    marks = c["mark_step"][()]
    assert (marks == np.arange(0, last + 1, 12)).all()
    M = len(marks)
    config = config_of(h5)
    K = int(config["output"]["max_cohort_years"])
    stocks = h5["series/stocks"][()]
    assert (c["region_base"][()] == stocks[marks].sum(axis=3)).all()
    assert (c["firm_base"][()] == h5["series/firm_headcount"][()][marks]).all()
    rate = c["region_stay_rate"][()]
    assert rate.shape[:2] == (M, K + 1)
    _check_rates(rate, c["region_base"][()], M, "region_stay_rate")
    _check_rates(c["firm_retention"][()], c["firm_base"][()], M, "firm_retention")
    assert list(c["region_stay_rate"].attrs["dims"]) == ["mark", "years", "region", "origin"]


# ----------------------------------------------------------------------------- snapshots
def test_snapshots_match_the_stocks(h5):
    if "snapshots" not in h5:
        pytest.skip("no snapshots configured")
    R, F = len(names(h5, "regions")), len(h5["firms/name"])
    stocks = h5["series/stocks"][()]
    for key, g in h5["snapshots"].items():
        t = int(key[len("step_"):])
        loc, org, tier = g["location"][()], g["origin"][()], g["tier"][()]
        counts = np.zeros((R, R, 3), dtype=np.int64)
        np.add.at(counts, (loc, org, tier), 1)
        assert (counts == stocks[t]).all(), key
        emp = g["employer"][()]
        assert ((emp >= -1) & (emp < F)).all()
        assert ((emp >= 0).sum()) == h5["series/market"][t, col(h5, "market_stats", "employed")]
        assert (g["status"][()] < len(names(h5, "statuses"))).all()
        assert len(np.unique(g["researcher"][()])) == len(g["researcher"])
        assert (g["comp"][()][emp < 0] == 0).all()


# ----------------------------------------------------------------------------- an interrupted run
def test_interrupted_run_is_marked_and_still_matches_the_layout(tmp_path, scenario_path, layout):
    """SIGINT during a long run: the file is finished with status 'interrupted' and the documented layout."""
    if not BINARY.is_file():
        pytest.fail(f"talentsim binary not found at {BINARY}")
    out = tmp_path / "interrupted.h5"
    proc = subprocess.Popen([str(BINARY), "run", str(scenario_path), "-o", str(out), "--quiet", "--steps", "100000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not any(".partial-" in p.name for p in tmp_path.iterdir()):
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        time.sleep(1.0)  # let it run a few steps (and install its signal handler)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert out.is_file()
    assert not [p.name for p in tmp_path.iterdir() if ".partial-" in p.name]
    with h5py.File(out, "r") as f:
        assert f.attrs["status"] == "interrupted"
        last = int(f.attrs["last_step"])
        assert 0 <= last < 100000 - 1
        assert f["series/step"].shape[0] == last + 1
        assert len(f["cohorts/mark_step"]) == last // 12 + 1
        config = config_of(f)
        errors = layout_check.check_documented(f, layout, config, expect_snapshots(f, config))
        errors += layout_check.check_undocumented(f, layout)
        assert not errors, "\n".join(errors)
