"""`EnvVar("NAME")`: a setting read from the step's environment when the step runs, not
when the code is imported or compiled, so a secret never enters a compiled graph."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from kasset.errors import DefinitionError

__all__ = ["EnvVar"]


class EnvVar(str):
    """The name of an environment variable, used in place of a config or resource value:
    `Warehouse(password=EnvVar("WAREHOUSE_PASSWORD"))`. On the cluster the variable can
    come from a Kubernetes Secret (`kasset compile --secret-env NAME=secret:key`)."""

    convert: type = str

    @property
    def env_var_name(self) -> str:
        return str.__str__(self)

    def get_value(
        self, default: str | None = None, environ: Mapping[str, str] | None = None
    ) -> Any:
        """The variable's value; a DefinitionError naming it when unset and no default."""
        value = (os.environ if environ is None else environ).get(self.env_var_name, default)
        if value is None:
            raise DefinitionError(f"environment variable {self.env_var_name} is not set")
        try:
            return self.convert(value)
        except ValueError:
            raise DefinitionError(
                f"environment variable {self.env_var_name}={value!r} "
                f"is not a {self.convert.__name__}"
            ) from None

    @classmethod
    def int(cls, name: str) -> EnvVar:
        """`EnvVar.int("PORT")`: converted to an int when read."""
        variable = cls(name)
        variable.convert = int
        return variable

    def __repr__(self) -> str:
        return f"EnvVar({self.env_var_name!r})"
