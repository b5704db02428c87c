"""`@asset`: a Python function that produces one data asset.

Upstream assets are the function's parameters, by name; `ins` renames them and `deps`
adds order-only upstreams. Mistakes raise a `DefinitionError` naming the asset at
decoration time; what needs the whole graph (missing upstreams, cycles) is checked by
`Definitions`.
"""

from __future__ import annotations

import inspect
import re
import sys
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack, overload

from kasset.definitions.keys import AssetKey, CoercibleToAssetKey
from kasset.definitions.partition_mappings import PartitionMapping
from kasset.definitions.partitions import PartitionsDefinition
from kasset.definitions.policies import Resources, RetryPolicy, Toleration
from kasset.errors import DefinitionError

__all__ = ["AssetIn", "AssetsDefinition", "asset"]

CONTEXT_PARAM = "context"
CONFIG_PARAM = "config"
DEFAULT_GROUP = "default"
DEFAULT_IO_MANAGER_KEY = "io_manager"
_OWNER = re.compile(r"^(team:[A-Za-z0-9_.-]+|[^@\s]+@[^@\s]+\.[^@\s]+)$")


@dataclass(frozen=True)
class AssetIn:
    """Names the upstream asset a parameter receives: `ins={"orders": AssetIn("raw/orders")}`."""

    key: CoercibleToAssetKey | None = None
    key_prefix: str | Sequence[str] | None = None
    partition_mapping: PartitionMapping | None = None


@dataclass(frozen=True)
class InputSpec:
    """One value parameter: the upstream key if declared, else resolved by `Definitions`."""

    param: str
    key: AssetKey | None
    prefix: tuple[str, ...] = ()
    partition_mapping: PartitionMapping | None = None


@dataclass
class AssetsDefinition:
    """What `@asset` makes of a function. Calling it calls the function."""

    key: AssetKey
    fn: Callable[..., Any]
    inputs: tuple[InputSpec, ...]
    deps: tuple[AssetKey, ...] = ()
    group: str = DEFAULT_GROUP
    tags: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    description: str | None = None
    code_version: str | None = None
    partitions_def: PartitionsDefinition | None = None
    retry_policy: RetryPolicy | None = None
    resources: Resources | None = None
    image: str | None = None
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Toleration, ...] = ()
    timeout: float | None = None
    context_param: str | None = None
    resource_params: tuple[str, ...] = ()
    #: The parameter named `config` and its Config class, when the function takes one.
    config_param: str | None = None
    config_type: type | None = None
    config_schema: Any = None
    required_resource_keys: tuple[str, ...] = ()
    io_manager_key: str = DEFAULT_IO_MANAGER_KEY
    owners: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    op_tags: Mapping[str, Any] = field(default_factory=dict)
    pool: str | None = None

    @property
    def op_name(self) -> str:
        """Dagster's op name of the asset: its key's parts joined by `__`."""
        return "__".join(self.key.path)

    #: Mappings of `deps` given as `AssetDep(key, partition_mapping=...)`.
    dep_partition_mappings: Mapping[AssetKey, PartitionMapping] = field(default_factory=dict)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<asset {self.key}>"


class AssetOptions(TypedDict, total=False):
    """The options of `@asset(...)`; see the README for what each means."""

    name: str
    key: CoercibleToAssetKey
    key_prefix: str | Sequence[str]
    ins: Mapping[str, AssetIn]
    deps: Sequence[Any]
    group: str
    group_name: str
    tags: Mapping[str, str]
    metadata: Mapping[str, Any]
    description: str
    code_version: str
    partitions_def: PartitionsDefinition
    retry_policy: RetryPolicy
    resources: Resources
    image: str
    node_selector: Mapping[str, str]
    tolerations: Sequence[Toleration]
    timeout: float
    required_resource_keys: Sequence[str]
    owners: Sequence[str]
    kinds: Sequence[str] | set[str]
    compute_kind: str
    op_tags: Mapping[str, Any]
    pool: str
    io_manager_key: str
    config_schema: Any
    non_argument_deps: Sequence[Any]
    output_required: bool


@overload
def asset(fn: Callable[..., Any], /) -> AssetsDefinition: ...


@overload
def asset(
    **options: Unpack[AssetOptions],
) -> Callable[[Callable[..., Any]], AssetsDefinition]: ...


