"""Reading and summarising talentsim run files (layout: docs/hdf5-layout.md).

    import sys; sys.path.insert(0, "analysis")
    from talentsim_analysis import load_run, top_share_by_origin, us_cn_output_ratio, net_flow
    run = load_run("/tmp/b.h5")
    run.stocks            # tidy DataFrame: step, month, location, origin, tier, count
    top_share_by_origin(run, -1)["CN"]

    from talentsim_analysis import load_experiment     # sweep files (talentsim sweep / compare)
    e = load_experiment("comp_sweep.h5")
    e.results, e.summaries, e.differences, e.indices   # tidy frames
"""
from .experiment import Experiment, load_experiment
from .metrics import (
    TOP_TIERS,
    approval_rate,
    elite_ranking,
    net_flow,
    stay_curves,
    tier_stocks,
    top_share_by_origin,
    us_cn_output_ratio,
    visa_totals,
)
from .run import FIRM_SERIES, Run, load_run

__all__ = [
    "Experiment",
    "FIRM_SERIES",
    "Run",
    "TOP_TIERS",
    "approval_rate",
    "elite_ranking",
    "load_experiment",
    "load_run",
    "net_flow",
    "stay_curves",
    "tier_stocks",
    "top_share_by_origin",
    "us_cn_output_ratio",
    "visa_totals",
]
