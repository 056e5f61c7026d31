"""Platform adapters: each turns its traffic into neutral events and renders neutral cards.

Nothing outside ``bot/handlers/slack`` imports Slack's SDKs, and nothing outside
``bot/handlers/teams`` imports botbuilder.
"""
