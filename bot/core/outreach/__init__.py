"""Outreach: opt-in subscriptions (topics and districts a person asked to hear about) and the
campaigns operators send to them. Nobody gets a campaign without a subscription covering it."""
