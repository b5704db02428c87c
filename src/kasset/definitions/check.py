"""`@asset_check`: a function that judges an asset's freshly stored value."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kasset.definitions.asset import CONTEXT_PARAM, InputSpec, _is_context_annotation, _location
from kasset.definitions.keys import AssetKey, CoercibleToAssetKey
from kasset.errors import DefinitionError

__all__ = ["AssetChecksDefinition", "asset_check"]


@dataclass
class AssetChecksDefinition:
    """One check of one asset. The first value parameter receives the asset's value; any
    further parameters name other assets, resolved like an asset's inputs."""

    name: str
    asset_key: AssetKey
    fn: Callable[..., Any]
    blocking: bool = False
    description: str | None = None
    value_param: str | None = None
    inputs: tuple[InputSpec, ...] = ()
    context_param: str | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    @property
    def qualified_name(self) -> str:
        return f"{self.asset_key}:{self.name}"


def asset_check(
    *,
    asset: CoercibleToAssetKey | Any,
    name: str | None = None,
    blocking: bool = False,
    description: str | None = None,
    additional_deps: Sequence[Any] | None = None,
) -> Callable[[Callable[..., Any]], AssetChecksDefinition]:
    """Declares a check: `@asset_check(asset=orders, blocking=True)`. With `blocking=True`,
    a failed check of severity ERROR stops everything downstream of the asset."""
    asset_key = AssetKey.from_coercible(asset)

    def decorate(fn: Callable[..., Any]) -> AssetChecksDefinition:
        check_name = str(name or getattr(fn, "__name__", "check"))
        where = f"check '{check_name}' of asset '{asset_key}' ({_location(fn)})"
        if not check_name.isidentifier():
            raise DefinitionError(f"{where}: the name must be a Python identifier")
        if additional_deps:
            raise DefinitionError(f"{where}: additional_deps are not supported; add parameters")
        value_param: str | None = None
        context_param: str | None = None
        inputs: list[InputSpec] = []
        for param in inspect.signature(fn).parameters.values():
            if param.name == CONTEXT_PARAM or _is_context_annotation(param.annotation):
                context_param = param.name
            elif value_param is None:
                value_param = param.name
            elif param.default is param.empty:
                inputs.append(InputSpec(param.name, None, asset_key.prefix))
        return AssetChecksDefinition(
            name=check_name,
            asset_key=asset_key,
            fn=fn,
            blocking=blocking,
            description=description or inspect.getdoc(fn),
            value_param=value_param,
            inputs=tuple(inputs),
            context_param=context_param,
        )

    return decorate
