"""The Slack adapter: a Bolt app, its listeners, the Block Kit renderer and the messenger."""
