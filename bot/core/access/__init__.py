"""A copy of one's data (GDPR art. 15): what Lotsen keeps about one conversation, collected
from every store and channel that keeps something (`collect.py`), as JSON, a readable page and
the chat's summary (`render.py`), and the `data_access` intent's answer (`flow.py`)."""
