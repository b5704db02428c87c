"""`Definitions`: the assets, checks and schedules of one code location, validated.

Everything that needs the whole graph is checked here, when the user's module is
imported: duplicate keys, upstreams that do not exist, cycles, checks of unknown assets,
incompatible partitions, schedules that select nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from kasset.definitions.asset import DEFAULT_IO_MANAGER_KEY, AssetsDefinition, InputSpec
from kasset.definitions.check import AssetChecksDefinition
from kasset.definitions.jobs import JobDefinition, UnresolvedAssetJobDefinition, resolve_job
from kasset.definitions.keys import AssetKey
from kasset.definitions.partition_mappings import PartitionMapping, infer_partition_mapping
from kasset.definitions.schedule import ScheduleDefinition
from kasset.errors import DefinitionError, PartitionError
from kasset.graph import AssetGraph, AssetNode, CheckNode, _suggest

__all__ = ["Definitions", "ResolvedInputs", "call_definitions_functions", "definitions"]


@dataclass(frozen=True)
class ResolvedInputs:
    """Which upstream asset each value parameter of a function receives."""

    by_param: Mapping[str, AssetKey]
    resource_params: tuple[str, ...] = ()


class Definitions:
    """The contents of a code location: `defs = Definitions(assets=[...], ...)`.

    `io_manager` stores values between steps (default: pickles under the storage URI);
    `resources` are plain objects handed to functions by parameter name.
    """

    def __init__(
        self,
        assets: Iterable[AssetsDefinition | AssetChecksDefinition] = (),
        asset_checks: Iterable[AssetChecksDefinition] = (),
        schedules: Iterable[ScheduleDefinition] = (),
        io_manager: Any = None,
        resources: Mapping[str, Any] | None = None,
        jobs: Iterable[UnresolvedAssetJobDefinition] = (),
        sensors: Iterable[Any] = (),
        executor: Any = None,
        loggers: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        if list(sensors):
            raise DefinitionError(
                "Definitions(sensors=...): kasset has no sensors yet; use a ScheduleDefinition, "
                "or create a Materialization from your own controller"
            )
        if executor is not None:
            raise DefinitionError(
                "Definitions(executor=...): kasset runs each step in its own pod (or process "
                "with --local); there is no executor to choose"
            )
        self.metadata = dict(metadata or {})
        self.assets: dict[AssetKey, AssetsDefinition] = {}
        checks: list[AssetChecksDefinition] = list(asset_checks)
        for item in assets:
            if isinstance(item, AssetChecksDefinition):
                checks.append(item)
            elif isinstance(item, AssetsDefinition):
                if item.key in self.assets:
                    raise DefinitionError(
                        f"duplicate asset key '{item.key}': defined by "
                        f"{_fn_name(self.assets[item.key])} and {_fn_name(item)}"
                    )
                self.assets[item.key] = item
            else:
                raise DefinitionError(
                    f"Definitions(assets=...) takes @asset functions, got {item!r}"
                )
        self.resources: dict[str, Any] = dict(resources or {})
        self.io_manager = io_manager
        self._check_io_manager_keys()
        self.checks: dict[AssetKey, list[AssetChecksDefinition]] = {}
        for check in checks:
            self._add_check(check)
        self.inputs: dict[AssetKey, ResolvedInputs] = {
            key: self._resolve(definition.key, definition.inputs, definition.resource_params)
            for key, definition in self.assets.items()
        }
        self.check_inputs: dict[str, ResolvedInputs] = {
            check.qualified_name: self._resolve(check.asset_key, check.inputs, ())
            for checks_of in self.checks.values()
            for check in checks_of
        }
        self._check_partitions()
        self.graph = AssetGraph(self._nodes())
        self.jobs: dict[str, JobDefinition] = {}
        for job in [*jobs, *(s.job for s in schedules if s.job is not None)]:
            if not isinstance(job, UnresolvedAssetJobDefinition):
                raise DefinitionError(
                    f"Definitions(jobs=...) takes define_asset_job(...), got {job!r}"
                )
            known = self.jobs.get(job.name)
            if known is not None and known.source is not job:
                raise DefinitionError(f"duplicate job name '{job.name}'")
            self.jobs[job.name] = resolve_job(job, self.graph)
        self.schedules: dict[str, ScheduleDefinition] = {}
        for given in schedules:
            schedule = given
            if given.job is not None:
                schedule = given.for_job(self.jobs[given.job.name].selection)
            if schedule.name in self.schedules:
                raise DefinitionError(f"duplicate schedule name '{schedule.name}'")
            try:
                self.graph.select(schedule.selection)
            except DefinitionError as error:
                raise DefinitionError(f"schedule '{schedule.name}': {error}") from None
            self.schedules[schedule.name] = schedule

    def _add_check(self, check: AssetChecksDefinition) -> None:
        if check.asset_key not in self.assets:
            known = (k.to_string() for k in self.assets)
            raise DefinitionError(
                f"check '{check.name}' is of asset '{check.asset_key}', which is not defined"
                f"{_suggest(check.asset_key.to_string(), known)}"
            )
        siblings = self.checks.setdefault(check.asset_key, [])
        if any(c.name == check.name for c in siblings):
            raise DefinitionError(f"asset '{check.asset_key}' has two checks named '{check.name}'")
        siblings.append(check)

    def _resolve(
        self, owner: AssetKey, inputs: tuple[InputSpec, ...], resource_params: tuple[str, ...]
    ) -> ResolvedInputs:
        by_param: dict[str, AssetKey] = {}
        resources = list(resource_params)
        for spec in inputs:
            if spec.key is not None:
                if spec.key not in self.assets:
                    raise DefinitionError(
                        f"asset '{owner}' depends on '{spec.key}', which is not defined"
                        f"{_suggest(spec.key.to_string(), (k.to_string() for k in self.assets))}"
                    )
                by_param[spec.param] = spec.key
            elif spec.param in self.resources:
                resources.append(spec.param)
            else:
                by_param[spec.param] = self._infer_key(owner, spec)
        return ResolvedInputs(by_param, tuple(resources))

    def _infer_key(self, owner: AssetKey, spec: InputSpec) -> AssetKey:
        for candidate in (AssetKey([*spec.prefix, spec.param]), AssetKey(spec.param)):
            if candidate in self.assets:
                return candidate
        by_name = sorted(k for k in self.assets if k.name == spec.param)
        if len(by_name) == 1:
            return by_name[0]
        if by_name:
            names = ", ".join(k.to_string() for k in by_name)
            raise DefinitionError(
                f"asset '{owner}': parameter '{spec.param}' could be any of "
                f"{names}; name it with ins={{'{spec.param}': AssetIn(...)}}"
            )
        raise DefinitionError(
            f"asset '{owner}' depends on '{spec.param}', which is not defined"
            f"{_suggest(spec.param, (k.name for k in self.assets))} (a parameter that is not an "
            "upstream asset needs a default value, or a name in Definitions(resources=...))"
        )

    def _check_partitions(self) -> None:
        """Each partitioned edge has a mapping that fits both sides (checked by mapping
        one downstream key now, so a wrong kind fails at definition time)."""
        for key, definition in self.assets.items():
            mine = definition.partitions_def
            for upstream in [*self.inputs[key].by_param.values(), *definition.deps]:
                theirs = self.assets[upstream].partitions_def if upstream in self.assets else None
                given = self.partition_mappings(key).get(upstream)
                if given is not None and (mine is None or theirs is None):
                    raise DefinitionError(
                        f"asset '{key}': a partition_mapping for '{upstream}' needs both "
                        "assets partitioned"
                    )
                if mine is None or theirs is None:
                    continue
                mapping = infer_partition_mapping(theirs, mine, given)
                try:
                    sample = [mine.key_at(0)] if mine.count() else []
                    mapped = mapping.upstream_keys(mine, sample, theirs)
                    if sample and not mapped and given is None and mine != theirs:
                        raise PartitionError(
                            "they share no partition key; give AssetIn(partition_mapping=...)"
                        )
                except (PartitionError, ValueError, IndexError, AssertionError) as error:
                    raise DefinitionError(
                        f"asset '{key}' ({mine!r}) depends on '{upstream}' ({theirs!r}): "
                        f"{type(mapping).__name__} cannot map them: {error}"
                    ) from None

    def partition_mappings(self, key: AssetKey) -> dict[AssetKey, PartitionMapping]:
        """The mappings `key`'s function gave for its upstreams (AssetIn or AssetDep)."""
        definition = self.assets[key]
        given: dict[AssetKey, PartitionMapping] = dict(definition.dep_partition_mappings)
        resolved = self.inputs[key].by_param
        for spec in definition.inputs:
            if spec.partition_mapping is not None and spec.param in resolved:
                given[resolved[spec.param]] = spec.partition_mapping
        return given

    def _nodes(self) -> list[AssetNode]:
        from kasset.definitions.policies import NO_RETRIES

        nodes = []
        for key, definition in self.assets.items():
            extra_deps = [
                k
                for c in self.checks.get(key, [])
                for k in self.check_inputs[c.qualified_name].by_param.values()
            ]
            deps = dict.fromkeys(
                [
                    *self.inputs[key].by_param.values(),
                    *definition.deps,
                    *(k for k in extra_deps if k != key),
                ]
            )
            nodes.append(
                AssetNode(
                    key=key,
                    deps=tuple(deps),
                    group=definition.group,
                    tags=definition.tags,
                    partitions=definition.partitions_def,
                    checks=tuple(
                        CheckNode(c.name, c.blocking, c.description)
                        for c in self.checks.get(key, [])
                    ),
                    retry_policy=definition.retry_policy or NO_RETRIES,
                    timeout=definition.timeout,
                    partition_mappings=self.partition_mappings(key),
                )
            )
        return nodes

    @cached_property
    def all_checks(self) -> list[AssetChecksDefinition]:
        return [c for key in self.graph.order for c in self.checks.get(key, [])]

    def _check_io_manager_keys(self) -> None:
        for key, definition in self.assets.items():
            wanted = definition.io_manager_key
            if wanted != DEFAULT_IO_MANAGER_KEY and wanted not in self.resources:
                raise DefinitionError(
                    f"asset '{key}' names io_manager_key '{wanted}', which is not in "
                    f"Definitions(resources=...){_suggest(wanted, self.resources)}"
                )

    def get_job_def(self, name: str) -> JobDefinition:
        try:
            return self.jobs[name]
        except KeyError:
            raise DefinitionError(f"no job named '{name}'{_suggest(name, self.jobs)}") from None

    resolve_job_def = get_job_def

    def get_schedule_def(self, name: str) -> ScheduleDefinition:
        return self.schedules[name]

    def get_assets_def(self, key: AssetKey | str) -> AssetsDefinition:
        return self.get_asset(AssetKey.from_coercible(key) if not isinstance(key, str) else key)

    @staticmethod
    def merge(*many: Definitions) -> Definitions:
        """One Definitions of several (their assets, checks, jobs, schedules, resources)."""
        resources: dict[str, Any] = {}
        for defs in many:
            for name, value in defs.resources.items():
                if name in resources and resources[name] is not value:
                    raise DefinitionError(f"Definitions.merge: two resources named '{name}'")
                resources[name] = value
        return Definitions(
            assets=[a for d in many for a in d.assets.values()],
            asset_checks=[c for d in many for c in d.all_checks],
            schedules=[s for d in many for s in d.schedules.values()],
            resources=resources,
            jobs=[j.source for d in many for j in d.jobs.values() if j.source is not None],
            io_manager=next((d.io_manager for d in many if d.io_manager is not None), None),
        )

    def get_asset(self, key: AssetKey | str) -> AssetsDefinition:
        asset_key = self.graph.resolve_key(key) if isinstance(key, str) else key
        return self.assets[asset_key]

    def __repr__(self) -> str:
        return f"Definitions({len(self.assets)} assets, {len(self.schedules)} schedules)"


def _fn_name(definition: AssetsDefinition) -> str:
    return getattr(definition.fn, "__qualname__", repr(definition.fn))


def definitions(fn: Any) -> Any:
    """`@definitions` on a function that returns a Definitions: the code location calls
    it when it is loaded."""
    fn.__kasset_definitions__ = True
    return fn


def call_definitions_functions(module: Any) -> None:
    """Replaces each `@definitions` function of a loaded module by the Definitions it
    returns, so the loaders find it like a module-level `defs = Definitions(...)`."""
    for name, value in list(vars(module).items()):
        if callable(value) and getattr(value, "__kasset_definitions__", False) is True:
            made = value()
            if not isinstance(made, Definitions):
                raise DefinitionError(
                    f"@definitions function {module.__name__}.{name} returned "
                    f"{type(made).__name__}, not a Definitions"
                )
            setattr(module, name, made)
