"""Flows: deterministic parts of a conversation (booking, handover, data deletion, ...).

Each implements `Flow` (bot/core/flows/base.py); the dialogue engine keeps a list of them.
"""
