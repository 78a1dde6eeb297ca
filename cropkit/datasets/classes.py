"""The classes a dataset holds and a model answers, and how their indices line up.

A dataset records its class list per tier (attributes ``classes_tier4`` ...) and the
taxonomy it was built against (:meth:`cropkit.core.taxonomy.Taxonomy.to_attrs`); a model
records the class list it was trained on. Datasets built against one taxonomy share
its class indices, so scoring needs no re-mapping. When the lists differ (a dataset
built against another taxonomy, a flat taxonomy made from other labels),
:func:`to_dataset_classes` re-maps a model's predictions to the dataset's indices by
class name, with a warning, or refuses when the dataset cannot name a class the model
predicts.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from ..core.errors import ClassMismatchError, DataError, TaxonomyError
from ..core.taxonomy import TIERS, Taxonomy, load_taxonomy, plain_names

__all__ = [
    "ClassesRemappedWarning",
    "class_names",
    "dataset_taxonomy",
    "check_taxonomy",
    "to_dataset_classes",
]


class ClassesRemappedWarning(UserWarning):
    """A model's predictions were re-mapped by name to a dataset's other class list."""


def class_names(ds: xr.Dataset, tier: str = "tier4") -> list[str]:
    """Class names of ``tier`` in a dataset made here (index order)."""
    key = f"classes_{tier}"
    if key not in ds.attrs:
        raise DataError(f"The dataset has no {key!r} attribute; tiers are {TIERS}.")
    return plain_names(ds.attrs[key])


def dataset_taxonomy(ds: xr.Dataset) -> Taxonomy:
    """The taxonomy ``ds`` was built against.

    Datasets made by cropkit carry it (attributes ``taxonomy`` and ``taxonomy_table``);
    older ones fall back to cropkit's table, checked against their classes.

    Raises
    ------
    TaxonomyError
        If the dataset carries none and its classes are not all in cropkit's table.
    """
    own = Taxonomy.from_attrs(ds.attrs)
    return own if own is not None else check_taxonomy(ds, load_taxonomy())


def check_taxonomy(ds: xr.Dataset, taxonomy: Taxonomy | str | None = None) -> Taxonomy:
    """``taxonomy`` (the dataset's own by default), checked to know every class of ``ds``.

    Run before training, so a dataset scored against the wrong taxonomy fails first,
    not after the fit.

    Raises
    ------
    TaxonomyError
        Naming the tier-4 classes of ``ds`` that ``taxonomy`` lacks.
    """
    if taxonomy is None:
        return dataset_taxonomy(ds)
    taxonomy = load_taxonomy(taxonomy)
    labels = np.asarray(ds["tier4"].values).ravel() if "tier4" in ds else np.array([], int)
    names = np.asarray(class_names(ds, "tier4"))
    held = sorted(set(names[np.unique(labels[labels >= 0])].tolist()))
    unknown = sorted(set(held) - set(taxonomy.classes(4)))
    if unknown:
        where = ds.attrs.get("taxonomy", "another")
        raise TaxonomyError(
            f"Tier-4 classes {unknown[:8]} of the dataset are not in the {taxonomy.name} "
            f"taxonomy (the dataset was built against the {where} taxonomy): leave "
            "taxonomy= out to score against the dataset's own, or pass the table it was "
            "built with."
        )
    return taxonomy


def to_dataset_classes(
    predicted: np.ndarray,
    model_classes: list[str],
    ds: xr.Dataset,
    tier: str = "tier4",
    predictable: list[str] | None = None,
    model: str = "the model",
) -> np.ndarray:
    """A model's class indices as indices of the dataset's class list.

    Parameters
    ----------
    predicted : numpy.ndarray
        Class indices into ``model_classes``, any shape.
    model_classes : list of str
        The class list the model was trained on (index order).
    ds : xarray.Dataset
        The dataset being predicted; without a class list (unlabelled data) the indices
        are returned unchanged.
    tier : str
        The tier of the indices.
    predictable : list of str, optional
        The classes the model can answer (those it saw in training); all of
        ``model_classes`` by default.
    model : str
        The model's name, for messages.

    Returns
    -------
    numpy.ndarray
        Shaped as ``predicted``, int64, indices into ``class_names(ds, tier)``.

    Warns
    -----
    ClassesRemappedWarning
        When the lists differ and the indices were re-mapped by class name.

    Raises
    ------
    ClassMismatchError
        If the model can predict a class that the dataset's list lacks.
    """
    predicted = np.asarray(predicted)
    if f"classes_{tier}" not in ds.attrs:
        return predicted
    model_classes = plain_names(model_classes)
    mine = class_names(ds, tier)
    if mine == model_classes:
        return predicted
    answerable = plain_names(model_classes if predictable is None else predictable)
    lacking = sorted(set(answerable) - set(mine))
    if lacking:
        raise ClassMismatchError(
            f"{model} predicts {tier} classes {lacking[:8]} that the dataset's class list "
            f"lacks (it lists {mine[:12]}{', ...' if len(mine) > 12 else ''}): build the "
            "dataset against the taxonomy the model was trained with, from_arrays(..., "
            "taxonomy=model.taxonomy) or taxonomy=<the training dataset>, so both number "
            "classes alike."
        )
    warnings.warn(
        f"{model} was trained on the {tier} classes {model_classes[:6]} and the dataset lists "
        f"{mine[:6]}: its predictions were re-mapped to the dataset's class indices by "
        "name. Build both datasets against one taxonomy to avoid it.",
        ClassesRemappedWarning,
        stacklevel=3,
    )
    lookup = np.array([mine.index(c) if c in mine else -1 for c in model_classes], np.int64)
    return lookup[predicted]
