"""Channel connectors: each turns its channel's input into `bot.core.messages.IncomingMessage`."""
