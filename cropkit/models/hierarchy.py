"""Hierarchical heads over the four-tier crop taxonomy, and how well their answers nest.

A hierarchical model predicts every tier with its own head. The heads form a cascade
from the coarsest tier down (as in the H2Crop benchmark): the head of tier ``k`` reads the
shared features and the logits of tier ``k - 1``, so a fine decision is made knowing
the coarse one. The loss is summed over the tiers by the trainer, plus (weighted) a
consistency term: the divergence of each head from tier 4's probabilities rolled up
(:meth:`HierarchicalHeads.consistency`), which teaches the heads to nest.

The heads' answers are decoded jointly (:func:`joint_decode`): each path of the taxonomy
(a tier-4 class and its ancestors) scores the sum of the tiers' log-probabilities along
it, and the best path gives every tier's answer, so the tiers nest by construction. Each
head's own argmax stays available as a diagnostic (:func:`tier_agreement`).

Examples
--------
>>> heads = HierarchicalHeads(64, spec, spatial=True)              # doctest: +SKIP
>>> logits = heads(features)        # {"tier1": (B, K1, H, W), ..., "tier4": ...}
>>> tier_agreement({t: l.argmax(1) for t, l in logits.items()}, spec.parents)  # +SKIP
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..core.errors import TaxonomyError
from ..core.taxonomy import TIERS
from ..datasets.torchdata import StreamSpec

__all__ = ["HierarchicalHeads", "check_nesting", "joint_decode", "tier_agreement"]


def check_nesting(spec: StreamSpec) -> None:
    """Refuse a taxonomy whose tiers do not nest.

    Every class of tier ``k`` must have exactly one parent in tier ``k - 1`` among the
    tier-4 classes that belong to it (``spec.parents``).

    Raises
    ------
    TaxonomyError
        Naming each class of a finer tier that has several parents.
    """
    problems = []
    order = sorted(TIERS)  # tier1 .. tier4
    for coarse, fine in zip(order[:-1], order[1:]):
        fine_of = np.asarray(spec.parents[fine])
        coarse_of = np.asarray(spec.parents[coarse])
        for cls in np.unique(fine_of[fine_of >= 0]):
            parents = np.unique(coarse_of[(fine_of == cls) & (coarse_of >= 0)])
            if len(parents) > 1:
                names = [spec.classes[coarse][p] for p in parents]
                problems.append(f"{fine} class {spec.classes[fine][cls]!r} under {coarse} {names}")
    if problems:
        raise TaxonomyError(
            "The taxonomy's tiers do not nest, so hierarchical heads cannot be trained: "
            + "; ".join(problems)
            + ". Give each class one parent in the taxonomy (cropkit/data/taxonomy.csv)."
        )


def tier_agreement(
    predicted: dict[str, np.ndarray | torch.Tensor], parents: dict[str, list[int]]
) -> dict[str, float]:
    """Share of pixels whose tier predictions nest up the taxonomy.

    Parameters
    ----------
    predicted : dict
        Tier -> predicted class indices, all of one shape (``(N,)`` or ``(B, H, W)``).
    parents : dict
        Tier -> ``(n_tier4,)`` the tier-``k`` class of each tier-4 class
        (:attr:`~cropkit.datasets.torchdata.StreamSpec.parents`).

    Returns
    -------
    dict
        ``tier1`` .. ``tier3``: share of pixels where the tier-4 answer rolled up equals
        that tier's own answer; ``all``: share where every tier agrees.
    """
    pred4 = np.asarray(predicted["tier4"]).ravel()
    everywhere = np.ones(pred4.shape, dtype=bool)
    out = {}
    for tier in sorted(TIERS)[:-1]:
        rolled = np.asarray(parents[tier])[pred4]
        agree = rolled == np.asarray(predicted[tier]).ravel()
        out[tier] = float(agree.mean()) if agree.size else float("nan")
        everywhere &= agree
    out["all"] = float(everywhere.mean()) if everywhere.size else float("nan")
    return out


def joint_decode(
    proba: dict[str, np.ndarray], parents: dict[str, list[int]], axis: int = 1
) -> dict[str, np.ndarray]:
    """The best path of the taxonomy for every pixel: answers that nest by construction.

    Each tier-4 class ``c`` scores ``sum_k log p_k(parent_k(c))`` over the tiers ``k``
    (tier 4 included, with ``parent_4(c) = c``); the best-scoring class is tier 4's answer
    and its ancestors are the coarser tiers' answers. Where the heads' own argmaxes nest,
    they are the best path (every term of its score is at its maximum), so joint decoding
    changes only the pixels where the heads disagree: there a confident coarse head may
    overrule a hesitant tier 4, and the reverse.

    Parameters
    ----------
    proba : dict
        Tier -> probabilities over that tier's classes along ``axis`` (``(N, K)``,
        ``(B, K, H, W)`` or ``(K, H, W)`` with ``axis=0``); tiers missing are not scored.
    parents : dict
        Tier -> ``(n_tier4,)`` the tier-``k`` class of each tier-4 class (``-1``: none,
        that tier then does not score the class).
    axis : int
        The class axis.

    Returns
    -------
    dict
        Tier -> class indices (``int64``, ``proba``'s shape without ``axis``), for tier 4 and
        every tier of ``parents``.
    """
    p4 = np.moveaxis(np.asarray(proba["tier4"], dtype=np.float64), axis, -1)
    with np.errstate(divide="ignore"):
        score = np.log(p4)  # a class no training sample holds (p = 0) is never chosen
        for tier, lookup in parents.items():
            if tier == "tier4" or tier not in proba:
                continue
            lookup = np.asarray(lookup)
            coarse = np.log(np.moveaxis(np.asarray(proba[tier], dtype=np.float64), axis, -1))
            score += np.where(lookup >= 0, coarse[..., lookup.clip(min=0)], 0.0)
    best = score.argmax(-1)
    out = {"tier4": best}
    for tier, lookup in parents.items():
        if tier != "tier4":
            out[tier] = np.asarray(lookup)[best]
    return out


class HierarchicalHeads(nn.Module):
    """One classifier head per tier, cascading from tier 1 to tier 4.

    Parameters
    ----------
    in_channels : int
        Width ``D`` of the shared features.
    spec : StreamSpec
        Gives the classes of every tier (checked to nest).
    spatial : bool
        Features ``(B, D, H, W)`` (1x1 convolutions) or ``(B, D)`` (linear layers).
    hidden : int
        Hidden width of every head.
    dropout : float
        Dropout before each head's output layer.
    """

    def __init__(
        self,
        in_channels: int,
        spec: StreamSpec,
        spatial: bool = True,
        hidden: int = 64,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        check_nesting(spec)

        def layer(cin: int, cout: int) -> nn.Module:
            return nn.Conv2d(cin, cout, 1) if spatial else nn.Linear(cin, cout)

        self.order = sorted(TIERS)  # tier1 .. tier4
        for tier in self.order[:-1]:  # (K_tier, K4) one-hot: which tier class holds each
            roll = torch.zeros(spec.n_classes[tier], spec.n_classes["tier4"])
            for child, parent in enumerate(spec.parents[tier]):
                if parent >= 0:
                    roll[parent, child] = 1.0
            self.register_buffer(f"roll_{tier}", roll)
        self.heads = nn.ModuleDict()
        previous = 0
        for tier in self.order:
            n = spec.n_classes[tier]
            self.heads[tier] = nn.Sequential(
                layer(in_channels + previous, hidden),
                nn.ReLU(),
                nn.Dropout(dropout),
                layer(hidden, n),
            )
            previous = n

    def consistency(self, logits: dict[str, torch.Tensor]) -> torch.Tensor:
        """How far the heads disagree: ``sum_k KL(rolled-up tier 4 || head k)``, per pixel mean.

        Tier 4's probabilities summed over the children of each tier-``k`` class are
        compared with head ``k``'s; zero when every head says what tier 4 implies.
        """
        p4 = logits["tier4"].float().softmax(1)
        total = p4.new_zeros(())
        for tier in self.order[:-1]:
            rolled = torch.einsum("kc,bc...->bk...", getattr(self, f"roll_{tier}"), p4)
            log_head = logits[tier].float().log_softmax(1)
            # KL(rolled || head); the classes no training sample holds have rolled = 0
            # exactly (their logits are masked): 0 log 0 = 0, with a finite gradient
            kl = rolled * (rolled.clamp_min(1e-12).log() - log_head)
            total = total + kl.sum(1).mean()
        return total

    def forward(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """``(B, D[, H, W])`` -> ``{"tier1": (B, K1[, H, W]), ..., "tier4": ...}``."""
        logits, previous = {}, None
        for tier in self.order:
            x = features if previous is None else torch.cat([features, previous], dim=1)
            logits[tier] = previous = self.heads[tier](x)
        return logits