def asset(
    fn: Callable[..., Any] | None = None,
    /,
    **options: Unpack[AssetOptions],
) -> AssetsDefinition | Callable[[Callable[..., Any]], AssetsDefinition]:
    """Declares an asset. Use bare (`@asset`) or with options (`@asset(group="raw")`)."""
    unknown = sorted(set(options) - set(AssetOptions.__annotations__))
    if unknown:
        raise DefinitionError(f"@asset got unknown option(s): {', '.join(unknown)}")
    if fn is not None:
        return _build_asset(fn, options)

    def decorate(func: Callable[..., Any]) -> AssetsDefinition:
        return _build_asset(func, options)

    return decorate


def _build_asset(fn: Callable[..., Any], options: AssetOptions) -> AssetsDefinition:
    name = options.get("name")
    key = options.get("key")
    key_prefix = options.get("key_prefix")
    group, group_name = options.get("group"), options.get("group_name")
    tags = options.get("tags")
    partitions_def = options.get("partitions_def")
    retry_policy = options.get("retry_policy")
    resources = options.get("resources")
    timeout = options.get("timeout")
    if not callable(fn):
        raise DefinitionError(f"@asset decorates a function, got {fn!r}")
    fn_name = getattr(fn, "__name__", repr(fn))
    prefix = _prefix(key_prefix)
    if key is not None:
        asset_key = AssetKey.from_coercible(key)
    else:
        asset_key = AssetKey([*prefix, name or fn_name])
    where = f"asset '{asset_key}' ({_location(fn)})"
    if group is not None and group_name is not None and group != group_name:
        raise DefinitionError(f"{where}: give group or group_name, not both")
    group = group or group_name or DEFAULT_GROUP
    _check_label(group, "group", where)
    for tag_key, tag_value in (tags or {}).items():
        if not isinstance(tag_value, str):
            raise DefinitionError(f"{where}: tag {tag_key!r} must have a string value")
    if partitions_def is not None and not isinstance(partitions_def, PartitionsDefinition):
        raise DefinitionError(f"{where}: partitions_def must be a PartitionsDefinition")
    if retry_policy is not None and not isinstance(retry_policy, RetryPolicy):
        raise DefinitionError(f"{where}: retry_policy must be a RetryPolicy")
    if resources is not None and not isinstance(resources, Resources):
        raise DefinitionError(f"{where}: resources must be a kasset.Resources (cpu, memory)")
    if timeout is not None and timeout <= 0:
        raise DefinitionError(f"{where}: timeout must be positive seconds")
    required = tuple(options.get("required_resource_keys") or ())
    inputs, context_param, resource_params, config = _inputs_of(
        fn, options.get("ins") or {}, prefix, set(required), where
    )
    dep_keys, dep_mappings = _deps_of(options)
    owners = tuple(options.get("owners") or ())
    for owner in owners:
        if not isinstance(owner, str) or not _OWNER.match(owner):
            raise DefinitionError(
                f"{where}: owner {owner!r} must be an email address or 'team:NAME'"
            )
    kinds = tuple(sorted(options.get("kinds") or ()))
    if options.get("compute_kind"):
        kinds = tuple(sorted({*kinds, str(options["compute_kind"])}))
    if len(kinds) > 3:
        raise DefinitionError(f"{where}: at most 3 kinds, got {', '.join(kinds)}")
    io_manager_key = options.get("io_manager_key") or DEFAULT_IO_MANAGER_KEY
    if not str(io_manager_key).isidentifier():
        raise DefinitionError(f"{where}: io_manager_key {io_manager_key!r} must be an identifier")
    pool = options.get("pool")
    if pool is not None:
        _check_label(pool, "pool", where)
    return AssetsDefinition(
        key=asset_key,
        fn=fn,
        inputs=inputs,
        deps=dep_keys,
        group=group,
        tags=dict(tags or {}),
        metadata=dict(options.get("metadata") or {}),
        description=options.get("description") or inspect.getdoc(fn),
        code_version=options.get("code_version"),
        partitions_def=partitions_def,
        retry_policy=retry_policy,
        resources=resources,
        image=options.get("image"),
        node_selector=dict(options.get("node_selector") or {}),
        tolerations=tuple(options.get("tolerations") or ()),
        timeout=timeout,
        context_param=context_param,
        resource_params=resource_params,
        config_param=config[0] if config else None,
        config_type=config[1] if config else None,
        config_schema=options.get("config_schema"),
        required_resource_keys=required,
        io_manager_key=io_manager_key,
        owners=owners,
        kinds=kinds,
        op_tags=dict(options.get("op_tags") or {}),
        pool=pool,
        dep_partition_mappings=dep_mappings,
    )


