"""Staff safety and social media governance bot for Slack and Microsoft Teams.

The core (flows, cases, cards, storage, policy) is platform-neutral; each platform is a thin
adapter under ``bot.handlers``. See ``README.md`` and ``../shared/docs/ARCHITECTURE.md``.
"""

__version__ = "0.1.0"
