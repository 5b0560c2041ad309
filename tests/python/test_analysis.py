"""analysis/talentsim_analysis on the small scenario's run file (the report: test_report.py).

Checked against the raw HDF5 arrays, never against the model's numbers.
"""
import h5py
import numpy as np
import pandas as pd
import pytest

import talentsim_analysis as ta


@pytest.fixture(scope="module")
def run(run_file):
    return ta.load_run(run_file)


@pytest.fixture(scope="module")
def raw(run_file):
    with h5py.File(run_file, "r") as f:
        return {
            "stocks": f["series/stocks"][()],
            "flows": f["series/flows"][()],
            "market": f["series/market"][()],
            "hc_region": f["series/hc_output_by_region"][()],
            "out_region": f["series/output_by_region"][()],
            "regions": list(f["dims/regions"].asstr()[()]),
            "firms": list(f["firms/name"].asstr()[()]),
            "n_events": f["events/step"].shape[0],
            "poaching": f["poaching/count"][()],
            "stay": f["cohorts/region_stay_rate"][()],
            "base": f["cohorts/region_base"][()],
        }


def test_load_run_basics(run, raw):
    assert run.attrs["creator"] == "talentsim"
    assert run.regions == raw["regions"]
    assert run.tiers == ["regular", "top", "elite"]
    assert run.n_steps == raw["stocks"].shape[0] == int(run.attrs["last_step"]) + 1
    assert list(run.firms["name"]) == raw["firms"]
    assert len(run.dates) == run.n_steps
    assert str(run.dates[0]) == run.attrs["start_month"]
    assert "population:" in run.metadata["resolved_config"]
    assert isinstance(run.metadata["source_paths"], list)
    assert "Run" in repr(run)


def test_stocks_frame(run, raw):
    df = run.stocks
    assert list(df.columns) == ["step", "month", "location", "origin", "tier", "count"]
    R = len(run.regions)
    assert len(df) == run.n_steps * R * R * 3
    assert set(df["location"].cat.categories) == set(run.regions)
    per_step = df.groupby("step")["count"].sum().to_numpy()
    assert (per_step == raw["stocks"].sum(axis=(1, 2, 3))).all()
    m = run.market
    assert (per_step == (m["employed"] + m["unemployed"]).to_numpy()).all()
    one = df[(df.step == 0) & (df.location == run.regions[0]) & (df.origin == run.regions[-1]) & (df.tier == "top")]
    assert one["count"].item() == raw["stocks"][0, 0, R - 1, 1]


def test_other_series_frames(run, raw):
    R = len(run.regions)
    assert run.flows["count"].sum() == raw["flows"].sum()
    assert len(run.pay) == run.n_steps * 3 * R * 5
    assert set(run.pay["percentile"].cat.categories) == set(run.percentiles)
    assert len(run.visa) == run.n_steps * R * R * len(run.visa_stats)
    assert list(run.market.columns) == run.market_stats
    assert (run.market.to_numpy() == raw["market"]).all()
    out = run.outputs
    assert set(out["by"]) == {"region", "origin"}
    np.testing.assert_allclose(out[out.by == "region"]["papers"].sum(), raw["out_region"].sum())
    assert run.output_table("region", highly_cited=True).shape == (run.n_steps, R)


def test_firm_series_have_firm_names(run):
    for short in ta.FIRM_SERIES:
        df = run.firm_series(short)
        assert df.shape == (run.n_steps, len(run.firms))
        assert list(df.columns) == list(run.firms["name"])
    at = run.firms_at(-1)
    assert {"name", "elite", "headcount", "wage_bill"} <= set(at.columns)
    assert at["headcount"].sum() == run.market["employed"].iloc[-1]


def test_events_frame(run, raw):
    ev = run.events
    assert len(ev) == raw["n_events"]
    assert set(ev["kind"].dropna().unique()) <= set(run.event_kinds)
    assert not ev["kind"].isna().any()
    assert (ev["from_firm_name"].isna() == (ev["from_firm"] < 0)).all()
    named = ev[ev["to_firm"] >= 0]
    if len(named):
        assert (named["to_firm_name"].astype(str).to_numpy()
                == np.asarray(raw["firms"], dtype=object)[named["to_firm"].to_numpy()]).all()
    assert set(ev["from_region"].dropna().unique()) <= set(run.regions)


