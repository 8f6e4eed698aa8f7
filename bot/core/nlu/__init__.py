"""Natural-language understanding through Rasa's HTTP API (the gateway never imports Rasa).

result.py   what a parse means: spec §4 intents plus a specific answer
replica.py  one Rasa server over HTTP
pool.py     parses spread over the replicas, within a budget; health checks
cache.py    the same short text under the same model parsed once a day
spelling.py one spelling of Arabic-script text, in training (nlu/build.py) and in every parse
"""

from bot.core.nlu.errors import NLUBusy, NLUUnavailable
from bot.core.nlu.result import FLAT_SEPARATOR, Entity, Parser, ParseResult, to_result

__all__ = ["FLAT_SEPARATOR", "Entity", "NLUBusy", "NLUUnavailable", "ParseResult", "Parser",
           "to_result"]
