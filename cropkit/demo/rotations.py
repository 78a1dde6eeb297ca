"""Crop rotations: the same parcels from year to year, their crops in plausible sequences.

A region's parcels keep their geometry and ids across years (the landscape is drawn
once, for :data:`REFERENCE_YEAR`); each year's crops follow from the year before by the
rotation rules of ``data/rotations.csv``. Every tier-4 crop has a rotation role
(``rotation`` in ``data/crops.csv``: winter cereal, spring cereal, maize, break crop, ley,
fallow, permanent), and the table gives the weight of each role after each role, with
``same`` for the same crop again (maize after maize, a ley kept a few years). Permanent
grassland, vineyards, orchards and lavender stay.

A zone keeps its crop mix from one year to the next (the same crops on the same number of
parcels), so every zone still holds every crop for a zone hold-out: each year the zone's
crops are dealt out again, parcel after parcel in random order, each parcel drawing
among the crops still to deal in proportion to how well they follow its previous crop
(times how many are left). Late in the deal a parcel may get a crop its rules do not
favour: a farmer's change of plan. Years before the reference year come from the same
rules read backwards (the previous crop drawn in proportion to how well the current one
follows it).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..core.errors import ConfigError
from ..core.paths import data_file
from ..core.taxonomy import Taxonomy

__all__ = ["REFERENCE_YEAR", "RotationRules", "load_rotation_rules", "rotate", "crop_history"]

#: The year whose crops the landscape draws; the others follow by rotation.
REFERENCE_YEAR = 2023


class RotationRules:
    """Rotation weights between crops, from roles.

    Parameters
    ----------
    roles : mapping
        Tier-4 crop -> rotation role.
    transitions : pandas.DataFrame
        ``previous``, ``next`` (a role or ``same``), ``weight``.
    """

    def __init__(self, roles: dict[str, str], transitions: pd.DataFrame) -> None:
        known = set(roles.values())
        named = set(transitions["previous"]) | (set(transitions["next"]) - {"same"})
        unknown = sorted(named - known)
        if unknown:
            raise ConfigError(
                f"data/rotations.csv names roles {unknown} that no crop of data/crops.csv has "
                f"(its roles: {sorted(known)}): fix the role names in one of the two tables."
            )
        silent = sorted(known - set(transitions["previous"]))
        if silent:
            raise ConfigError(
                f"data/rotations.csv says nothing of what follows the roles {silent}: add a row "
                "for each (next: same, for a crop that stays)."
            )
        if (transitions["weight"] < 0).any():
            raise ConfigError("data/rotations.csv holds negative weights: use 0 or more.")
        self.roles = dict(roles)
        self._weights = {
            (row.previous, row.next): float(row.weight) for row in transitions.itertuples()
        }

    def weight(self, previous: str, following: str) -> float:
        """How well tier-4 crop ``following`` follows ``previous`` (0: never by the rules)."""
        role = self.roles[previous]
        if following == previous:
            return self._weights.get((role, "same"), 0.0)
        return self._weights.get((role, self.roles[following]), 0.0)

    def permanent(self, crop: str) -> bool:
        """Whether the crop stays on its parcel (only ``same`` follows its role)."""
        role = self.roles[crop]
        return all(nxt == "same" for (prev, nxt) in self._weights if prev == role)

    def matrix(self, crops: list[str]) -> np.ndarray:
        """``(previous, next)`` weights between ``crops``."""
        return np.array([[self.weight(a, b) for b in crops] for a in crops])


def load_rotation_rules() -> RotationRules:
    """The rotation rules of ``data/rotations.csv`` and the roles of ``data/crops.csv``."""
    crops = pd.read_csv(data_file("crops.csv"))
    if "rotation" not in crops.columns:
        raise ConfigError(
            "data/crops.csv has no 'rotation' column: give each crop its rotation role."
        )
    transitions = pd.read_csv(data_file("rotations.csv"))
    return RotationRules(dict(zip(crops["tier4"], crops["rotation"])), transitions)


def rotate(
    codes: np.ndarray,
    zone_ids: np.ndarray,
    taxonomy: Taxonomy,
    rules: RotationRules,
    rng: np.random.Generator,
    backward: bool = False,
) -> np.ndarray:
    """Next year's crop codes of the same parcels (or last year's, ``backward``).

    Parameters
    ----------
    codes : numpy.ndarray
        ``(parcel,)`` crop codes (``CODE_CULTU``) of this year.
    zone_ids : numpy.ndarray
        ``(parcel,)`` zone of each parcel: each zone keeps its crop mix.
    taxonomy : Taxonomy
        Maps codes to the tier-4 crops the rules speak of.
    rules : RotationRules
        The rotation weights.
    rng : numpy.random.Generator
        The order of the deal and the draws.
    backward : bool
        Draw the year before instead (``weight(candidate, this year's crop)``).

    Returns
    -------
    numpy.ndarray
        ``(parcel,)`` crop codes of the other year; a permanent crop's parcels keep it.
    """
    codes = np.asarray(codes, dtype=object)
    crop_of = taxonomy.table["tier4"].to_dict()
    out = codes.copy()
    zones = pd.Series(zone_ids).fillna("").to_numpy()
    for zone in pd.unique(zones):
        members = np.flatnonzero(zones == zone)
        moving = [i for i in members if not rules.permanent(crop_of[codes[i]])]
        kinds, left = np.unique(codes[moving], return_counts=True) if moving else ([], [])
        kinds, left = list(kinds), np.asarray(left, dtype=float)
        tier4 = [crop_of[c] for c in kinds]
        for i in rng.permutation(moving):
            mine = crop_of[codes[i]]
            fit = np.array(
                [rules.weight(c, mine) if backward else rules.weight(mine, c) for c in tier4]
            )
            if codes[i] in kinds:  # the same code, not only the same tier-4 crop
                fit[kinds.index(codes[i])] = rules.weight(mine, mine)
            odds = fit * left
            if odds.sum() <= 0:  # nothing left that the rules favour: a change of plan
                odds = left.copy()
            pick = rng.choice(len(kinds), p=odds / odds.sum())
            out[i] = kinds[pick]
            left[pick] -= 1
    return out


def crop_history(
    codes: np.ndarray,
    zone_ids: np.ndarray,
    years: list[int],
    taxonomy: Taxonomy,
    rng_for: Callable[[int], np.random.Generator],
    rules: RotationRules | None = None,
) -> dict[int, np.ndarray]:
    """The crop codes of the same parcels in each of ``years``.

    Parameters
    ----------
    codes : numpy.ndarray
        ``(parcel,)`` crop codes of :data:`REFERENCE_YEAR`.
    zone_ids : numpy.ndarray
        ``(parcel,)`` zones.
    years : list of int
        The years wanted.
    taxonomy : Taxonomy
        Maps codes to tier-4 crops.
    rng_for : callable
        Year -> the random generator of the step that makes that year's crops (the same
        year always gets the same draws, so histories asked for separately agree).
    rules : RotationRules, optional
        ``data/rotations.csv`` by default.

    Returns
    -------
    dict
        Year -> ``(parcel,)`` crop codes.
    """
    rules = rules or load_rotation_rules()
    out = {REFERENCE_YEAR: np.asarray(codes, dtype=object)}
    for step in (1, -1):
        year, current = REFERENCE_YEAR, out[REFERENCE_YEAR]
        while any(y * step > year * step for y in years):
            year += step
            current = rotate(current, zone_ids, taxonomy, rules, rng_for(year), step < 0)
            out[year] = current
    return {year: out[year] for year in years}
