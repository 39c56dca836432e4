"""Developer tools built on the engine: benchmark scoring, data sets and the benchmark runner.

Nothing in the engine imports from here.
"""
