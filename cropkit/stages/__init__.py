"""One module per notebook stage, each owning its products.

========================  ====================================================
:mod:`.discovery`         notebook 01: the run's items (searched or recorded)
:mod:`.masking`           notebook 02: masked Sentinel-2, mask scores, summary
:mod:`.composites`        notebook 03: gap-filled composites, their names and grid
:mod:`.parcels`           notebooks 03-06: the run's checked parcels
:mod:`.training`          notebook 04: models, predictions, maps; opened by 05 and 06
:mod:`.attention`         notebook 05: attention, gradients, truth scores
:mod:`.confusion`         notebook 06: confusions, parcel votes, intervals, areas, errors
:mod:`.study`             a study's runs built without the notebooks, and pooled
:mod:`.parameters`        every notebook's own parameters, declared once
:mod:`.rules`             the rules that check a parameter's value
:mod:`.outputs`           the writers of a stage's tables, grids and arrays
========================  ====================================================

A stage reads what the stages before it chose from the run's manifest (the SCL
classes of notebook 02, the compositing period of notebook 03, the parcel file of
notebook 04): a missing upstream setting is an error naming the notebook to run, so
each notebook also runs on its own once the ones before it ran.
"""

from __future__ import annotations

from ..core.lazy import submodule_loader

_STAGES = (
    "discovery",
    "masking",
    "composites",
    "parcels",
    "training",
    "attention",
    "confusion",
    "study",
    "parameters",
    "rules",
    "outputs",
)
__all__ = list(_STAGES)


__getattr__ = submodule_loader(__name__, _STAGES)
