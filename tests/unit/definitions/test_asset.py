def test_a_misspelled_option_is_an_error_naming_it() -> None:
    import pytest

    from kasset import asset
    from kasset.errors import DefinitionError

    with pytest.raises(DefinitionError, match=r"unknown option.*gruop"):
        asset(gruop="raw")  # type: ignore[call-overload]
