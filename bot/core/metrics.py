"""Prometheus metrics (served at `GET /metrics`). Labels never carry personal data."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter("lotsen_messages_total", "Messages received", ["channel", "language"])
FALLBACKS = Counter("lotsen_fallbacks_total", "Messages not answered from NLU", ["reason"])
NLU_LATENCY = Histogram("lotsen_nlu_latency_seconds", "Time for one Rasa parse",
                        buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
HTTP_ERRORS = Counter("lotsen_http_errors_total", "Requests answered with an error",
                      ["route", "status"])
BOOKINGS = Counter("lotsen_bookings_total", "Booking attempts and cancellations by result",
                   ["result"])
TIME_TO_CLAIM = Histogram("lotsen_lead_time_to_claim_seconds", "From lead to first claim",
                          ["team"], buckets=(60, 300, 900, 1800, 3600, 7200, 14400, 28800,
                                             86400))
LEAD_OUTCOMES = Counter("lotsen_lead_outcomes_total", "Closed leads by outcome",
                        ["team", "outcome"])
LEADS_WAITING = Gauge("lotsen_leads_waiting", "Unclaimed leads now", ["team"])
LEADS_OVER_SLA = Gauge("lotsen_leads_over_sla", "Unclaimed leads waiting longer than the SLA",
                       ["team"])
BOOKING_ATTENDANCE = Gauge("lotsen_booking_attendance",
                           "Drop-in bookings marked by staff as attended or no-show",
                           ["location", "status"])
CAMPAIGN_STARTS = Counter("lotsen_campaign_starts_total", "Conversations started from a link",
                          ["channel", "source"])
CAMPAIGN_MESSAGES = Gauge("lotsen_campaign_messages",
                          "Campaign messages by campaign, status (queued, sent, delivered, "
                          "failed, skipped, replies) and channel; read from Redis at each scrape",
                          ["campaign", "status", "channel"])
REDIS_MEMORY = Gauge("lotsen_redis_memory_ratio",
                     "Redis used memory / maxmemory (0: no limit set); warn from 0.8")
NLU_READ = Counter("lotsen_nlu_messages_total", "Text messages read by NLU", ["language"])
NOT_UNDERSTOOD = Counter("lotsen_not_understood_total",
                         "Messages kept for review: a clarifying menu, out_of_scope, or "
                         "'That didn't help'", ["language", "reason"])
NOT_UNDERSTOOD_SHARE = Gauge("lotsen_not_understood_share",
                             "Share of messages not understood, per language and ISO week "
                             "(this week and the last)", ["language", "week"])
NLU_REPLICAS = Gauge("lotsen_nlu_replicas", "Rasa replicas this gateway uses, by state",
                     ["state"])
NLU_QUEUE_WAIT = Histogram("lotsen_nlu_queue_wait_seconds",
                           "Time a message waited for a free Rasa slot (only when all were busy)",
                           buckets=(0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6))
NLU_CACHE = Counter("lotsen_nlu_cache_total",
                    "Parse cache lookups: hit, miss, or skip (not cacheable: personal data, "
                    "long text, model unknown)", ["result"])
CONTENT_TEXTS = Gauge("lotsen_content_texts", "Texts Lotsen can say, by language and status "
                      "(missing, draft, reviewed, stale: the content workspace)",
                      ["language", "status"])
CONTENT_OVER_READABILITY = Gauge("lotsen_content_over_readability_threshold",
                                 "Texts of 25 words or more over the readability threshold "
                                 "(LIX, Swedish)", ["language"])
DELIVERY_STATUSES = Counter("lotsen_delivery_statuses_total",
                            "Delivery statuses providers reported for messages sent (sent, "
                            "delivered, read, failed), by channel", ["channel", "status"])
DELIVERY_FAILURES = Counter("lotsen_delivery_failures_total",
                            "Messages a provider reported failed, by channel and the provider's "
                            "error code", ["channel", "code"])
