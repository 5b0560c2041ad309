"""`talentsim report` on small files the simulator writes during the test (a run, comparisons,
sweeps, validation and calibration results, a benchmark): every figure is checked through the
data it plots (the CSV next to its PNG, or its matplotlib artists) against the raw inputs, never
against the model's numbers; broken inputs give notes, not tracebacks.

The page in a real browser: tests/python/test_report_browser.py.
"""
import html
import json
import os
import re
import shutil
import signal
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import BINARY, SCENARIO, SOURCE_DIR, run_talentsim

import talentsim_analysis as ta
from talentsim_analysis.metrics import stay_curves
from talentsim_analysis.report import run_figures as rf
from talentsim_analysis.report.calibration import read_calibration, to_json
from talentsim_analysis.report.style import REGION_COLOURS, Palette

BENCH = Path(os.environ.get("TALENTSIM_BENCH") or BINARY.parent / "benchmarks" / "talentsim_bench")


# ------------------------------------------------------------------------------------ helpers
def report(inputs, out, *extra, code=0):
    proc = run_talentsim(["report", *inputs, "-o", out, *extra])
    assert proc.returncode == code, f"exit {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def csv(out, name) -> pd.DataFrame:
    matches = sorted(Path(out, "figures").glob(f"*_{name}.csv"))
    assert matches, f"no figure {name} in {out}: {sorted(p.name for p in Path(out, 'figures').iterdir())}"
    assert len(matches) == 1, matches
    assert matches[0].with_suffix(".png").is_file()
    return pd.read_csv(matches[0], keep_default_na=False, na_values=[""])


class Page(HTMLParser):
    """The parts of index.html the tests look at."""

    def __init__(self, text):
        super().__init__()
        self.imgs, self.links, self.figures, self.sections, self.order = [], [], [], [], []
        self._in, self._buf = None, ""
        self.feed(text)
        self.text = html.unescape(re.sub(r"<[^>]+>", " ", text))

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a)
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        if tag == "section" and "id" in a:
            self.order.append(a["id"])
        if tag in ("h3", "figcaption"):
            self._in, self._buf = tag, ""

    def handle_endtag(self, tag):
        if tag == self._in:
            if tag == "h3":
                self.figures.append({"title": self._buf.strip()})
            elif self.figures:
                self.figures[-1]["caption"] = self._buf.strip()
            self._in = None

    def handle_data(self, data):
        if self._in:
            self._buf += data


def page(out) -> Page:
    return Page(Path(out, "index.html").read_text(encoding="utf-8"))


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------ inputs
@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("report_inputs")


@pytest.fixture(scope="module")
def run_report(run_file, work):
    out = work / "run_report"
    report([run_file], out)
    return out


@pytest.fixture(scope="module")
def variants(work):
    """Two scenarios on the small test world: a higher US petition fee, and every US visa approved."""
    fee = write(work / "small_fee.yaml", f"extends: {SCENARIO}\nregions: {{US: {{petition_fee: 150000}}}}\n")
    open_ = write(work / "small_open.yaml",
                  f"extends: {SCENARIO}\nregions:\n  US:\n    visa: {{approval: 1.0, processing_months: 1}}\n"
                  f"    visa_by_origin: {{CN: {{approval: 1.0, processing_months: 1}}}}\n")
    return fee, open_


@pytest.fixture(scope="module")
def comparison(work, variants):
    out = work / "cmp.h5"
    p = run_talentsim(["compare", SCENARIO, *variants, "-o", out, "--replications", "3", "--steps", "12", "--keep",
                       "series", "--set", "population.researchers=8000", "--quiet"])
    assert p.returncode == 0, p.stderr
    return out


@pytest.fixture(scope="module")
def comparison_report(comparison, work):
    out = work / "cmp_report"
    report([comparison], out)
    return out


def sweep(work, name, body, *args):
    exp = write(work / f"{name}.yaml", f"base: {SCENARIO}\nseed: 3\nset: [population.researchers=4000]\n" + body)
    out = work / f"{name}.h5"
    p = run_talentsim(["sweep", exp, "-o", out, "--quiet", *args])
    assert p.returncode == 0, p.stderr
    return out


OUTCOMES = """outcomes:
  us_top: {metric: share, location: US, tier: [top, elite], label: "US share of the top tier (pp)", scale: 100}
  unemployed: {metric: market, stat: unemployed, label: "unemployed researchers"}
"""


@pytest.fixture(scope="module")
def sweep1(work):
    return sweep(work, "sweep1", "replications: 3\nsteps: 6\nparameters:\n"
                 "  market.lambda0: {range: [0.05, 0.4], levels: 4, scale: log}\n" + OUTCOMES)


@pytest.fixture(scope="module")
def sweep2(work):
    return sweep(work, "sweep2", "replications: 2\nsteps: 6\nparameters:\n"
                 "  market.lambda0: {values: [0.08, 0.3]}\n  market.separation: {values: [0.002, 0.004, 0.01]}\n"
                 + OUTCOMES)


@pytest.fixture(scope="module")
def sweep_mixed(work):
    return sweep(work, "sweep_mixed", "replications: 2\nsteps: 6\nparameters:\n"
                 "  firms.Meta.pay.max_package: {values: [1e6, 1e8]}\n"
                 "  firms.OpenAI.retention.rule: {values: [none, match]}\n" + OUTCOMES)


@pytest.fixture(scope="module")
def sweep3(work):
    return sweep(work, "sweep3", "replications: 1\nsteps: 4\nparameters:\n"
                 "  market.lambda0: {range: [0.05, 0.4]}\n  market.lambda1: {range: [0.01, 0.04]}\n"
                 "  market.separation: {range: [0.002, 0.01]}\ndesign: {kind: lhs, n: 12}\n" + OUTCOMES)


