"""The review inbox: what the bot did not understand, redacted, grouped, for content editors."""
