"""The golden-sample gate: run the agent on a labelled sample first, and go on only if it is accurate enough.

``sample.py`` reads the labelled CSV, ``compare.py`` says when an answer matches its label, ``judge.py`` scores the
first N input rows with a trusted judge agent instead of labels, ``report.py`` holds the
per-field report, ``evaluate.py`` runs the agent over the sample and decides (``GOLDEN_GATE_FAILED``).
"""
