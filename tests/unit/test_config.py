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
