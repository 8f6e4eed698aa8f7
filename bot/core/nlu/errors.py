"""Why a message got no parse: Rasa is down (a real failure) or only busy (no slot in time).

The dialogue answers both with the topic menu but says different things and counts them apart
(`lotsen_fallbacks_total{reason="nlu_down"|"nlu_busy"}`): busy is capacity, down is an outage.
"""


class NLUUnavailable(RuntimeError):
    """No Rasa replica could be reached (connection refused, 5xx, a hung request)."""


class NLUBusy(NLUUnavailable):
    """Every healthy replica was at its limit for the whole of the message's budget."""
