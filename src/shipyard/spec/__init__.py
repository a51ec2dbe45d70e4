"""Typed domain objects shared by every layer: user intent (specs) apart from observed status."""
