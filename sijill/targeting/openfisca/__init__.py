"""Country-agnostic OpenFisca glue.

* :mod:`.entities`: the person and household entities, roles, relationship → role mapping;
* :mod:`.variables`: generic inputs typed from a country profile, ``age``, ``pmt_score``;
* :mod:`.helpers`: vectorised helpers for country formulas (ranks, enum sets, head values);
* :mod:`.pmt`: the versioned PMT model file format;
* :mod:`.system`: :func:`load_rules` builds a country's tax-benefit system;
* :mod:`.testing`: runs a country's OpenFisca YAML tests.

Nothing in this package knows about a particular country. See ``docs/rules.md``.
"""

from __future__ import annotations

from sijill.targeting.openfisca.pmt import PmtFeature, PmtModel, load_model, write_model
from sijill.targeting.openfisca.system import Programme, Rules, load_rules

__all__ = ["PmtFeature", "PmtModel", "Programme", "Rules", "load_model", "load_rules", "write_model"]
