"""The run state machine: planning, then `advance` under every order of outcomes.

The property tests drive random DAGs with random outcomes, retry policies, timeouts,
replayed events and cancels through `advance`, and check the invariants every executor
relies on.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kasset import AssetKey, RetryPolicy, StaticPartitionsDefinition
from kasset.definitions import StepKey
from kasset.errors import PlanError
from kasset.graph import AssetGraph, AssetNode
from kasset.plan import (
    INFRA_RETRY_DELAY,
    Action,
    Cancel,
    Event,
    FinishRun,
    LaunchStep,
    RunPhase,
    RunState,
    StepFailed,
    StepPhase,
    StepState,
    StepSucceeded,
    StopStep,
    Tick,
    advance,
    build_plan,
)

REGIONS = StaticPartitionsDefinition(["eu", "us", "apac"])


def key(text: str) -> AssetKey:
    return AssetKey.from_string(text)


def step(text: str) -> StepKey:
    return StepKey.from_string(text)


NO_RETRIES = RetryPolicy(max_retries=0)


def chain(
    *names: str, policy: RetryPolicy = NO_RETRIES, timeout: float | None = None
) -> AssetGraph:
    nodes = [
        AssetNode(key(n), (key(names[i - 1]),) if i else (), retry_policy=policy, timeout=timeout)
        for i, n in enumerate(names)
    ]
    return AssetGraph(nodes)


def launched(actions: list[Action]) -> list[str]:
    return [str(a.step) for a in actions if isinstance(a, LaunchStep)]


# Planning.


def test_plan_orders_steps_and_records_who_waits_for_whom() -> None:
    plan = build_plan(chain("a", "b", "c"))
    assert [str(s) for s in plan.steps] == ["a", "b", "c"]
    assert plan.steps[step("c")].upstream == (step("b"),)
    assert plan.downstream_closure(step("a")) == [step("b"), step("c")]


def test_plan_covers_only_the_selection_and_drops_unselected_upstreams() -> None:
    plan = build_plan(chain("a", "b", "c"), selection="b+")
    assert [str(s) for s in plan.steps] == ["b", "c"]
    assert plan.steps[step("b")].upstream == ()


def test_partitioned_steps_wait_for_the_same_partition_and_fan_in_waits_for_all() -> None:
    graph = AssetGraph(
        [
            AssetNode(key("config")),
            AssetNode(key("sales"), (key("config"),), partitions=REGIONS),
            AssetNode(key("clean"), (key("sales"),), partitions=REGIONS),
            AssetNode(key("total"), (key("clean"),)),
        ]
    )
    plan = build_plan(graph, partitions=["eu", "us"])
    assert [str(s) for s in plan.steps] == [
        "config",
        "sales[eu]",
        "sales[us]",
        "clean[eu]",
        "clean[us]",
        "total",
    ]
    assert plan.steps[step("clean[us]")].upstream == (step("sales[us]"),)
    assert plan.steps[step("sales[eu]")].upstream == (step("config"),)
    assert plan.steps[step("total")].upstream == (step("clean[eu]"), step("clean[us]"))


def test_planning_mistakes_are_plan_errors() -> None:
    graph = AssetGraph([AssetNode(key("sales"), partitions=REGIONS)])
    with pytest.raises(PlanError, match="asset 'sales' is partitioned"):
        build_plan(graph)
    with pytest.raises(PlanError, match="asset 'sales': unknown partition key 'mars'"):
        build_plan(graph, partitions=["mars"])
    with pytest.raises(PlanError, match="maxParallel must be at least 1"):
        build_plan(graph, partitions=["eu"], max_parallel=0)
    with pytest.raises(PlanError, match="more than 2 steps"):
        build_plan(graph, partitions=["eu", "us", "apac"], max_steps=2)


# Advancing, by example.


def test_steps_launch_when_their_upstreams_succeed_up_to_max_parallel() -> None:
    graph = AssetGraph(
        [AssetNode(key(n)) for n in "abc"] + [AssetNode(key("d"), (key("a"), key("b"), key("c")))]
    )
    state = RunState(build_plan(graph, max_parallel=2))
    assert launched(advance(state, None, 0)) == ["a", "b"]
    assert state.phase is RunPhase.RUNNING
    assert launched(advance(state, StepSucceeded(step("a"), 1), 1)) == ["c"]
    assert launched(advance(state, StepSucceeded(step("b"), 1), 2)) == []
    actions = advance(state, StepSucceeded(step("c"), 1), 3)
    assert launched(actions) == ["d"]
    actions = advance(state, StepSucceeded(step("d"), 1), 4)
    assert actions == [FinishRun(RunPhase.SUCCEEDED, "4 step(s) succeeded")]
    assert advance(state, Tick(), 5) == []


def test_a_failed_step_is_retried_after_its_delay_with_backoff() -> None:
    state = RunState(build_plan(chain("a", policy=RetryPolicy(max_retries=2, delay=10, backoff=3))))
    advance(state, None, 0)
    assert advance(state, StepFailed(step("a"), 1, "boom"), 1) == []
    assert state.steps[step("a")].phase is StepPhase.PENDING
    assert state.next_wakeup() == 11
    assert advance(state, Tick(), 10.9) == []
    assert advance(state, Tick(), 11) == [LaunchStep(step("a"), 2)]
    advance(state, StepFailed(step("a"), 2, "boom"), 12)
    assert state.next_wakeup() == 12 + 30
    advance(state, Tick(), 42)
    actions = advance(state, StepFailed(step("a"), 3, "boom again"), 43)
    assert actions == [FinishRun(RunPhase.FAILED, "1 step(s) failed: a: boom again")]
    assert state.steps[step("a")].attempts == 3


def test_attempts_lost_to_the_infrastructure_do_not_count_against_the_policy() -> None:
    state = RunState(build_plan(chain("a", policy=RetryPolicy(max_retries=1, delay=10))))
    advance(state, None, 0)
    # The container could not start, twice: retried after 2 s, then 4 s, for free.
    lost = "the step's container could not start (StartError)"
    assert advance(state, StepFailed(step("a"), 1, lost, infrastructure=True), 1) == []
    assert state.next_wakeup() == 1 + INFRA_RETRY_DELAY
    assert advance(state, Tick(), 3) == [LaunchStep(step("a"), 2)]
    advance(state, StepFailed(step("a"), 2, lost, infrastructure=True), 4)
    assert state.next_wakeup() == 4 + 2 * INFRA_RETRY_DELAY
    advance(state, Tick(), 8)
    # The code's own failure still has its one retry, after the policy's delay.
    advance(state, StepFailed(step("a"), 3, "boom"), 9)
    assert state.steps[step("a")].phase is StepPhase.PENDING
    assert state.next_wakeup() == 19
    advance(state, Tick(), 19)
    actions = advance(state, StepFailed(step("a"), 4, "boom again"), 20)
    assert actions == [FinishRun(RunPhase.FAILED, "1 step(s) failed: a: boom again")]
    assert (state.steps[step("a")].attempts, state.steps[step("a")].infra_retries) == (4, 2)


def test_infrastructure_retries_are_bounded_then_the_policy_decides() -> None:
    plan = build_plan(chain("a"), infra_retries=1)
    state = RunState(plan)
    advance(state, None, 0)
    advance(state, StepFailed(step("a"), 1, "evicted", infrastructure=True), 1)
    advance(state, Tick(), 10)
    # The budget is spent and the policy allows no retry: the run fails.
    actions = advance(state, StepFailed(step("a"), 2, "evicted again", infrastructure=True), 11)
    assert actions == [FinishRun(RunPhase.FAILED, "1 step(s) failed: a: evicted again")]
    # None at all: the first loss is final.
    state = RunState(build_plan(chain("a"), infra_retries=0))
    advance(state, None, 0)
    advance(state, StepFailed(step("a"), 1, "node gone", infrastructure=True), 1)
    assert state.phase is RunPhase.FAILED


def test_a_non_retryable_failure_is_final_and_skips_the_downstream() -> None:
    state = RunState(build_plan(chain("a", "b", "c", policy=RetryPolicy(max_retries=5))))
    advance(state, None, 0)
    advance(state, StepFailed(step("a"), 1, "bad input", retryable=False), 1)
    assert [state.steps[step(n)].phase for n in "abc"] == [
        StepPhase.FAILED,
        StepPhase.SKIPPED,
        StepPhase.SKIPPED,
    ]
    assert state.steps[step("c")].message == "upstream step a failed"
    assert state.phase is RunPhase.FAILED


def test_a_step_past_its_timeout_is_stopped_and_retried() -> None:
    state = RunState(build_plan(chain("slow", policy=RetryPolicy(max_retries=1), timeout=30)))
    advance(state, None, 100)
    assert state.next_wakeup() == 130
    actions = advance(state, Tick(), 130)
    assert actions == [
        StopStep(step("slow"), 1, "timed out after 30s"),
        LaunchStep(step("slow"), 2),
    ]
    # The stopped attempt's late report changes nothing.
    assert advance(state, StepFailed(step("slow"), 1, "killed"), 131) == []
    assert advance(state, StepSucceeded(step("slow"), 1), 131) == []
    assert state.steps[step("slow")].phase is StepPhase.RUNNING
    advance(state, StepSucceeded(step("slow"), 2), 140)
    assert state.phase is RunPhase.SUCCEEDED


def test_cancel_stops_running_steps_and_cancels_the_rest() -> None:
    state = RunState(build_plan(chain("a", "b")))
    advance(state, None, 0)
    actions = advance(state, Cancel("user asked"), 1)
    assert actions == [
        StopStep(step("a"), 1, "user asked"),
        FinishRun(RunPhase.CANCELED, "user asked"),
    ]
    assert {s.phase for s in state.steps.values()} == {StepPhase.CANCELED}
    assert advance(state, StepSucceeded(step("a"), 1), 2) == []


def test_capacity_limits_launches_beyond_max_parallel() -> None:
    graph = AssetGraph([AssetNode(key(n)) for n in "abcd"])
    state = RunState(build_plan(graph, max_parallel=4))
    assert launched(advance(state, None, 0, capacity=1)) == ["a"]
    assert launched(advance(state, Tick(), 1, capacity=0)) == []
    assert launched(advance(state, Tick(), 2)) == ["b", "c", "d"]


def test_state_rebuilt_from_persisted_steps_continues_where_it_stopped() -> None:
    plan = build_plan(chain("a", "b", "c"))
    saved = {
        step("a"): StepState(StepPhase.SUCCEEDED, attempts=1),
        step("b"): StepState(StepPhase.RUNNING, attempts=2, started_at=5),
    }
    state = RunState(plan, saved, phase=RunPhase.RUNNING)
    assert state.counts() == {
        "pending": 1,
        "running": 1,
        "succeeded": 1,
        "failed": 0,
        "skipped": 0,
        "canceled": 0,
        "total": 3,
    }
    assert advance(state, StepSucceeded(step("b"), 1), 6) == []  # an old attempt
    assert launched(advance(state, StepSucceeded(step("b"), 2), 6)) == ["c"]


# Advancing, by property.


@dataclass
class Scenario:
    graph: AssetGraph
    max_parallel: int
    rng: random.Random
    policies: dict[AssetKey, RetryPolicy] = field(default_factory=dict)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    count = draw(st.integers(min_value=1, max_value=10))
    names = [f"s{i}" for i in range(count)]
    nodes = []
    for i, name in enumerate(names):
        deps = draw(st.sets(st.sampled_from(names[:i]), max_size=3)) if i else set()
        policy = RetryPolicy(
            max_retries=draw(st.integers(0, 2)),
            delay=draw(st.sampled_from([0.0, 0.5, 3.0])),
            backoff=draw(st.sampled_from([1.0, 2.0])),
        )
        timeout = draw(st.sampled_from([None, None, 2.0, 10.0]))
        nodes.append(
            AssetNode(
                key(name), tuple(key(d) for d in sorted(deps)), retry_policy=policy, timeout=timeout
            )
        )
    graph = AssetGraph(nodes)
    return Scenario(graph, draw(st.integers(1, 4)), random.Random(draw(st.integers(0, 2**32))))


@dataclass
class Simulation:
    """An executor made of dice: steps end in random order, some reports are replayed."""

    state: RunState
    rng: random.Random
    now: float = 0.0
    running: dict[StepKey, int] = field(default_factory=dict)
    delivered: list[Event] = field(default_factory=list)
    finishes: list[FinishRun] = field(default_factory=list)
    launches: list[LaunchStep] = field(default_factory=list)
    stopped: list[Event] = field(default_factory=list)

    def feed(self, event: Event | None) -> list[Action]:
        actions = advance(self.state, event, self.now)
        for action in actions:
            if isinstance(action, LaunchStep):
                for up in self.state.plan.steps[action.step].upstream:
                    assert self.state.steps[up].phase is StepPhase.SUCCEEDED, (
                        f"{action.step} launched before upstream {up} succeeded"
                    )
                assert action.step not in self.running
                self.running[action.step] = action.attempt
                self.launches.append(action)
            elif isinstance(action, StopStep):
                assert self.running.pop(action.step, None) == action.attempt
                self.stopped.append(StepFailed(action.step, action.attempt, "killed"))
            else:
                self.finishes.append(action)
        running = [k for k, s in self.state.steps.items() if s.phase is StepPhase.RUNNING]
        assert len(running) <= self.state.plan.max_parallel
        assert set(running) == set(self.running)
        if event is not None:
            self.delivered.append(event)
        return actions


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.sampled_from([0.0, 0.0, 0.05]))
def test_random_runs_keep_every_invariant(scenario: Scenario, cancel_rate: float) -> None:
    rng = scenario.rng
    plan = build_plan(scenario.graph, max_parallel=scenario.max_parallel)
    sim = Simulation(RunState(plan), rng)
    sim.feed(None)
    canceled = False
    for _ in range(1000):
        if sim.state.phase.finished:
            break
        sim.now += rng.choice([0.0, 0.1, 1.0, 4.0])
        roll = rng.random()
        if roll < cancel_rate:
            canceled = True
            running_before = dict(sim.running)
            actions = sim.feed(Cancel("stop"))
            stopped = {a.step: a.attempt for a in actions if isinstance(a, StopStep)}
            assert stopped == running_before
            assert not any(isinstance(a, LaunchStep) for a in actions)
            break
        if roll < 0.15 and (sim.delivered or sim.stopped):
            # Once everything due now has happened, a replayed or late report is a no-op.
            sim.feed(Tick())
            if sim.state.phase.finished:
                break
            snapshot = {k: (s.phase, s.attempts) for k, s in sim.state.steps.items()}
            late = rng.choice([*sim.delivered, *sim.stopped])
            assert sim.feed(late) == []
            assert {k: (s.phase, s.attempts) for k, s in sim.state.steps.items()} == snapshot
            continue
        if sim.running:
            done = rng.choice(sorted(sim.running))
            attempt = sim.running.pop(done)
            if rng.random() < 0.35:
                lost = rng.random() < 0.25  # the node, not the code
                failed = StepFailed(done, attempt, "boom", rng.random() < 0.8, lost)
                sim.feed(failed)
            else:
                sim.feed(StepSucceeded(done, attempt))
        else:
            wakeup = sim.state.next_wakeup()
            assert wakeup is not None, "nothing running and nothing due: the run is stuck"
            sim.now = max(sim.now, wakeup)
            sim.feed(Tick())
    state = sim.state
    assert state.phase.finished, "the run did not terminate"
    event(f"run {state.phase.value}")
    event(f"retried: {any(s.attempts > 1 for s in state.steps.values())}")
    event(f"timed out: {bool(sim.stopped) and not canceled}")
    assert len(sim.finishes) == 1 and sim.finishes[0].phase is state.phase
    assert not any(
        s.phase is StepPhase.RUNNING or s.phase is StepPhase.PENDING for s in state.steps.values()
    )
    for key_, current in state.steps.items():
        policy = plan.steps[key_].retry_policy
        assert current.infra_retries <= plan.infra_retries
        assert current.attempts <= policy.max_retries + 1 + current.infra_retries
    if canceled:
        assert state.phase is RunPhase.CANCELED
        return
    failed = [k for k, s in state.steps.items() if s.phase is StepPhase.FAILED]
    closure = {d for f in failed for d in plan.downstream_closure(f)}
    skipped = {k for k, s in state.steps.items() if s.phase is StepPhase.SKIPPED}
    assert skipped == closure - set(failed)
    assert {k for k, s in state.steps.items() if s.phase is StepPhase.SUCCEEDED} == set(
        plan.steps
    ) - closure - set(failed)
    assert state.phase is (RunPhase.FAILED if failed else RunPhase.SUCCEEDED)
    # A finished run ignores everything.
    for late in [*sim.delivered[-3:], Tick(), Cancel()]:
        assert advance(state, late, sim.now + 100) == []


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_all_successes_in_plan_order_run_every_step_once(scenario: Scenario) -> None:
    plan = build_plan(scenario.graph, max_parallel=scenario.max_parallel)
    state = RunState(plan)
    queue = [a for a in advance(state, None, 0) if isinstance(a, LaunchStep)]
    seen: list[StepKey] = []
    while queue:
        action = queue.pop(0)
        seen.append(action.step)
        queue += [
            a
            for a in advance(state, StepSucceeded(action.step, action.attempt), 1)
            if isinstance(a, LaunchStep)
        ]
    assert sorted(seen) == sorted(plan.steps)
    assert state.phase is RunPhase.SUCCEEDED


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.data())
def test_a_failure_skips_exactly_its_downstream_closure(
    scenario: Scenario, data: st.DataObject
) -> None:
    plan = build_plan(scenario.graph, max_parallel=100)
    victim = data.draw(st.sampled_from(sorted(plan.steps)))
    state = RunState(plan)
    queue = [a for a in advance(state, None, 0) if isinstance(a, LaunchStep)]
    while queue:
        action = queue.pop(0)
        event: Event = (
            StepFailed(action.step, action.attempt, "x", retryable=False)
            if action.step == victim
            else StepSucceeded(action.step, action.attempt)
        )
        queue += [a for a in advance(state, event, 1) if isinstance(a, LaunchStep)]
    skipped = {k for k, s in state.steps.items() if s.phase is StepPhase.SKIPPED}
    assert skipped == set(plan.downstream_closure(victim))
    assert state.steps[victim].phase is StepPhase.FAILED
