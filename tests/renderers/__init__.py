"""Tests of the Block Kit and Adaptive Card renderers."""
