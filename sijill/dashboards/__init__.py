"""Staff dashboards (issue 5): registry, programme and targeting figures as server-side SVG
charts with the same numbers as a table and a CSV download; the policy simulator page.

``selectors`` computes the figures with set-based SQL (and Polars for targeting quality),
``tables`` holds one figure's numbers for the table, the chart and the CSV alike,
``charts`` draws accessible SVG, ``simulator`` lists the editable rules parameters, validates
an analyst's changes and shapes :func:`sijill.targeting.simulation.simulate`'s answer.
"""
