"""What runs one step, in a pod, a local subprocess or in-process: load the code, read
inputs and store outputs through an IO manager, run the asset and its checks, report
events. Import the submodules; this package imports nothing, so that `python -m
kasset.runtime` pays only for what a step uses."""

__all__: list[str] = []
