"""Synthetic population generator (``sijill synth``).

Country-agnostic engine; every country-specific input lives in
``sijill/countries/<code>/synth.yaml`` and its ``synth/`` folder.
"""

from sijill.synth.config import SynthConfig, load_config
from sijill.synth.generator import FORMAT_VERSION, GENERATOR_VERSION, SynthSummary, generate
from sijill.synth.models import SynthConfigError

__all__ = [
    "FORMAT_VERSION",
    "GENERATOR_VERSION",
    "SynthConfig",
    "SynthConfigError",
    "SynthSummary",
    "generate",
    "load_config",
]
