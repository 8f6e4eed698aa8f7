import pytest

from bot.config import ConfigError, Settings, rasa_urls, sentinels


def test_defaults_match_the_spec() -> None:
    settings = Settings.from_env({})
    assert settings.port == 8080
    assert settings.key_prefix == "lotsen"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.retention_days == 30


def test_environment_overrides_and_types() -> None:
    settings = Settings.from_env({"LOTSEN_PORT": "9001", "LOTSEN_NLU_THRESHOLD": "0.7",
                                  "LOTSEN_KEY_PREFIX": "city", "LOTSEN_UNKNOWN": "x"})
    assert (settings.port, settings.nlu_threshold, settings.key_prefix) == (9001, 0.7, "city")


@pytest.mark.parametrize("env", [{"LOTSEN_PORT": "eighty"}, {"LOTSEN_PORT": "70000"},
                                 {"LOTSEN_NLU_THRESHOLD": "2"}, {"LOTSEN_KEY_PREFIX": "a:b"},
                                 {"LOTSEN_SMTP_URL": "mail.example.org"},
                                 {"LOTSEN_SMTP_URL": "http://mail.example.org"},
                                 {"LOTSEN_SMTP_URL": "smtp://"}, {"LOTSEN_DIGEST_HOUR": "24"},
                                 {"LOTSEN_AUDIT_DAYS": "0"}, {"LOTSEN_NLU_BUDGET_MS": "0"},
                                 {"LOTSEN_NLU_CONCURRENCY": "0"}, {"LOTSEN_RASA_URL": " , "},
                                 {"LOTSEN_RASA_URL": "http://a:5005,rasa-b:5005"},
                                 {"LOTSEN_REDIS_SENTINELS": "10.0.0.1"},
                                 {"LOTSEN_REDIS_SENTINELS": "10.0.0.1:26379,s2:port"},
                                 {"LOTSEN_NLU_CACHE": "maybe"}])
def test_bad_values_are_refused_with_the_variable_named(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="LOTSEN_"):
        Settings.from_env(env)


def test_several_rasa_replicas_and_sentinels_are_lists() -> None:
    assert rasa_urls("http://a:5005/, http://b:5005,http://a:5005") == [
        "http://a:5005", "http://b:5005"]
    assert sentinels("10.0.0.5:26379, sentinel-2:26379,[::1]:26380") == [
        ("10.0.0.5", 26379), ("sentinel-2", 26379), ("::1", 26380)]
    settings = Settings.from_env({"LOTSEN_RASA_URL": "http://a:5005,http://b:5006",
                                  "LOTSEN_REDIS_SENTINELS": "s1:26379,s2:26379"})
    assert settings.redis_service == "lotsen" and settings.nlu_budget_ms == 800


