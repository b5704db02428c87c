"""Assets for the load test. Their pods land on kwok's fake nodes, where nothing runs:
the bodies are never executed there (kwok writes the termination message)."""

from kasset import Definitions, asset


@asset
def one() -> int:
    return 1


@asset
def w1() -> int:
    return 1


@asset
def w2() -> int:
    return 2


@asset
def w3() -> int:
    return 3


@asset
def w4() -> int:
    return 4


single = Definitions(assets=[one])
wide = Definitions(assets=[w1, w2, w3, w4])
