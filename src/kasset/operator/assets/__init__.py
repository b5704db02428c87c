"""Assets: the Asset book (debounced Asset status), the AssetGraph reconciler (Asset
objects), and the schedule loop that creates Materializations.
"""
