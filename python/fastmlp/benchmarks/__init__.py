"""Measurement code shared by `fastmlp bench` (installed) and the pytest-benchmark suites in
bench/ (not installed): the standard configurations, seeded problems, peers (PyTorch eager,
scikit-learn partial_fit) and a median timer.

    configs.py   GEMM shapes and the B4 / D32 / A64 / A256 / C256 epoch configurations
    timing.py    median of repeats after warm-up, with an inner loop for microsecond calls
    peers.py     one epoch of PyTorch eager and of scikit-learn, set up like fastmlp's
    suite.py     the `fastmlp bench` run: settings, results, the printed table
"""
