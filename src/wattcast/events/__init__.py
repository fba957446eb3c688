"""Events: readings above the band joined into stretches, triaged, and their savings.

:mod:`~wattcast.events.detection` finds and joins the events of new actuals (and
decides which are alerted); :mod:`~wattcast.events.savings` adds up their energy
and cost per meter. ``wattcast anomalies`` lists them; neither module touches the
store.
"""