@pytest.mark.parametrize(("env", "variable"), [
    ({"LOTSEN_PORT": "0"}, "LOTSEN_PORT"),
    ({"LOTSEN_NLU_PORT": "65536"}, "LOTSEN_NLU_PORT"),
    ({"LOTSEN_ANSWER_THRESHOLD": "-0.1"}, "LOTSEN_ANSWER_THRESHOLD"),
    ({"LOTSEN_KEY_PREFIX": "a:b"}, "LOTSEN_KEY_PREFIX"),
    ({"LOTSEN_MAX_MESSAGE_CHARS": "0"}, "LOTSEN_MAX_MESSAGE_CHARS"),
    ({"LOTSEN_RETENTION_DAYS": "0"}, "LOTSEN_RETENTION_DAYS"),
    ({"LOTSEN_DIGEST_HOUR": "-1"}, "LOTSEN_DIGEST_HOUR"),
    ({"LOTSEN_MAX_IN_FLIGHT": "-1"}, "LOTSEN_MAX_IN_FLIGHT"),
    ({"LOTSEN_NLU_REPLICAS": "0"}, "LOTSEN_NLU_REPLICAS"),
    ({"LOTSEN_RASA_URL": "ftp://rasa:5005"}, "LOTSEN_RASA_URL"),
    ({"LOTSEN_REDIS_MAX_CONNECTIONS": "1"}, "LOTSEN_REDIS_MAX_CONNECTIONS"),
    ({"LOTSEN_REDIS_POOL_TIMEOUT_SECONDS": "0"}, "LOTSEN_REDIS_POOL_TIMEOUT_SECONDS"),
    ({"LOTSEN_REDIS_MEMORY_WARN_RATIO": "1.5"}, "LOTSEN_REDIS_MEMORY_WARN_RATIO"),
    ({"LOTSEN_SMS_DEFAULT_PROVIDER": "sinch"}, "LOTSEN_SMS_DEFAULT_PROVIDER"),
    ({"LOTSEN_WORKER_CONCURRENCY": "0"}, "LOTSEN_WORKER_CONCURRENCY"),
    ({"LOTSEN_JOB_LEASE_SECONDS": "2.5"}, "LOTSEN_JOB_LEASE_SECONDS"),
    ({"LOTSEN_CAMPAIGN_MAX_PER_DAY": "0"}, "LOTSEN_CAMPAIGN_MAX_PER_DAY"),
    ({"LOTSEN_TRUSTED_PROXIES": "10.0.0.0/8, lb"}, "LOTSEN_TRUSTED_PROXIES"),
    ({"LOTSEN_LIMIT_EXEMPT": "::1,x"}, "LOTSEN_LIMIT_EXEMPT"),
    ({"LOTSEN_ELKS_SOURCE_ADDRESSES": "46elks"}, "LOTSEN_ELKS_SOURCE_ADDRESSES"),
    ({"LOTSEN_SMS_RATE_PER_SECOND": "0"}, "LOTSEN_SMS_RATE_PER_SECOND"),
    ({"LOTSEN_TELEGRAM_CHAT_RATE_PER_SECOND": "-1"}, "LOTSEN_TELEGRAM_CHAT_RATE_PER_SECOND"),
    ({"LOTSEN_NLU_TIMEOUT_SECONDS": "0"}, "LOTSEN_NLU_TIMEOUT_SECONDS"),
    ({"LOTSEN_IDLE_SESSION_MINUTES": "0"}, "LOTSEN_IDLE_SESSION_MINUTES"),
    ({"LOTSEN_LIMIT_BOOKINGS_PER_DAY": "-1"}, "LOTSEN_LIMIT_BOOKINGS_PER_DAY"),
    ({"LOTSEN_LOG_LEVEL": "LOUD"}, "LOTSEN_LOG_LEVEL"),
    ({"LOTSEN_COOKIE_SECURE": "sometimes"}, "LOTSEN_COOKIE_SECURE"),
])
def test_each_rule_names_its_own_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(env)
    assert str(raised.value).startswith(variable + " ") or \
        str(raised.value).startswith(variable + "="), str(raised.value)


@pytest.mark.parametrize("env", [
    {"LOTSEN_PORT": "1"}, {"LOTSEN_PORT": "65535"}, {"LOTSEN_DIGEST_HOUR": "0"},
    {"LOTSEN_DIGEST_HOUR": "23"}, {"LOTSEN_NLU_THRESHOLD": "0"}, {"LOTSEN_NLU_THRESHOLD": "1"},
    {"LOTSEN_MAX_IN_FLIGHT": "0"}, {"LOTSEN_JOB_LEASE_SECONDS": "3"},
    {"LOTSEN_REDIS_MAX_CONNECTIONS": "2"}, {"LOTSEN_REDIS_MEMORY_WARN_RATIO": "1"},
    {"LOTSEN_LIMIT_BOOKINGS_PER_DAY": "0"}, {"LOTSEN_LOG_LEVEL": "debug"},
    {"LOTSEN_SMS_DEFAULT_PROVIDER": "twilio"}, {"LOTSEN_TRUSTED_PROXIES": "10.0.0.0/8, ::1"},
    {"LOTSEN_TELEGRAM_TOKEN": "1:abc"},  # polling: no public URL, no webhook secret needed
    {"LOTSEN_TWILIO_AUTH_TOKEN": "t"},  # inbound only: no account to send with
])
def test_values_at_the_edges_are_accepted(env: dict[str, str]) -> None:
    Settings.from_env(env)


