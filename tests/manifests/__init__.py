"""Tests of the Slack and Teams app manifests and of ``bot.packaging``."""
