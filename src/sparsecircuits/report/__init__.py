"""Circuit report: a self-contained HTML viewer of circuit files, and a local server for reports."""
