"""The four-tier crop taxonomy.

``data/taxonomy.csv`` maps each French RPG crop code (``CODE_CULTU``) to a crop type
(tier 4) and its parents: crop group (tier 3), crop family (tier 2) and land-use
class (tier 1). The simulator and the label code read the same table.

Examples
--------
>>> tax = load_taxonomy()
>>> tax.tier_of("BDH", 2)
'cereals'
>>> tax.classes(1)
['arable_crops', 'fallow_land', 'grassland', 'permanent_crops']
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike

import numpy as np
import pandas as pd

from .errors import TaxonomyError
from .paths import data_file

__all__ = ["Taxonomy", "load_taxonomy", "TIERS", "CODE_MAPPINGS"]

#: Tier columns, finest first.
TIERS = ("tier4", "tier3", "tier2", "tier1")


@dataclass(frozen=True)
class Taxonomy:
    """A validated crop taxonomy.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per RPG code (index ``code_cultu``) with columns ``tier4`` ... ``tier1``.
    """

    table: pd.DataFrame

    def classes(self, tier: int) -> list[str]:
        """Sorted class names of one tier (1 = coarsest, 4 = crop type)."""
        return sorted(self.table[_tier_column(tier)].unique())

    def tier_of(self, code: str, tier: int) -> str:
        """Class of RPG ``code`` at ``tier``."""
        if code not in self.table.index:
            raise TaxonomyError(
                f"RPG code {code!r} is not in the taxonomy; add a row to the taxonomy table "
                f"(known codes: {', '.join(self.table.index[:12])}, ...)."
            )
        return str(self.table.at[code, _tier_column(tier)])

    def roll_up(self, tier4_labels: np.ndarray | pd.Series, tier: int) -> np.ndarray:
        """Map tier-4 class names to their class at ``tier`` (4 returns them unchanged)."""
        table = self.table.drop_duplicates("tier4")
        parent = pd.Series(table[_tier_column(tier)].to_numpy(), index=table["tier4"].to_numpy())
        labels = pd.Series(np.asarray(tier4_labels).ravel())
        unknown = sorted(set(labels) - set(parent.index))
        if unknown:
            raise TaxonomyError(f"Tier-4 classes {unknown} are not in the taxonomy.")
        return labels.map(parent).to_numpy().reshape(np.shape(tier4_labels))


def _tier_column(tier: int) -> str:
    if tier not in (1, 2, 3, 4):
        raise TaxonomyError(f"tier must be 1, 2, 3 or 4 (1 is the coarsest), not {tier!r}.")
    return f"tier{tier}"


#: Crop-code mappings cropkit ships: French RPG ``CODE_CULTU`` and EuroCrops HCAT3 codes
#: (the harmonised LPIS of any EU country, column ``EC_hcat_c``).
CODE_MAPPINGS = {"rpg": "taxonomy.csv", "hcat3": "taxonomy_hcat3.csv"}


def load_taxonomy(path: str | PathLike | None = None) -> Taxonomy:
    """Read and validate a taxonomy table: crop codes mapped into the four tiers.

    Parameters
    ----------
    path : path-like or str, optional
        ``"rpg"`` (cropkit's ``data/taxonomy.csv``, the default), ``"hcat3"``
        (``data/taxonomy_hcat3.csv``) or a CSV with a code column (``code`` or
        ``code_cultu``) and ``tier4, tier3, tier2, tier1``.

    Raises
    ------
    TaxonomyError
        If a column is missing, a code is listed twice, a cell is empty, or a class
        has two different parents.
    """
    path = (
        data_file(CODE_MAPPINGS[str(path or "rpg")])
        if str(path or "rpg") in CODE_MAPPINGS
        else path
    )
    table = pd.read_csv(path, dtype=str)
    code = "code_cultu" if "code_cultu" in table.columns else "code"
    missing = [c for c in (code, *TIERS) if c not in table.columns]
    if missing:
        raise TaxonomyError(
            f"{path}: missing columns {missing}; expected a code column (code) and {TIERS}."
        )
    empty = table[[code, *TIERS]].isna().any(axis=1)
    if empty.any():
        raise TaxonomyError(f"{path}: rows {list(table.index[empty] + 2)} have empty cells.")
    dupes = table[code][table[code].duplicated()].tolist()
    if dupes:
        raise TaxonomyError(f"{path}: crop codes {dupes} are listed more than once.")
    for child, parent in zip(TIERS[:-1], TIERS[1:]):
        parents = table.groupby(child)[parent].nunique()
        bad = parents[parents > 1].index.tolist()
        if bad:
            raise TaxonomyError(
                f"{path}: {child} classes {bad} have more than one {parent} parent."
            )
    return Taxonomy(table.set_index(code))
