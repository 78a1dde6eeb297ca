"""The four-tier crop taxonomy, and the class indices every dataset and model share.

``data/taxonomy.csv`` maps each French RPG crop code (``CODE_CULTU``) to a crop type
(tier 4) and its parents: crop group (tier 3), crop family (tier 2) and land-use
class (tier 1). The simulator and the label code read the same table.

Class indices are a property of the taxonomy: the index of a class is its position in
:meth:`Taxonomy.classes`, the sorted class names of its tier. Every dataset built
against one taxonomy numbers the same class the same way, whichever classes it holds,
so a model trained on one dataset scores another without a shift.

Labels without a hierarchy (plain class names, integer ids) take a *flat* taxonomy:
every tier is the class itself (:func:`flat_taxonomy`).

Examples
--------
>>> tax = load_taxonomy()
>>> tax.tier_of("BDH", 2)
'cereals'
>>> tax.classes(1)
['arable_crops', 'fallow_land', 'grassland', 'permanent_crops']
>>> flat_taxonomy([3, 12, 7]).classes(4)
['3', '7', '12']
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from os import PathLike

import numpy as np
import pandas as pd

from .errors import TaxonomyError
from .paths import data_file

__all__ = [
    "Taxonomy",
    "load_taxonomy",
    "flat_taxonomy",
    "plain_names",
    "TIERS",
    "CODE_MAPPINGS",
]

#: Tier columns, finest first.
TIERS = ("tier4", "tier3", "tier2", "tier1")


def plain_names(values) -> list[str]:
    """Class names as plain ``str`` (for messages: no ``np.str_('...')``)."""
    return [str(v) for v in np.asarray(values, dtype=object).ravel().tolist()]


@dataclass(frozen=True)
class Taxonomy:
    """A validated crop taxonomy.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per crop code (index, e.g. ``code_cultu``) with columns ``tier4`` ...
        ``tier1``.
    name : str
        Where it comes from: ``"rpg"``, ``"hcat3"``, a file path, ``"flat"`` (plain
        labels, every tier the class itself) or ``"custom"``.
    """

    table: pd.DataFrame
    name: str = "custom"

    def __post_init__(self) -> None:
        object.__setattr__(self, "_classes", {})  # tier -> sorted names, made once

    def classes(self, tier: int | str) -> list[str]:
        """Class names of one tier (1 = coarsest, 4 = crop type), in index order.

        Sorted by name; a flat taxonomy of integer ids sorts them by value.
        """
        column = _tier_column(tier)
        if column not in self._classes:
            names = self.table[column].unique().tolist()
            numeric = all(str(n).lstrip("-").isdigit() for n in names)
            key = (lambda n: int(n)) if numeric else None
            self._classes[column] = [str(n) for n in sorted(names, key=key)]
        return list(self._classes[column])

    def index(self, names, tier: int | str = 4) -> np.ndarray:
        """Class indices of ``names`` at ``tier`` (the position in :meth:`classes`).

        Returns
        -------
        numpy.ndarray
            Shaped as ``names``, int16.

        Raises
        ------
        TaxonomyError
            Naming the classes the tier does not have.
        """
        classes = self.classes(tier)
        lookup = pd.Index(classes)
        flat = np.asarray(names).astype(str).ravel()
        found = lookup.get_indexer(flat)
        if (found < 0).any():
            unknown = sorted(set(flat[found < 0].tolist()))
            raise TaxonomyError(
                f"{_tier_column(tier)} classes {unknown[:8]} are not in the {self.name} "
                f"taxonomy (its classes: {classes[:12]}{', ...' if len(classes) > 12 else ''})."
            )
        return found.astype(np.int16).reshape(np.shape(names))

    def tier_of(self, code: str, tier: int) -> str:
        """Class of crop ``code`` at ``tier``."""
        if code not in self.table.index:
            raise TaxonomyError(
                f"Crop code {code!r} is not in the taxonomy; add a row to the taxonomy table "
                f"(known codes: {', '.join(map(str, self.table.index[:12]))}, ...)."
            )
        return str(self.table.at[code, _tier_column(tier)])

    def roll_up(self, tier4_labels: np.ndarray | pd.Series, tier: int) -> np.ndarray:
        """Map tier-4 class names to their class at ``tier`` (4 returns them unchanged)."""
        table = self.table.drop_duplicates("tier4")
        parent = pd.Series(table[_tier_column(tier)].to_numpy(), index=table["tier4"].to_numpy())
        labels = pd.Series(np.asarray(tier4_labels).ravel())
        unknown = sorted(set(plain_names(labels)) - set(plain_names(parent.index)))
        if unknown:
            raise TaxonomyError(
                f"Tier-4 classes {unknown[:8]} are not in the {self.name} taxonomy: score "
                "against the taxonomy the dataset was built with (ck.datasets."
                "dataset_taxonomy(ds))."
            )
        return labels.map(parent).to_numpy().reshape(np.shape(tier4_labels))

    def parents(self) -> dict[str, list[int]]:
        """Tier -> the index of each tier-4 class's parent at that tier (``n_tier4`` long)."""
        rows = self.table.drop_duplicates("tier4")
        rows = rows.set_index(rows["tier4"].rename(None))
        leaves = self.classes(4)
        return {
            tier: self.index(rows.loc[leaves, tier].to_numpy(), tier).tolist() for tier in TIERS
        }

    def to_attrs(self) -> dict:
        """The taxonomy as dataset attributes: its name and one row per tier-4 class.

        :meth:`from_attrs` reads it back (codes are not kept: a dataset's labels are
        already classes).
        """
        rows = self.table.drop_duplicates("tier4")[list(TIERS)].astype(str)
        return {"taxonomy": self.name, "taxonomy_table": json.dumps(rows.to_numpy().tolist())}

    @classmethod
    def from_attrs(cls, attrs: dict) -> Taxonomy | None:
        """The taxonomy written by :meth:`to_attrs`, or None if ``attrs`` has none."""
        if "taxonomy_table" not in attrs:
            return None
        rows = pd.DataFrame(json.loads(attrs["taxonomy_table"]), columns=list(TIERS), dtype=str)
        return cls(rows.set_index(rows["tier4"].rename("code")), str(attrs.get("taxonomy")))

    def __eq__(self, other) -> bool:
        if not isinstance(other, Taxonomy):
            return NotImplemented
        return all(self.classes(t) == other.classes(t) for t in TIERS) and (
            self.parents() == other.parents()
        )

    __hash__ = None


