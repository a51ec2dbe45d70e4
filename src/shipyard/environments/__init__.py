"""Environments: the base-environment catalogue, requirement resolution and virtualenv builds."""
