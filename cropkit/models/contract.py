"""The one contract every trained classifier keeps: :class:`Classifier`.

The XGBoost baseline (:class:`~cropkit.models.xgboost_pixel.XGBoostPixel`) and every
deep network in its trainer (:class:`~cropkit.trainer.DeepClassifier`) implement it, so
the experiments, zone inference, notebooks and reports treat every model alike and never
ask which kind of object they hold. :func:`cropkit.experiments.classifiers.get_model`
builds one by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import xarray as xr

    from ..datasets.torchdata import StreamSpec

__all__ = ["Classifier"]


@runtime_checkable
class Classifier(Protocol):
    """What a trained crop classifier offers.

    Attributes
    ----------
    name : str
        Registry name (``"xgboost"``, ``"ltae"``, ...).
    kind : str
        ``"pixel"`` (trains on ``pixels.zarr``, dims ``(sample, ...)``) or ``"patch"``
        (``patches.zarr``, dims ``(patch, ..., h, w)``).
    inputs : tuple of str
        The streams it reads (``"s2"``, ``"s1"``, ``"enmap"``).
    supported_inputs : tuple of str
        The streams it could read.
    hierarchical : bool
        Whether it answers every tier with a head of its own (else coarser tiers come by
        rolling tier 4 up the taxonomy).
    spec : StreamSpec or None
        The streams and classes it was trained on (None before :meth:`fit`).
    info : dict
        Training facts (pixels, seconds, epochs, device, ...).
    is_global_zero : bool
        False in the other processes of a multi-process (DDP) fit: only the first one
        writes the model and its products.
    """

    name: str
    kind: str
    inputs: tuple[str, ...]
    supported_inputs: tuple[str, ...]
    hierarchical: bool
    spec: StreamSpec | None
    info: dict
    is_global_zero: bool

    def fit(
        self,
        train: xr.Dataset,
        val: xr.Dataset | None = None,
        *,
        checkpoint_dir: str | Path | None = None,
        progress: bool = False,
        client: Any = None,
    ) -> Classifier:
        """Train on ``train``, stop early on ``val``.

        ``checkpoint_dir`` and ``progress`` serve models with a training loop of their
        own (the deep models); ``client`` trains on a Dask cluster where the model
        can (XGBoost). A model refuses what it cannot honour, with the fix.
        """

    def predict(self, ds: xr.Dataset) -> np.ndarray:
        """Tier-4 class indices of ``ds``'s class list: ``(sample,)`` or ``(patch, h, w)``."""

    def predict_proba(self, ds: xr.Dataset) -> np.ndarray:
        """Tier-4 probabilities over ``spec.classes["tier4"]``, 0 for a class unseen.

        Dims ``(sample, class)`` or ``(patch, class, h, w)``.
        """

    def predict_tiers(self, ds: xr.Dataset, decoding: str = "joint") -> dict[str, np.ndarray]:
        """Class indices per tier it answers itself (tier 4 at least), as :meth:`predict`.

        A hierarchical model decodes its heads jointly (``"joint"``: the tiers nest) or
        each on its own (``"independent"``); a single-head model answers tier 4 either way.
        """

    def save(self, folder: str | Path) -> Path:
        """Write the model into ``folder`` (``model.json`` names it for loading)."""

    @classmethod
    def load(cls, folder: str | Path) -> Classifier:
        """Read a model written by :meth:`save`."""
