"""The CLV models: counting models of repeat purchases on one shared base, and Gamma-Gamma for spend."""

from __future__ import annotations

from custlab.clv.models.base import _PurchaseModel
from custlab.clv.models.bgnbd import BetaGeo
from custlab.clv.models.gamma_gamma import GammaGamma, ObservedSpend, spend_frequency_correlation
from custlab.clv.models.mbgnbd import ModifiedBetaGeo
from custlab.clv.models.pareto import ParetoNBD

PurchaseModel = BetaGeo | ModifiedBetaGeo | ParetoNBD
#: The counting models by lifetimes' short name.
MODELS: dict[str, type[_PurchaseModel]] = {"bgnbd": BetaGeo, "mbgnbd": ModifiedBetaGeo, "pareto": ParetoNBD}

__all__ = [
    "BetaGeo", "GammaGamma", "MODELS", "ModifiedBetaGeo", "ObservedSpend", "ParetoNBD", "PurchaseModel",
    "spend_frequency_correlation",
]
