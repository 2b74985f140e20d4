"""Demo data: a generated robot recording for `mosaico-ros demo`, tests and benchmarks.

Not part of the pipeline: nothing in the library imports it.
"""
