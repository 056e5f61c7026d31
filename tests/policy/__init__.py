"""Tests of the policy pack: schema, loader, the built-in packs and ``check-pack``."""
