def test_a_schedule_with_an_impossible_cron_makes_the_graph_invalid() -> None:
    import pytest

    from kasset.errors import DefinitionError
    from kasset.operator.model.graphs import snapshot_from_body

    body = {
        "metadata": {"name": "g", "namespace": "ns"},
        "spec": {
            "image": "x:1",
            "codeLocation": {"module": "m"},
            "assets": [{"key": "a"}],
            "schedules": [{"name": "nightly", "cron": "99 99 * * *"}],
        },
    }
    with pytest.raises(DefinitionError, match="not a valid cron"):
        snapshot_from_body(body)
    body["spec"]["schedules"] = [{"name": "nightly", "cron": "@daily", "selection": "nope"}]  # type: ignore[index]
    with pytest.raises(DefinitionError, match="schedule 'nightly': no asset 'nope'"):
        snapshot_from_body(body)
