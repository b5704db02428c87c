"""AssetKey and StepKey: value objects with string forms that round-trip."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kasset import AssetKey
from kasset.definitions import StepKey
from kasset.errors import DefinitionError

parts = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}", fullmatch=True)


def test_asset_key_string_form_joins_parts_with_slashes() -> None:
    key = AssetKey(["raw", "orders"])
    assert key.to_string() == str(key) == "raw/orders"
    assert (key.name, key.prefix) == ("orders", ("raw",))
    assert AssetKey.from_string("/raw/orders/") == key
    assert key.with_prefix(["eu"]) == AssetKey(["eu", "raw", "orders"])


def test_asset_keys_are_hashable_ordered_and_immutable() -> None:
    keys = {AssetKey("b"), AssetKey("a"), AssetKey("a")}
    assert sorted(keys) == [AssetKey("a"), AssetKey("b")]
    with pytest.raises(AttributeError):
        AssetKey("a").path = ("b",)  # type: ignore[misc]


@pytest.mark.parametrize("bad", ["", "has space", ".hidden", "-dash", "a//b"])
def test_invalid_keys_are_rejected(bad: str) -> None:
    with pytest.raises(DefinitionError):
        AssetKey.from_string(bad)


def test_from_coercible_accepts_keys_strings_sequences_and_assets() -> None:
    class HasKey:
        key = AssetKey("x")

    assert AssetKey.from_coercible("a/b") == AssetKey(["a", "b"])
    assert AssetKey.from_coercible(["a", "b"]) == AssetKey(["a", "b"])
    assert AssetKey.from_coercible(HasKey()) == AssetKey("x")
    with pytest.raises(DefinitionError, match="cannot make an asset key"):
        AssetKey.from_coercible(42)  # type: ignore[arg-type]


@given(st.lists(parts, min_size=1, max_size=4))
def test_asset_key_round_trips_through_its_string(path: list[str]) -> None:
    key = AssetKey(path)
    assert AssetKey.from_string(key.to_string()) == key


@given(
    st.lists(parts, min_size=1, max_size=3),
    st.none() | st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.:+-]{0,20}", fullmatch=True),
)
def test_step_key_round_trips_through_its_string(path: list[str], partition: str | None) -> None:
    step = StepKey(AssetKey(path), partition)
    assert StepKey.from_string(step.to_string()) == step


def test_step_key_string_shows_the_partition_in_brackets() -> None:
    assert StepKey(AssetKey("hits"), "2024-01-01-05:00").to_string() == "hits[2024-01-01-05:00]"
    assert StepKey.from_string("raw/orders").partition is None
    with pytest.raises(DefinitionError, match="invalid step key"):
        StepKey.from_string("orders[]")
