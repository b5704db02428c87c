"""A least-squares `LinearRegression` with scikit-learn's `fit` / `coef_` surface, in numpy,
so the example needs nothing beyond pandas."""

from __future__ import annotations

from typing import Any

import numpy

__all__ = ["LinearRegression"]


class LinearRegression:
    """Ordinary least squares without an intercept: with one-hot inputs, each coefficient
    is the mean of the target over the rows of that category."""

    coef_: Any

    def fit(self, features: Any, target: Any) -> LinearRegression:
        matrix = numpy.asarray(features, dtype=float)
        values = numpy.asarray(target, dtype=float)
        self.coef_, *_ = numpy.linalg.lstsq(matrix, values, rcond=None)
        return self

    def predict(self, features: Any) -> Any:
        return numpy.asarray(features, dtype=float) @ self.coef_