def _tier_column(tier: int | str) -> str:
    if isinstance(tier, str) and tier in TIERS:
        return tier
    if tier not in (1, 2, 3, 4):
        raise TaxonomyError(f"tier must be 1, 2, 3 or 4 (1 is the coarsest), not {tier!r}.")
    return f"tier{tier}"


#: Crop-code mappings cropkit ships: French RPG ``CODE_CULTU`` and EuroCrops HCAT3 codes
#: (the harmonised LPIS of any EU country, column ``EC_hcat_c``).
CODE_MAPPINGS = {"rpg": "taxonomy.csv", "hcat3": "taxonomy_hcat3.csv"}


def flat_taxonomy(labels) -> Taxonomy:
    """A taxonomy without hierarchy: every tier is the class itself.

    For plain class names or integer ids. Build it once from every label (train and
    test together) and pass it to each dataset, so that their class indices agree.

    Parameters
    ----------
    labels : array-like
        Class names or integer ids (duplicates are fine).

    Returns
    -------
    Taxonomy
        Named ``"flat"``; integer ids become names (``3`` -> ``"3"``), sorted by value.
    """
    values = np.asarray(labels)
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
            raise TaxonomyError(
                "Flat labels must be class names or whole ids; found non-integer or missing "
                "numbers. Drop the unlabelled samples first."
            )
        values = values.astype(np.int64)
    names = sorted(set(plain_names(values)))
    if not names or any(n in ("", "nan", "None") for n in names):
        raise TaxonomyError(
            "Flat labels hold an empty or missing class name; drop the unlabelled samples first."
        )
    table = pd.DataFrame({tier: names for tier in TIERS}, index=pd.Index(names, name="code"))
    return Taxonomy(table, "flat")


def load_taxonomy(
    path: str | PathLike | pd.DataFrame | Taxonomy | None = None,
) -> Taxonomy:
    """Read and validate a taxonomy table: crop codes mapped into the four tiers.

    Parameters
    ----------
    path : path-like, str, DataFrame or Taxonomy, optional
        ``"rpg"`` (cropkit's ``data/taxonomy.csv``, the default), ``"hcat3"``
        (``data/taxonomy_hcat3.csv``), a CSV with a code column (``code`` or
        ``code_cultu``) and ``tier4, tier3, tier2, tier1``, or a DataFrame with those
        columns. A :class:`Taxonomy` is returned as it is.

    Raises
    ------
    TaxonomyError
        If a column is missing, a code is listed twice, a cell is empty, or a class
        has two different parents.
    """
    if isinstance(path, Taxonomy):
        return path
    if isinstance(path, pd.DataFrame):
        table, where, name = path.reset_index(drop=path.index.name is None), "The table", "custom"
        table = table.astype(object).where(table.notna(), None)
        table = table.apply(lambda col: col.map(lambda v: v if v is None else str(v)))
    else:
        name = str(path or "rpg")
        if name == "flat":
            raise TaxonomyError(
                "A flat taxonomy is made from the labels: ck.taxonomy.flat_taxonomy(labels)."
            )
        path = data_file(CODE_MAPPINGS[name]) if name in CODE_MAPPINGS else path
        try:
            table = pd.read_csv(path, dtype=str)
        except FileNotFoundError as err:
            raise TaxonomyError(
                f"Taxonomy {name!r} is neither a file nor one of cropkit's mappings "
                f"{sorted(CODE_MAPPINGS)}."
            ) from err
        where = str(path)
    code = "code_cultu" if "code_cultu" in table.columns else "code"
    missing = [c for c in (code, *TIERS) if c not in table.columns]
    if missing:
        raise TaxonomyError(
            f"{where}: missing columns {missing}; expected a code column (code) and {TIERS}."
        )
    empty = table[[code, *TIERS]].isna().any(axis=1) | (table[[code, *TIERS]] == "").any(axis=1)
    if empty.any():
        raise TaxonomyError(f"{where}: rows {list(table.index[empty] + 2)} have empty cells.")
    dupes = table[code][table[code].duplicated()].tolist()
    if dupes:
        raise TaxonomyError(f"{where}: crop codes {dupes} are listed more than once.")
    for child, parent in zip(TIERS[:-1], TIERS[1:]):
        parents = table.groupby(child)[parent].nunique()
        bad = parents[parents > 1].index.tolist()
        if bad:
            raise TaxonomyError(
                f"{where}: {child} classes {bad} have more than one {parent} parent."
            )
    return Taxonomy(table.set_index(code), name)
