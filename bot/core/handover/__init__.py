"""Warm-lead handover: consent, leads in a Redis stream per team, the coach relay."""
