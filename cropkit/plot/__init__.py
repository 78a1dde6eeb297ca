"""Plot helpers for the notebooks: maps (leafmap) and interactive charts (hvplot).

Each helper returns what it drew (a map, a HoloViews object or matplotlib axes) and
never shows it itself, so notebooks display it and a static export keeps it. One
module per notebook stage; everything is importable from ``cropkit.plot``.
"""

from .attention import (
    attention_and_gradients,
    attention_on_phenology,
    channel_weights,
    spatial_on_patch,
)
from .composites import (
    composite_rgb_slider,
    crop_curves,
    enmap_spectra,
    ndvi_slider,
    parcels_on_composite,
)
from .confusion import (
    accuracy_factors,
    composite_rgb,
    disagreement_map,
    error_map,
    f1_intervals,
)
from .discovery import area_map, cloud_cover_timeline, footprints
from .masking import SCL_COLORS, clear_fraction_timeline, raster, rgb, scene_and_mask, scl_breakdown
from .palette import class_colors, qualitative
from .resources import holoviews_ready, resources_mode, use_resources
from .training import (
    class_balance,
    confusion_matrix,
    per_class_scores,
    prediction_map,
    split_map,
    training_curves,
)

__all__ = [
    "use_resources",
    "resources_mode",
    "holoviews_ready",
    "qualitative",
    "class_colors",
    "area_map",
    "footprints",
    "cloud_cover_timeline",
    "SCL_COLORS",
    "scl_breakdown",
    "rgb",
    "scene_and_mask",
    "clear_fraction_timeline",
    "raster",
    "composite_rgb_slider",
    "ndvi_slider",
    "crop_curves",
    "parcels_on_composite",
    "enmap_spectra",
    "class_balance",
    "split_map",
    "confusion_matrix",
    "per_class_scores",
    "training_curves",
    "prediction_map",
    "attention_on_phenology",
    "channel_weights",
    "spatial_on_patch",
    "attention_and_gradients",
    "f1_intervals",
    "error_map",
    "disagreement_map",
    "accuracy_factors",
    "composite_rgb",
]