@pytest.fixture(scope="module")
def saltelli(work):
    return sweep(work, "saltelli", "replications: 1\nsteps: 4\nparameters:\n"
                 "  market.lambda0: {range: [0.05, 0.4]}\n  market.lambda1: {range: [0.01, 0.04]}\n"
                 "  market.separation: {range: [0.002, 0.01]}\ndesign: {kind: saltelli, n: 8, bootstrap: 200}\n"
                 + OUTCOMES, "--jobs", "2")


@pytest.fixture(scope="module")
def morris(work):
    return sweep(work, "morris", "replications: 1\nsteps: 4\nparameters:\n"
                 "  market.lambda0: {range: [0.05, 0.4]}\n  market.lambda1: {range: [0.01, 0.04]}\n"
                 "  market.separation: {range: [0.002, 0.01]}\ndesign: {kind: morris, trajectories: 5, bootstrap: 200}\n"
                 + OUTCOMES, "--jobs", "2")


@pytest.fixture(scope="module")
def validation(work):
    out = {}
    for kind, sets in (("burdett_mortensen", ["population.researchers=20000", "validation.burn_in=100",
                                              "validation.window=20"]),
                       ("markov_two_region", ["validation.burn_in=60", "validation.window=20"])):
        path = work / f"{kind}.json"
        args = ["validate", SOURCE_DIR / "scenarios" / "validation" / f"{kind}.yaml", "--json", path, "--quiet"]
        for s in sets:
            args += ["--set", s]
        p = run_talentsim(args)
        assert p.returncode == 0, p.stdout + p.stderr
        out[kind] = path
    return out


@pytest.fixture(scope="module")
def calibration(work):
    d = work / "calib"
    d.mkdir()
    cal = write(d / "calib.yaml", f"""scenario: {SCENARIO}
overrides: [run.steps=3, population.researchers=5000]
replications: 2
seed: 11
weighting: diagonal
parameters:
  - {{key: regions.CN.talent_mu, min: -0.3, max: 0.8, start: 0.2}}
  - {{key: population.abroad.CN, min: 0.1, max: 0.7, start: 0.3, log: true}}
targets:
  - {{name: CN share of all researchers, moment: cn_share_all, value: 0.5, source_sd: 0.01, basis: test, source: "[A1] test"}}
  - {{name: CN share of the top tier, moment: cn_share_top, at: 0, value: 0.6238, source_sd: 0.025, basis: test,
     source: "[A2] test"}}
optimizer: {{max_evaluations: 8, initial_step: 0.1, restarts: 0}}
output: {{overlay: fitted.yaml, report: report.md}}
""")
    p = run_talentsim(["calibrate", cal, "--quiet"])
    assert p.returncode == 0, p.stdout + p.stderr
    return d / "report.md"