@pytest.mark.parametrize(("env", "message"), [
    ({"LOTSEN_TELEGRAM_TOKEN": "1:abc", "LOTSEN_PUBLIC_URL": "https://lotsen.test"},
     "LOTSEN_TELEGRAM_WEBHOOK_SECRET must be set when LOTSEN_TELEGRAM_TOKEN and "
     "LOTSEN_PUBLIC_URL are set"),
    ({"LOTSEN_ELKS_USERNAME": "u1"},
     "LOTSEN_ELKS_PASSWORD must be set when LOTSEN_ELKS_USERNAME is set"),
    ({"LOTSEN_TWILIO_ACCOUNT_SID": "AC1", "LOTSEN_TWILIO_FROM": "+46700000000"},
     "LOTSEN_TWILIO_AUTH_TOKEN must be set when LOTSEN_TWILIO_ACCOUNT_SID is set"),
    ({"LOTSEN_TWILIO_ACCOUNT_SID": "AC1", "LOTSEN_TWILIO_AUTH_TOKEN": "t"},
     "LOTSEN_TWILIO_FROM must be set when LOTSEN_TWILIO_ACCOUNT_SID is set"),
])
def test_a_setting_another_one_needs_is_required(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(env)
    assert str(raised.value) == message


def test_a_sentinel_setup_needs_the_master_name() -> None:
    settings = Settings(redis_sentinels="s1:26379", redis_service="")
    assert settings.problems() == [
        "LOTSEN_REDIS_SERVICE must be set when LOTSEN_REDIS_SENTINELS is set"]
    assert Settings(redis_sentinels="", redis_service="").problems() == []


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"LOTSEN_PORT": "0", "LOTSEN_DIGEST_HOUR": "24",
                           "LOTSEN_SMS_DEFAULT_PROVIDER": "x"})
    assert str(raised.value) == ("LOTSEN_PORT must be 1-65535, got 0; "
                                 "LOTSEN_DIGEST_HOUR must be 0-23, got 24; "
                                 "LOTSEN_SMS_DEFAULT_PROVIDER must be 46elks, twilio or empty, "
                                 "got 'x'")
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"LOTSEN_PORT": "eighty", "LOTSEN_NLU_CACHE": "maybe"})
    assert str(raised.value) == ("LOTSEN_PORT='eighty' is not a valid int; "
                                 "LOTSEN_NLU_CACHE='maybe' is not a valid bool")


SECRETS = {"LOTSEN_ADMIN_TOKEN": "admin-s3cret", "LOTSEN_RASA_TOKEN": "rasa-s3cret",
           "LOTSEN_TELEGRAM_TOKEN": "123:tg-s3cret", "LOTSEN_TELEGRAM_WEBHOOK_SECRET": "wh-s3cret",
           "LOTSEN_ELKS_USERNAME": "u1", "LOTSEN_ELKS_PASSWORD": "elks-s3cret",
           "LOTSEN_ELKS_WEBHOOK_SECRET": "in-s3cret", "LOTSEN_ELKS_STATUS_SECRET": "st-s3cret",
           "LOTSEN_TWILIO_ACCOUNT_SID": "AC1", "LOTSEN_TWILIO_AUTH_TOKEN": "tw-s3cret",
           "LOTSEN_TWILIO_FROM": "+46700000000", "LOTSEN_HASH_SECRET": "hash-s3cret",
           "LOTSEN_REDIS_URL": "redis://:redis-s3cret@10.0.0.5:6379/2",
           "LOTSEN_SMTP_URL": "smtp://mailer:smtp-s3cret@mail.stad.test:587?starttls=true",
           "LOTSEN_PUBLIC_URL": "https://lotsen.test"}


def test_no_secret_appears_in_the_repr() -> None:
    settings = Settings.from_env(SECRETS)
    for text in (repr(settings), str(settings), f"{settings}", repr([settings])):
        assert "s3cret" not in text
    shown = repr(settings)
    assert "admin_token='***'" in shown and "telegram_webhook_secret='***'" in shown
    assert "redis_url='redis://:***@10.0.0.5:6379/2'" in shown
    assert "smtp_url='smtp://mailer:***@mail.stad.test:587?starttls=true'" in shown
    assert "elks_username='u1'" in shown and "port=8080" in shown  # the rest as it is
    assert "rasa_token=''" in repr(Settings())  # an unset secret shows that it is unset
    assert settings.admin_token == "admin-s3cret"  # hidden only from view


def test_no_secret_appears_in_an_error_message() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({**SECRETS, "LOTSEN_TELEGRAM_WEBHOOK_SECRET": "",
                           "LOTSEN_SMTP_URL": "smtp://mailer:smtp-s3cret@:587"})
    assert "LOTSEN_TELEGRAM_WEBHOOK_SECRET" in str(raised.value)
    assert "LOTSEN_SMTP_URL" in str(raised.value)
    assert "s3cret" not in str(raised.value)


def test_the_documented_booleans_and_paths_are_read() -> None:
    settings = Settings.from_env({"LOTSEN_RASA_RESOLVE": "yes", "LOTSEN_NLU_CACHE": "False",
                                  "LOTSEN_CONTENT_DIR": "/srv/content"})
    assert (settings.rasa_resolve, settings.nlu_cache) == (True, False)
    assert str(settings.content_dir) == "/srv/content"
    assert Settings.from_env({"LOTSEN_CONTENT_DIR": ""}).content_dir == Settings().content_dir
