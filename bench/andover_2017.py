"""The 2017 design (``energize.py``) on the bundled Andover job, for bench/startup.py.

The project this one replaces: https://github.com/mattrossman/andover-energy-analysis
(``energize.py`` at the top of the repository; it needs ``pytz`` besides pandas,
scikit-learn and icalendar). The same job as ``wattcast forecast`` with the
benchmark's settings: 7 meters, a 28-day input aggregated daily, a 1-day gap and
output, day of week and day of year, the daily extras, 100 trees, a pool of one
process per core with each forest on one core (its fastest form on a small
machine). Two shims adapt it to current pandas without changing the design.

    python bench/startup.py --reference-dir CHECKOUT \\
        --reference "python /path/to/bench/andover_2017.py /path/to/datasets/andover"
"""

import sys

import energize as egz
import numpy as np
import pandas as pd

# A DatetimeIndex no longer exposes strides: window its datetime64 values instead.
_rolling_window = egz.rolling_window
egz.rolling_window = lambda a, L, S: _rolling_window(np.asarray(a), L, S)
# pandas' date_range names `closed` `inclusive` now.
_date_range = pd.date_range
egz.pd.date_range = lambda *a, closed=None, **k: _date_range(*a, inclusive=closed or "both", **k)

folder = sys.argv[1]
data = pd.read_csv(f"{folder}/meters.csv.gz", index_col=0, parse_dates=[0]).asfreq("15min")
data = data.fillna(data.shift(-1, pd.Timedelta(weeks=1))).ffill().bfill()
data = egz.only_full_days(data)
extras = pd.read_csv(f"{folder}/daily_extras.csv", index_col=0, parse_dates=[0])
model = egz.MultiRFModel(
    data=data,
    input_size=pd.Timedelta(weeks=4),
    gap_size=pd.Timedelta(days=1),
    output_size=pd.Timedelta(days=1),
    time_attrs=["dayofweek", "dayofyear"],
    extra_features=extras,
    est_kwargs={"n_jobs": 1, "n_estimators": 100},
)
model.train()
values, spreads = model.predict()
values.to_csv("pred_vals.csv")
spreads.to_csv("pred_stds.csv")