@pytest.fixture(scope="module")
def bench(work):
    if not BENCH.is_file():
        pytest.skip(f"talentsim_bench is not built (TALENTSIM_BUILD_BENCHMARKS=OFF): {BENCH}")
    out = work / "bench.json"
    p = subprocess.run([str(BENCH), "--smoke", "--quiet", "--scenario", str(SOURCE_DIR / "scenarios" / "baseline.yaml"),
                        "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return out


# ------------------------------------------------------------------------------------ a run
def test_run_report_page_structure(run_report, run_file):
    pg = page(run_report)
    # Summary first, then the run's section, provenance last.
    assert pg.order[0] == "summary" and pg.order[-1] == "provenance", pg.order
    assert "months simulated" in pg.text and "net top-tier moves US→CN" in pg.text
    prov = pg.text[pg.text.index("Provenance"):]
    with h5py.File(run_file) as f:
        for key in ("version", "git_commit", "seed", "status"):
            assert str(f.attrs[key]) in prov, key
    for label in ("version", "commit", "scenario", "seed", "steps", "replications", "status"):
        assert re.search(rf"\b{label}\b", prov), label
    # Every figure: a title, a caption of one or two sentences, its PNG and CSV.
    figs = sorted(p.stem for p in (run_report / "figures").glob("*.png"))
    assert len(pg.imgs) == len(figs) == len(pg.figures) == 10, figs
    for f in pg.figures:
        assert f["title"] and f["caption"], f
        caption = f["caption"].split("Data:")[0]
        assert 1 <= len(re.findall(r"[.!?](\s|$)", caption)) <= 2, caption
    for img in pg.imgs:
        assert (run_report / img["src"]).is_file() and img["alt"]
    assert all((run_report / h).is_file() for h in pg.links if h.startswith("figures/"))
    # Self-contained: nothing from the network.
    text = (run_report / "index.html").read_text()
    assert not re.search(r"(src|href)=\"(https?:)?//", text)


def test_run_stocks_and_origin_figures(run_report, run_file):
    run = ta.load_run(run_file)
    st = run.series["stocks"]
    top = [run.tiers.index("top"), run.tiers.index("elite")]
    df = csv(run_report, "stocks")
    assert set(df["region"]) == set(run.regions)
    for reg in run.regions:
        k = run.regions.index(reg)
        a = df[(df.region == reg) & (df.tier_group == "top tier (top + elite)")]
        assert len(a) == run.n_steps
        assert (a["researchers"].to_numpy() == st[:, k][:, :, top].sum(axis=(1, 2))).all()
        e = df[(df.region == reg) & (df.tier_group == "elite tier")]
        assert (e["researchers"].to_numpy() == st[:, k, :, run.tiers.index("elite")].sum(axis=1)).all()
    ol = csv(run_report, "origin_location")
    m = st[-1][:, :, top].sum(axis=2)  # [location, origin]
    for _, r in ol.iterrows():
        assert r["researchers"] == m[run.regions.index(r["location"]), run.regions.index(r["origin"])]
    sums = ol.groupby("origin")["share_of_origin"].sum()
    assert np.allclose(sums[sums > 0], 1.0)


def test_run_flow_figures(run_report, run_file):
    run = ta.load_run(run_file)
    df = csv(run_report, "flows")
    assert run.event_level == "all"
    assert set(df["tier"]) == set(run.tiers)
    # The tiers add up to the series' flows (docs/hdf5-layout.md §11).
    total = df.groupby(["from_region", "to_region"])["moves"].sum()
    series = run.series["flows"].sum(axis=0)
    for (a, b), n in total.items():
        assert n == series[run.regions.index(a), run.regions.index(b)], (a, b)
    # Net US↔CN top-tier moves: counted here from the raw event log, positive = US → CN.
    net = csv(run_report, "net_us_cn")
    assert len(net) == run.n_steps
    with h5py.File(run_file) as f:
        kinds = list(f["dims/event_kinds"].asstr()[()])
        ev = {k: f["events"][k][()] for k in ("step", "kind", "from_region", "to_region", "tier")}
    moves = np.isin(ev["kind"], [kinds.index(k) for k in ("hire", "move", "relocation", "forced_departure")])
    topm = moves & np.isin(ev["tier"], [1, 2])
    us, cn = run.regions.index("US"), run.regions.index("CN")
    us_cn = np.bincount(ev["step"][topm & (ev["from_region"] == us) & (ev["to_region"] == cn)], minlength=run.n_steps)
    cn_us = np.bincount(ev["step"][topm & (ev["from_region"] == cn) & (ev["to_region"] == us)], minlength=run.n_steps)
    assert (net["US_to_CN"].to_numpy() == us_cn).all() and (net["CN_to_US"].to_numpy() == cn_us).all()
    assert net["cumulative_net_US_to_CN"].iloc[-1] == us_cn.sum() - cn_us.sum()
    assert us_cn.sum() + cn_us.sum() > 0, "the small run should have top-tier moves between the US and CN"
    # The caption says which direction is positive, and the headline carries the same number.
    pg = page(run_report)
    cap = next(f["caption"] for f in pg.figures if f["title"].startswith("Net top-tier moves"))
    assert "from the US to CN minus moves from CN to the US" in cap and "above zero CN has gained" in cap
    assert f"{int(us_cn.sum() - cn_us.sum()):+,}" in pg.text


def test_run_pay_visa_unemployment_figures(run_report, run_file):
    run = ta.load_run(run_file)
    pay = csv(run_report, "pay")
    pp = run.series["pay_percentiles"][-1]
    assert len(pay) == len(run.tiers) * len(run.regions)
    for _, r in pay.iterrows():
        want = pp[run.tiers.index(r["tier"]), run.regions.index(r["region"])]
        got = r[["p10", "p25", "p50", "p75", "p90"]].to_numpy(float)
        assert np.allclose(got, want, equal_nan=True)
    visa = csv(run_report, "visa")
    v = run.series["visa"].sum(axis=0)  # [destination, origin, stat]
    assert len(visa) == len(run.regions) ** 2
    for _, r in visa.iterrows():
        d, o = run.regions.index(r["destination"]), run.regions.index(r["origin"])
        for k, s in enumerate(run.visa_stats):
            assert r[s] == v[d, o, k]
        dec = r["approvals"] + r["denials"] + r["lottery_losses"]
        assert dec == r["decisions"]
        if dec:
            assert r["approval_rate"] == pytest.approx(r["approvals"] / dec)
    # US approvals for CN-origin researchers can be read (the pooled figure could not).
    us_cn = visa[(visa.destination == "US") & (visa.origin == "CN")].iloc[0]
    assert us_cn["approvals"] == v[run.regions.index("US"), run.regions.index("CN"), run.visa_stats.index("approvals")]
    un = csv(run_report, "unemployment")
    u = run.series["unemployed"]
    n = run.series["stocks"].sum(axis=(2, 3))
    for reg in run.regions:
        k = run.regions.index(reg)
        r = un[un.region == reg]
        assert len(r) == run.n_steps
        assert (r["unemployed"].to_numpy() == u[:, k]).all()
        assert np.allclose(r["rate"].to_numpy(), u[:, k] / n[:, k])


def test_run_firm_figures(run_report, run_file):
    run = ta.load_run(run_file)
    ranking = csv(run_report, "firms")
    names = list(run.firms["name"])
    elite = run.series["firm_elite"]
    # Generated groups are summed over their members NAME#k; named firms stay alone.
    grp = ranking[ranking.entity == "CN AI company"].iloc[0]
    members = [i for i, n in enumerate(names) if n.startswith("CN AI company#")]
    assert grp["generated"] and grp["members"] == len(members) == 300
    assert grp["elite_end"] == elite[-1, members].sum() and grp["elite_start"] == elite[0, members].sum()
    meta = ranking[ranking.entity == "Meta"].iloc[0]
    assert not meta["generated"] and meta["elite_end"] == elite[-1, names.index("Meta")]
    assert not any("#" in e for e in ranking["entity"])
    assert (np.diff(ranking["elite_end"].to_numpy()) <= 0).all()
    assert ranking["elite_end"].sum() == elite[-1].sum()
    # Poaching among named firms: each cell is the /poaching count of that pair.
    po = csv(run_report, "poaching")
    with h5py.File(run_file) as f:
        pairs = {(names[a], names[b]): c for a, b, c in zip(f["poaching/from_firm"][()], f["poaching/to_firm"][()],
                                                              f["poaching/count"][()])}
    assert not any("#" in n for n in po["from_firm"]) and len(po)
    for _, r in po.iterrows():
        assert r["moves"] == pairs.get((r["from_firm"], r["to_firm"]), 0)


def test_run_stay_rates(run_report, run_file):
    run = ta.load_run(run_file)
    df = csv(run_report, "stay")
    for reg in run.regions:
        cur = stay_curves(run, reg)
        for org in run.regions:
            got = df[(df.region == reg) & (df.origin == org)]["stay_rate"].to_numpy(float)
            assert np.allclose(got, cur[org].to_numpy(), equal_nan=True)
    assert (df[df.years == 0]["stay_rate"].dropna() == 1).all()


def test_figures_through_their_artists(run_file):
    """The figures as drawn: one line per region in each panel, in the region's fixed colour, the same
    on every figure (a region keeps its colour)."""
    import matplotlib.colors as mc
    run = ta.load_run(run_file)
    pal = Palette(run.regions)
    spec = rf.fig_stocks(run, pal)
    for ax in spec.fig.axes[:2]:
        lines = ax.get_lines()
        assert [ln.get_label() for ln in lines] == run.regions
        assert all(len(ln.get_xdata()) == run.n_steps for ln in lines)
        for ln, reg in zip(lines, run.regions):
            assert mc.to_hex(ln.get_color()) == REGION_COLOURS[reg].lower()
        assert ax.get_ylabel() and ax.get_xlabel() == "month"
    assert spec.fig._suptitle.get_text().startswith("Top-tier and elite researchers")
    un = rf.fig_unemployment(run, pal)
    us = [ln for ln in un.fig.axes[0].get_lines() if ln.get_label() == "US"][0]
    assert mc.to_hex(us.get_color()) == REGION_COLOURS["US"].lower()
    u = run.series["unemployed"][:, run.regions.index("US")] / run.series["stocks"][:, run.regions.index("US")].sum(axis=(1, 2))
    assert np.allclose(us.get_ydata(), 100 * u)
    net = rf.fig_net_us_cn(run, pal)
    cum = net.fig.axes[1].get_lines()[0].get_ydata()
    assert cum[-1] == net.data["cumulative_net_US_to_CN"].iloc[-1]
    assert "US → CN" in net.fig.axes[1].get_ylabel()
    import matplotlib.pyplot as plt
    plt.close("all")


# ------------------------------------------------------------------------------------ comparisons
def test_comparison_paths_end_at_the_sweep_outcomes(comparison, comparison_report):
    e = ta.load_experiment(comparison)
    res = e.results
    labels = dict(zip(e.outcomes, e.labels))
    scale = dict(zip(e.outcomes, e.scale))
    pg = page(comparison_report)
    titles = [f["title"] for f in pg.figures]
    for k, o in enumerate(e.outcomes):
        assert f"{labels[o]} over time: scenarios against small" in titles
        df = csv(comparison_report, f"paths_{k}")
        assert set(df["variant"]) == set(e.variants)
        for v in e.variants:
            d = df[df.variant == v]
            assert len(d) == 12 and (d["replications"] == 3).all()
            assert (d["p5"] <= d["p25"] + 1e-9).all() and (d["p25"] <= d["median"] + 1e-9).all()
            assert (d["median"] <= d["p75"] + 1e-9).all() and (d["p75"] <= d["p95"] + 1e-9).all()
            final = res[res.variant == v][o].to_numpy(float) * scale[o]
            if e.outcomes[k] == "us_top_pay":
                # The outcome pools top and elite; the series' percentiles are per tier: flagged.
                assert "without the elite" in " ".join(x["caption"] for x in pg.figures if x["title"].startswith(labels[o]))
                continue
            assert d["median"].iloc[-1] == pytest.approx(np.median(final), rel=1e-9, abs=1e-9), (o, v)
            assert d["p25"].iloc[-1] == pytest.approx(np.quantile(final, 0.25), rel=1e-9, abs=1e-9), (o, v)


def test_comparison_forest_and_changes(comparison, comparison_report):
    e = ta.load_experiment(comparison)
    fo = csv(comparison_report, "forest")
    diff = e.differences
    scale = dict(zip(e.outcomes, e.scale))
    assert len(fo) == (len(e.variants) - 1) * len(e.outcomes)
    for _, r in fo.iterrows():
        d = diff[(diff.variant == r["variant"]) & (diff.outcome == r["outcome"])].iloc[0]
        assert r["mean"] == pytest.approx(d["mean"] * scale[r["outcome"]])
        assert r["lo"] == pytest.approx(d["lo"] * scale[r["outcome"]]) and r["hi"] == pytest.approx(d["hi"] * scale[r["outcome"]])
        assert bool(r["excludes_zero"]) == bool(d["lo"] > 0 or d["hi"] < 0)
    # Winners and losers by region, and the change in flows: from the run files, paired by seed.
    runs = e.runs.assign(file=[str(Path(comparison).parent / "cmp.runs" / f"run_{i:06d}.h5") for i in e.runs["run"]])

    def at_end(v, read):
        out = {}
        for _, r in runs[runs.variant == v].iterrows():
            with h5py.File(r["file"]) as f:
                out[int(r["replication"])] = read(f)
        return out

    top = lambda f: f["series/stocks"][-1][:, :, 1:].sum(axis=(1, 2))  # noqa: E731
    flows = lambda f: f["series/flows"][()].sum(axis=0)  # noqa: E731
    with h5py.File(runs["file"].iloc[0]) as f:
        regions = list(f["dims/regions"].asstr()[()])
    rc = csv(comparison_report, "region_change")
    fc = csv(comparison_report, "flow_change")
    base_top, base_fl = at_end(e.variants[0], top), at_end(e.variants[0], flows)
    for v in e.variants[1:]:
        vt, vf = at_end(v, top), at_end(v, flows)
        want = np.mean([vt[r] - base_top[r] for r in vt], axis=0)
        got = rc[rc.variant == v].set_index("column").loc[regions, "mean_change"].to_numpy()
        assert np.allclose(got, want)
        wf = np.mean([vf[r] - base_fl[r] for r in vf], axis=0)
        g = fc[fc.variant == v]
        for _, r in g.iterrows():
            if r["from_region"] == r["to_region"]:
                assert np.isnan(r["mean_change"])  # staying is not a move
            else:
                assert r["mean_change"] == pytest.approx(wf[regions.index(r["from_region"]),
                                                            regions.index(r["to_region"])])
    firms = csv(comparison_report, "firm_change")
    assert not any("#" in str(c) for c in firms["column"])
    assert set(firms["variant"]) == set(e.variants[1:])


def test_comparison_without_run_files_notes_and_final_spread(work, variants):
    out = work / "cmp_outcomes.h5"
    p = run_talentsim(["compare", SCENARIO, variants[0], "-o", out, "--replications", "3", "--steps", "6",
                       "--set", "population.researchers=4000", "--quiet"])
    assert p.returncode == 0, p.stderr
    rep = work / "cmp_outcomes_report"
    report([out], rep)
    pg = page(rep)
    assert "the sweep kept no run files" in pg.text and "--keep series" in pg.text
    df = csv(rep, "final")
    e = ta.load_experiment(out)
    scale = dict(zip(e.outcomes, e.scale))
    for _, r in df.iterrows():
        x = e.results[e.results.variant == r["variant"]][r["outcome"]].to_numpy(float) * scale[r["outcome"]]
        assert r["median"] == pytest.approx(np.median(x)) and r["p95"] == pytest.approx(np.quantile(x, 0.95))
    assert not list((rep / "figures").glob("*paths*"))


# ------------------------------------------------------------------------------------ sweeps
def test_sweep_one_parameter_response_curves(sweep1, work):
    rep = work / "sweep1_report"
    report([sweep1], rep)
    df = csv(rep, "response")
    e = ta.load_experiment(sweep1)
    s = e.summaries
    assert len(df) == len(s)
    for o, sc in zip(e.outcomes, e.scale):
        d = df[df.outcome == o].sort_values("market.lambda0")
        want = s[s.outcome == o].sort_values("market.lambda0")
        assert len(d) == 4
        assert np.allclose(d["mean"], want["mean"] * sc) and np.allclose(d["lo"], want["lo"] * sc)
    assert "Response of the outcomes to market.lambda0" in [f["title"] for f in page(rep).figures]


def test_sweep_two_parameters_heatmap_and_mixed_curves(sweep2, sweep_mixed, work):
    rep = work / "sweep2_report"
    report([sweep2, sweep_mixed], rep)
    hm = csv(rep, "heatmap")
    e = ta.load_experiment(sweep2)
    s = e.summaries
    assert len(hm) == 2 * 3 * len(e.outcomes)
    for _, r in hm.iterrows():
        w = s[(s.outcome == r["outcome"]) & np.isclose(s["market.lambda0"], r["market.lambda0"])
              & np.isclose(s["market.separation"], r["market.separation"])]
        assert r["mean"] == pytest.approx(w["mean"].item())
    # One numeric and one named parameter: a curve per name.
    mixed = pd.read_csv(next((rep / "figures").glob("s2_response.csv")))
    assert set(mixed["firms.OpenAI.retention.rule"]) == {"none", "match"}
    assert len(mixed) == 2 * 2 * 2


def test_sweep_three_parameters_small_multiples(sweep3, work):
    rep = work / "sweep3_report"
    report([sweep3], rep)
    e = ta.load_experiment(sweep3)
    for k, o in enumerate(e.outcomes):
        df = csv(rep, f"multiples_{k}")
        assert set(df["parameter"]) == set(e.parameters)
        for p in e.parameters:
            assert df[df.parameter == p]["points"].sum() == len(e.design)


def test_sobol_and_morris_indices(saltelli, morris, work):
    rep = work / "sens_report"
    report([saltelli, morris], rep)
    so = pd.read_csv(next((rep / "figures").glob("s1_sobol.csv")))
    ind = ta.load_experiment(saltelli).indices
    ind = ind[ind.method == "sobol"]
    assert len(so) == len(ind)
    for _, r in so.iterrows():
        w = ind[(ind.outcome == r["outcome"]) & (ind.parameter == r["parameter"]) & (ind["index"] == r["index"])].iloc[0]
        assert np.allclose([r["value"], r["lo"], r["hi"]], [w["value"], w["lo"], w["hi"]], equal_nan=True)
    mo = pd.read_csv(next((rep / "figures").glob("s2_morris.csv")))
    e = ta.load_experiment(morris)
    mi = e.indices
    scale = dict(zip(e.outcomes, e.scale))
    for _, r in mo.iterrows():
        w = mi[(mi.outcome == r["outcome"]) & (mi.parameter == r["parameter"])].set_index("index")["value"]
        assert r["mu_star"] == pytest.approx(w["mu_star"] * scale[r["outcome"]])
        assert r["sigma"] == pytest.approx(w["sigma"] * scale[r["outcome"]], nan_ok=True)
    titles = [f["title"] for f in page(rep).figures]
    assert "Which parameters drive the outcomes: Sobol indices" in titles
    assert "Which parameters drive the outcomes: Morris screening" in titles


def test_interrupted_sweep_is_stated_at_the_top(work):
    exp = write(work / "long.yaml", f"base: {SCENARIO}\nset: [population.researchers=20000]\nreplications: 40\n"
                "steps: 12\nparameters:\n  market.lambda0: {values: [0.1, 0.2]}\n" + OUTCOMES)
    out = work / "long.h5"
    proc = subprocess.Popen([str(BINARY), "sweep", str(exp), "-o", str(out), "--quiet", "--jobs", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    journal = work / ".long.h5.journal"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.is_file() and journal.read_bytes().count(b"\n") >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    assert proc.returncode == 130, "the sweep finished before it could be interrupted"
    rep = work / "long_report"
    report([out], rep)
    pg = page(rep)
    warn = pg.text[pg.text.index("Read this first"):pg.text.index("Summary")]
    assert "long.h5 is interrupted" in warn
    e = ta.load_experiment(out)
    done = int(e.attrs["runs_done"])
    assert f"{done} of 80 runs done" in warn
    assert "computed here from the runs that finished" in pg.text
    df = csv(rep, "response")
    r = e.results
    for o in e.outcomes:
        for lam, g in r.groupby("market.lambda0"):
            x = g[o].to_numpy(float)
            x = x[np.isfinite(x)]
            if len(x):
                got = df[(df.outcome == o) & np.isclose(df["market.lambda0"], lam)]["mean"].item()
                sc = float(e.scale[e.outcomes.index(o)])
                assert got == pytest.approx(x.mean() * sc)


# ------------------------------------------------------------------------------------ validation, calibration, bench
def test_validation_figures(validation, work):
    rep = work / "val_report"
    report([validation["burdett_mortensen"], validation["markov_two_region"]], rep)
    bm = json.loads(Path(validation["burdett_mortensen"]).read_text())
    checks = pd.read_csv(next((rep / "figures").glob("s1_checks.csv")))
    assert list(checks["quantity"]) == [c["quantity"] for c in bm["checks"]]
    assert np.allclose(checks["simulated"], [c["simulated"] for c in bm["checks"]])
    dist = pd.read_csv(next((rep / "figures").glob("s1_distribution_0.csv")))
    d = bm["distributions"][0]
    assert len(dist) == len(d["x"]) > 10
    # The written CDFs are the ones the KS check compared: its statistic is their largest gap.
    ks = next(c for c in bm["checks"] if c["quantity"].startswith("KS"))
    assert np.max(np.abs(dist["simulated"] - dist["theory"])) == pytest.approx(ks["simulated"], rel=1e-12)
    # Theory at each firm's wage: G = δF/(δ+(1−δ)λ1(1−F)), F = the share of the firms paying at most
    # that (the offer distribution is uniform over the firms, whose wages are distinct).
    sc = yaml.safe_load((SOURCE_DIR / "scenarios" / "validation" / "burdett_mortensen.yaml").read_text())
    delta, l1, nf = sc["market"]["separation"], sc["market"]["lambda1"], sc["firms"][0]["count"]
    assert len(dist) == nf
    F = np.arange(1, nf + 1) / nf
    assert np.allclose(dist["theory"], delta * F / (delta + (1 - delta) * l1 * (1 - F)), rtol=1e-12)
    assert (np.diff(dist["x"]) > 0).all() and (np.diff(dist["simulated"]) >= 0).all()
    mk = json.loads(Path(validation["markov_two_region"]).read_text())
    md = pd.read_csv(next((rep / "figures").glob("s2_distribution_0.csv")))
    assert list(md["category"]) == mk["distributions"][0]["categories"]
    assert md["theory"].sum() == pytest.approx(1.0)
    # The distribution's points are the stock-share checks (the chain's other checks are u and the moves).
    shares = [c for c in mk["checks"] if c["quantity"].startswith("stock share of")]
    assert len(shares) == len(md) == 2
    assert np.allclose(md["simulated"], [c["simulated"] for c in shares])
    assert np.allclose(md["theory"], [c["theory"] for c in shares])


def test_validate_json_option(work):
    existing = write(work / "exists.json", "{}")
    p = run_talentsim(["validate", SOURCE_DIR / "scenarios" / "validation" / "markov_two_region.yaml", "--json",
                       existing, "--set", "validation.burn_in=10", "--set", "validation.window=5"])
    assert p.returncode == 1 and "already exists" in p.stderr
    assert existing.read_text() == "{}"
    bad = run_talentsim(["validate", SOURCE_DIR / "scenarios" / "validation" / "markov_two_region.yaml", "--json",
                         work, "--quiet"])
    assert bad.returncode == 2 and "is a directory" in bad.stderr
    # A failing validation still writes its file (exit 1): the PVR check without counteroffers.
    out = work / "pvr_fail.json"
    f = run_talentsim(["validate", SOURCE_DIR / "scenarios" / "validation" / "postel_vinay_robin.yaml", "--json", out,
                       "--set", "firms[0].retention.rule=none", "--set", "validation.burn_in=60", "--set",
                       "validation.window=10", "--set", "population.researchers=5000", "--quiet"])
    assert f.returncode == 1
    doc = json.loads(out.read_text())
    assert doc["pass"] is False and not all(c["pass"] for c in doc["checks"])
    assert doc["kind"] == "postel_vinay_robin" and doc["burn_in"] == 60 and doc["window"] == 10
    rep = work / "pvr_report"
    report([out], rep)
    warn = page(rep).text
    assert "the validation FAILED" in warn and "counteroffer raises / poaching moves" in warn


def test_calibration_from_the_markdown_report_and_from_json(calibration, work):
    c = read_calibration(str(calibration))
    md = Path(calibration).read_text()
    assert [t.name for t in c.targets] == ["CN share of all researchers", "CN share of the top tier"]
    for t in c.targets:
        # The verdict table: target | what and when | value | source_sd: basis | tolerance | fit seeds |
        # fresh seeds ± SE | within | source (the first table row of the target)
        row = next(line for line in md.splitlines() if line.startswith(f"| {t.name} |"))
        cells = [x.strip() for x in row.strip("|").split("|")]
        mean, se = (float(x) for x in cells[6].split("±"))
        assert t.value == float(cells[2]) and t.simulated_mean == mean and t.se == se
        assert t.tolerance == float(cells[4]) and t.within == (cells[7].strip("*") == "yes")
    assert [p.key for p in c.parameters] == ["regions.CN.talent_mu", "population.abroad.CN"]
    assert c.parameters[1].log and len(c.history) == c.evaluations
    rep = work / "cal_report"
    report([calibration], rep)
    tg = csv(rep, "targets")
    assert np.allclose(tg["deviation_in_tolerances"], [(t.simulated_mean - t.value) / t.tolerance for t in c.targets])
    hist = csv(rep, "history")
    assert len(hist) == c.evaluations and (np.diff(hist["best_so_far"]) <= 0).all()
    # The documented JSON form gives the same figures; a writer's own field names map through ALIASES.
    doc = to_json(c)
    for t in doc["targets"]:
        t["mean"] = t.pop("simulated_mean")
    doc["parameters"][0]["se"] = 0.01
    j = write(work / "calibration.json", json.dumps(doc))
    rep2 = work / "cal_json_report"
    report([j], rep2)
    pd.testing.assert_frame_equal(csv(rep2, "targets"), tg)
    par = csv(rep2, "parameters")
    assert par["se"].iloc[0] == 0.01 and "±1.96 standard errors" in page(rep2).text


def test_calibration_results_of_the_calib20_branch(work):
    """The calibration outputs of issue #20's branch (calib20 at 9f1e623, not merged yet): its YAML
    results file and its Markdown report of one evaluation, as written there (tests/data/report/;
    the report as .txt: its relative links point into that branch's docs/). Both give the same
    targets and parameters."""
    data = SOURCE_DIR / "tests" / "data" / "report"
    y = read_calibration(str(data / "calib20_calibration_results.yaml"))
    m = read_calibration(str(data / "calib20_calibration_report.txt"))
    doc = yaml.safe_load((data / "calib20_calibration_results.yaml").read_text())
    targeted = [x for x in doc["moments"] if x["targeted"]]
    assert [t.name for t in y.targets] == [t["name"] for t in targeted] == [t.name for t in m.targets]
    for t, raw, md in zip(y.targets, targeted, m.targets):
        assert (t.value, t.tolerance, t.within) == (raw["value"], raw["tolerance"], raw["within"])
        assert (t.simulated_mean, t.se) == (raw["fresh_mean"], raw["fresh_se"])  # the verdict on fresh seeds
        assert md.within == t.within
        assert md.simulated_mean == pytest.approx(t.simulated_mean, rel=1e-3)  # the report rounds to 4 digits
        assert md.se == pytest.approx(t.se, rel=1e-3) and md.tolerance == pytest.approx(t.tolerance, rel=1e-3)
    assert [p.key for p in y.parameters] == [p.key for p in m.parameters] == [p["key"] for p in doc["parameters"]]
    assert [p.se for p in y.parameters] == [p["se"] for p in doc["parameters"]]
    assert y.objective_fitted == doc["objective"] and m.objective_fitted == pytest.approx(doc["objective"], rel=1e-3)
    rep = work / "calib20_report"
    report([data / "calib20_calibration_results.yaml", data / "calib20_calibration_report.txt"], rep)
    a = pd.read_csv(next((rep / "figures").glob("s1_targets.csv")))
    b = pd.read_csv(next((rep / "figures").glob("s2_targets.csv")))
    assert list(a["within"]) == list(b["within"]) == [t["within"] for t in targeted]
    assert np.allclose(a["deviation_in_tolerances"], b["deviation_in_tolerances"], atol=0.01)  # rounded table
    par = pd.read_csv(next((rep / "figures").glob("s1_parameters.csv")))
    assert np.allclose(par["se"], [p["se"] for p in doc["parameters"]])
    t = page(rep).text
    assert f"{sum(x['within'] for x in targeted)} of {len(targeted)}" in t


def test_bench_figures(bench, work):
    rep = work / "bench_report"
    report([bench], rep)
    b = json.loads(Path(bench).read_text())
    th = csv(rep, "throughput")
    model = th[th.series == "model"]
    assert len(model) == len([r for r in b["runs"] if r["ok"]])
    for r in b["runs"]:
        got = model[(model.researchers == r["researchers"]) & (model.threads == r["threads"])]
        assert got["researcher_steps_per_second"].item() == pytest.approx(r["researcher_steps_per_second"])
    ref = th[th.series == "reference loop"]
    assert len(ref) == len(b["reference"]["results"])
    ph = csv(rep, "phases")
    r0 = b["runs"][0]
    for phase, s in r0["phase_seconds_per_step"].items():
        got = ph[(ph.phase == phase) & (ph.threads == r0["threads"]) & (ph.researchers == r0["researchers"])]
        assert got["ms_per_step"].item() == pytest.approx(1e3 * s)
    mem = csv(rep, "memory")
    assert np.allclose(sorted(mem["bytes_per_researcher_peak"]), sorted(r["bytes_per_researcher_peak"] for r in b["runs"]))


def test_everything_in_one_report(run_file, comparison, validation, calibration, bench, work):
    """One page for all inputs: a region keeps its colour on every figure, each input has its section."""
    rep = work / "all_report"
    report([run_file, comparison, validation["markov_two_region"], calibration, bench], rep)
    pg = page(rep)
    assert pg.order[:2] == ["summary", "s1"] and pg.order[-1] == "provenance"
    assert [s for s in pg.order if re.fullmatch(r"s\d", s)] == ["s1", "s2", "s3", "s4", "s5"]
    text = (rep / "index.html").read_text()
    for reg, colour in REGION_COLOURS.items():
        assert f"background: {colour}\"></span>{reg}" in text


# ------------------------------------------------------------------------------------ broken inputs
def test_interrupted_run_is_stated_at_the_top(work):
    out = work / "interrupted.h5"
    p = run_talentsim(["run", SCENARIO, "-o", out, "--stop-after", "4", "--quiet"])
    assert p.returncode == 130
    rep = work / "interrupted_report"
    report([out], rep)
    pg = page(rep)
    warn = pg.text[pg.text.index("Read this first"):pg.text.index("Summary")]
    assert "interrupted after step 4 of 24 planned" in warn
    assert len(csv(rep, "stocks")) == 5 * 7 * 2


def test_empty_runs_give_notes(work):
    zero = work / "zero.h5"
    assert run_talentsim(["run", SCENARIO, "-o", zero, "--steps", "0", "--quiet"]).returncode == 0
    rep = work / "zero_report"
    report([zero], rep)
    pg = page(rep)
    assert "has no steps" in pg.text and "not shown, the run has no steps" in pg.text
    assert not list((rep / "figures").glob("*.png"))
    # No researchers at all: a world with neither a population nor entrants.
    world = write(work / "empty_world.yaml", "run: {steps: 3}\npopulation: {researchers: 0}\n"
                  "regions: {A: {entrants_per_month: 0}, B: {entrants_per_month: 0}}\n"
                  "firms: [{name: F, hq: A, headcount: 1}]\n")
    empty = work / "empty.h5"
    p = run_talentsim(["run", world, "-o", empty, "--quiet"])
    assert p.returncode == 0, p.stderr
    rep2 = work / "empty_report"
    report([empty], rep2)
    t = page(rep2).text
    assert "has no researchers" in t
    assert "nobody is in the top tier" in t


def test_odd_names_give_figures_not_errors(work):
    world = write(work / "odd.yaml", """run: {steps: 14, seed: 3}
regions:
  "US/West": {pay_level: 1.0}
  "CN <$>": {pay_level: 0.5}
population: {researchers: 3000, origin_shares: {"US/West": 0.5, "CN <$>": 0.5}}
firms:
  - {name: "A/B Labs", hq: "US/West", headcount: 1200}
  - {name: "Z$ <corp>", hq: "CN <$>", headcount: 1200}
  - {name: "gen/x", count: 5, hq: "CN <$>", headcount: 20}
""")
    out = work / "odd.h5"
    assert run_talentsim(["run", world, "-o", out, "--quiet"]).returncode == 0
    rep = work / "odd_report"
    report([out], rep)
    st = csv(rep, "stocks")
    assert set(st["region"]) == {"US/West", "CN <$>"}
    firms = csv(rep, "firms")
    assert set(firms["entity"]) == {"A/B Labs", "Z$ <corp>", "gen/x"}
    assert firms[firms.entity == "gen/x"]["members"].item() == 5
    text = (rep / "index.html").read_text()
    assert "CN &lt;$&gt;" in text and "CN <$>" not in text  # names are escaped in the page
    assert "the scenario has no regions US and CN" in page(rep).text
    # File names never come from names: every figure is in figures/ and nothing else was created.
    assert {p.parent for p in rep.rglob("*") if p.is_file()} <= {rep, rep / "figures"}


def test_missing_optional_series_give_notes(run_file, work):
    """Series that newer layouts added (and the market-model issue will add more): without them, a note."""
    old = work / "old_layout.h5"
    shutil.copy(run_file, old)
    with h5py.File(old, "r+") as f:
        del f["series/unemployed"]
        v = f["series/visa"][()].sum(axis=1)  # the layout before version 4: [step, origin, visa_stat]
        del f["series/visa"]
        f["series/visa"] = v
        del f["poaching"]
        del f["cohorts"]
    rep = work / "old_report"
    report([old], rep)
    t = page(rep).text
    assert "Unemployment by region: not shown, the file has no unemployment series" in t
    assert "Visa decisions by destination and origin: not shown, the file's visa series is by origin only" in t
    assert "Poaching between named firms: not shown, the file has no poaching table" in t
    assert len(list((rep / "figures").glob("*.png"))) == 6


def test_bad_inputs_and_outputs_exit_codes(run_file, work):
    out = work / "bad_report"
    # A missing file, a directory, an unknown JSON, a truncated HDF5 file: exit 2, nothing written.
    trunc = work / "truncated.h5"
    trunc.write_bytes(Path(run_file).read_bytes()[:4096])
    unknown = write(work / "unknown.json", '{"hello": 1}')
    for bad, msg in ((work / "nope.h5", "no such file"), (work, "is a directory"), (unknown, "not one the report reads"),
                     (trunc, "cannot read it as HDF5"), (SCENARIO, "not calibration results")):
        p = report([run_file, bad], out, code=2)
        assert msg in p.stderr and "nothing was written" in p.stderr, p.stderr
        assert not out.exists()
    # -o a file: exit 2; an existing report: exit 1 and left as it was; --force replaces it.
    f = write(work / "afile", "x")
    assert "not a directory" in report([run_file], f, code=2).stderr
    report([run_file], out)
    before = (out / "index.html").read_bytes()
    p = report([run_file], out, code=1)
    assert "already exists" in p.stderr and (out / "index.html").read_bytes() == before
    report([run_file], out, "--force", "--title", "Again")
    assert "<title>Again</title>" in (out / "index.html").read_text()
    assert not [p for p in out.iterdir() if p.name.startswith(".report.partial")]
    # Usage: no input, a bad option, --help.
    assert run_talentsim(["report", "-o", out]).returncode == 2
    assert run_talentsim(["report", run_file, "-o", out, "--bogus"]).returncode == 2
    h = run_talentsim(["report", "--help"])
    assert h.returncode == 0 and h.stdout.startswith("usage: talentsim report") and "example:" in h.stdout