def _deps_of(
    options: AssetOptions,
) -> tuple[tuple[AssetKey, ...], dict[AssetKey, PartitionMapping]]:
    """The keys of `deps` (and Dagster's older `non_argument_deps`), and the partition
    mappings of those given as `AssetDep(key, partition_mapping=...)`."""
    deps = [*(options.get("deps") or ()), *(options.get("non_argument_deps") or ())]
    mappings = {
        AssetKey.from_coercible(d): mapping
        for d in deps
        if (mapping := getattr(d, "partition_mapping", None)) is not None
    }
    return tuple(AssetKey.from_coercible(d) for d in deps), mappings


def _inputs_of(
    fn: Callable[..., Any],
    ins: Mapping[str, AssetIn],
    prefix: tuple[str, ...],
    resource_keys: set[str],
    where: str,
) -> tuple[tuple[InputSpec, ...], str | None, tuple[str, ...], tuple[str, type] | None]:
    params = inspect.signature(fn).parameters
    hints = _type_hints(fn)
    config: tuple[str, type] | None = None
    unknown = sorted(set(ins) - set(params))
    if unknown:
        raise DefinitionError(
            f"{where}: ins names {', '.join(unknown)}, not parameters of the function"
        )
    inputs: list[InputSpec] = []
    context_param: str | None = None
    resource_params: list[str] = []
    for param in params.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise DefinitionError(f"{where}: *args and **kwargs are not supported")
        annotation = hints.get(param.name, param.annotation)
        if param.name == CONTEXT_PARAM or _is_context_annotation(param.annotation):
            context_param = param.name
        elif _config_class(annotation) is not None and param.name not in ins:
            if param.name != CONFIG_PARAM:
                raise DefinitionError(
                    f"{where}: a Config parameter must be named 'config', not '{param.name}'"
                )
            config = (param.name, annotation)
        elif param.name in resource_keys or _is_resource_annotation(annotation):
            resource_params.append(param.name)
        elif param.name in ins:
            spec = ins[param.name]
            in_prefix = _prefix(spec.key_prefix) if spec.key_prefix is not None else prefix
            key = AssetKey.from_coercible(spec.key) if spec.key is not None else None
            if spec.partition_mapping is not None and not isinstance(
                spec.partition_mapping, PartitionMapping
            ):
                raise DefinitionError(f"{where}: partition_mapping must be a PartitionMapping")
            inputs.append(InputSpec(param.name, key, in_prefix, spec.partition_mapping))
        elif param.default is param.empty:
            inputs.append(InputSpec(param.name, None, prefix))
    return tuple(inputs), context_param, tuple(resource_params), config


def _type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """The function's annotations evaluated (string ones too); {} when they cannot be."""
    try:
        return typing.get_type_hints(fn)
    except Exception:  # a forward reference to a name that is not importable here
        return {}


def _config_class(annotation: Any) -> type | None:
    # Only a module that defines Config classes can have loaded it: no pydantic otherwise.
    config = sys.modules.get("kasset.definitions.config")
    if config is None or not isinstance(annotation, type):
        return None
    return annotation if issubclass(annotation, config.Config) else None


def _is_resource_annotation(annotation: Any) -> bool:
    config = sys.modules.get("kasset.definitions.config")
    if config is None or not isinstance(annotation, type):
        return getattr(annotation, "__kasset_resource_param__", False) is True
    return issubclass(annotation, config.ConfigurableResource)


def _is_context_annotation(annotation: Any) -> bool:
    name = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return isinstance(name, str) and name.endswith("AssetExecutionContext")


def _prefix(key_prefix: str | Sequence[str] | None) -> tuple[str, ...]:
    if key_prefix is None:
        return ()
    return (key_prefix,) if isinstance(key_prefix, str) else tuple(key_prefix)


def _check_label(value: str, what: str, where: str) -> None:
    if not value or len(value) > 63 or not value.replace("_", "a").replace("-", "a").isalnum():
        raise DefinitionError(f"{where}: {what} {value!r} must be 1-63 letters, digits, '_' or '-'")


def _location(fn: Callable[..., Any]) -> str:
    code = getattr(fn, "__code__", None)
    if code is None:
        return getattr(fn, "__qualname__", repr(fn))
    return f"{code.co_filename}:{code.co_firstlineno}"
