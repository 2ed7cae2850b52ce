"""Load fitted scikit-learn estimators from bytes and describe them: features, task, parameters."""

from __future__ import annotations

import io
import platform
from typing import Any

from app.core.errors import InvalidInputError

__all__ = ["load_estimator", "describe_estimator", "expected_features", "library_versions", "jsonable_params"]


def load_estimator(data: bytes, *, source: str):
    """Unpickle `data` (call only after the scan passed or the user trusted the file)."""
    import joblib

    try:
        obj = joblib.load(io.BytesIO(data))
    except Exception as exc:
        raise InvalidInputError(
            f"'{source}' could not be loaded as a model: {type(exc).__name__}: {exc}",
            hint="It may have been saved with incompatible library versions.",
        ) from None
    if not (hasattr(obj, "fit") and hasattr(obj, "predict")):
        raise InvalidInputError(
            f"'{source}' holds a {type(obj).__module__}.{type(obj).__name__}, not a scikit-learn "
            "estimator or pipeline (it has no fit/predict).",
        )
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(obj)
    except NotFittedError:
        raise InvalidInputError(f"The model in '{source}' has not been fitted yet.",
                                hint="Fit it on the training data before registering.") from None
    except TypeError:
        pass  # not a BaseEstimator; has fit/predict, accept it
    return obj


def expected_features(estimator, columns: list[str], target: str) -> list[str]:
    """The columns the estimator was fitted on; raise listing what the data lacks."""
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None:
        names = [str(n) for n in names]
        missing = [n for n in names if n not in columns]
        if missing:
            raise InvalidInputError(
                f"The data lacks {len(missing)} feature(s) the model was trained on: "
                f"{', '.join(missing[:20])}{' …' if len(missing) > 20 else ''}."
            )
        if target in names:
            raise InvalidInputError(f"The target column '{target}' is also one of the model's input features.")
        return names
    candidates = [c for c in columns if c != target]
    n_expected = getattr(estimator, "n_features_in_", None)
    if n_expected is not None and n_expected != len(candidates):
        raise InvalidInputError(
            f"The model expects {n_expected} features but the data has {len(candidates)} columns "
            f"besides the target '{target}'.",
            hint="Fit the model on a DataFrame so that it records its feature names, or drop extra columns.",
        )
    return candidates


def describe_estimator(estimator) -> dict[str, Any]:
    """Class path, task type, classes and JSON-safe parameters of a fitted estimator."""
    from sklearn.base import is_classifier, is_regressor

    cls = type(estimator)
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    if is_classifier(estimator):
        task = "classification"
    elif is_regressor(estimator):
        task = "regression"
    else:
        task = "classification" if hasattr(final, "classes_") else "regression"
    classes = getattr(final, "classes_", None)
    return {
        "estimator_class": f"{cls.__module__}.{cls.__qualname__}",
        "final_estimator": f"{type(final).__module__}.{type(final).__qualname__}",
        "task": task,
        "classes": [str(c) for c in classes] if classes is not None and task == "classification" else None,
        "params": jsonable_params(estimator),
    }


def jsonable_params(estimator) -> dict[str, Any]:
    """get_params(deep=True), with anything not plain JSON rendered by repr."""
    try:
        params = estimator.get_params(deep=True)
    except Exception:
        return {}
    out: dict[str, Any] = {}
    for key, value in sorted(params.items()):
        if value is None or isinstance(value, (bool, int, float, str)):
            out[key] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, (bool, int, float, str)) for v in value):
            out[key] = list(value)
        else:
            text = repr(value)
            out[key] = text if len(text) <= 300 else text[:297] + "..."
    return out


def library_versions() -> dict[str, str]:
    import joblib
    import numpy
    import pandas
    import sklearn

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "joblib": joblib.__version__,
    }