def test_poaching_frame(run, raw):
    p = run.poaching
    assert list(p.columns) == ["from_firm", "to_firm", "from_name", "to_name", "count"]
    assert p["count"].sum() == raw["poaching"].sum()
    assert (p["count"].diff().dropna() <= 0).all()
    if len(p):
        assert p["from_name"].iloc[0] == raw["firms"][p["from_firm"].iloc[0]]
    assert run.poaching_matrix().to_numpy().sum() == raw["poaching"].sum()


def test_stay_rate_tables(run, raw):
    t = run.region_stay_rates
    M = raw["stay"].shape[0]
    assert (t["mark"] + t["years"] < M).all()
    row = t[(t.mark == 0) & (t.years == 0) & (t.region == run.regions[0]) & (t.origin == run.regions[0])]
    assert row["base"].item() == raw["base"][0, 0, 0]
    us = ta.stay_curves(run, run.regions[0])
    assert list(us.columns) == run.regions
    assert len(us) == min(M, raw["stay"].shape[1])
    b = raw["base"][:, 0, :]
    assert np.allclose(us.iloc[0].to_numpy()[b.sum(axis=0) > 0], 1.0)
    first = ta.stay_curves(run, run.regions[0], mark=0)
    np.testing.assert_array_equal(first.to_numpy(), raw["stay"][0, :M, 0, :])
    assert run.firm_retention["retention"].between(0, 1).all()


def test_top_share_by_origin(run, raw):
    s = ta.top_share_by_origin(run, -1)
    assert list(s.index) == run.regions
    assert s.sum() == pytest.approx(1.0)
    top = raw["stocks"][-1][:, :, 1:].sum(axis=(0, 2))
    np.testing.assert_allclose(s.to_numpy(), top / top.sum())
    assert ta.top_share_by_origin(run, 0, tiers="elite").sum() == pytest.approx(1.0)
    loc = ta.top_share_by_origin(run, -1, location=run.regions[0])
    assert loc.sum() == pytest.approx(1.0) or np.isnan(loc).all()


def test_us_cn_output_ratio(run, raw):
    us, cn = raw["regions"].index("US"), raw["regions"].index("CN")
    want = raw["hc_region"][:, us].sum() / raw["hc_region"][:, cn].sum()
    assert ta.us_cn_output_ratio(run) == pytest.approx(want)
    steps = [0, run.n_steps - 1]
    want = raw["out_region"][steps, us].sum() / raw["out_region"][steps, cn].sum()
    assert ta.us_cn_output_ratio(run, steps, highly_cited=False) == pytest.approx(want)
    assert ta.us_cn_output_ratio(run, 0) == pytest.approx(raw["hc_region"][0, us] / raw["hc_region"][0, cn])


def test_net_flow(run, raw):
    us, cn = raw["regions"].index("US"), raw["regions"].index("CN")
    f = raw["flows"]
    assert ta.net_flow(run, "US", "CN") == f[:, us, cn].sum() - f[:, cn, us].sum()
    assert ta.net_flow(run, "CN", "US") == -ta.net_flow(run, "US", "CN")
    assert ta.net_flow(run, "US", "US") == 0
    per = ta.net_flow(run, "CN", "US", per_step=True)
    assert isinstance(per, pd.Series) and len(per) == run.n_steps
    assert per.sum() == ta.net_flow(run, "CN", "US")
    assert ta.net_flow(run, "CN", "US", cumulative=True).iloc[-1] == per.sum()


def test_elite_ranking_and_visa_helpers(run):
    r = ta.elite_ranking(run, n=5)
    assert len(r) == min(5, len(run.firms))
    assert (r["elite"].diff().dropna() <= 0).all()
    v = ta.visa_totals(run)
    assert list(v.columns) == run.visa_stats and list(v.index) == run.regions
    a = ta.approval_rate(run).dropna()
    assert a.between(0, 1).all()


def test_snapshot_reader(run):
    if not run.snapshot_steps:
        pytest.skip("no snapshots")
    t = run.snapshot_steps[-1]
    s = run.snapshot(t)
    assert len(s) == run.series["stocks"][t].sum()
    assert {"researcher", "origin_name", "employer_name", "tier_name"} <= set(s.columns)
    with pytest.raises(KeyError):
        run.snapshot(10 ** 6)


