"""docs/configuration.md and .env.example are what bot/config_docs.py renders from `Settings`:
a setting added without a description, or without regenerating the files, fails here."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import pytest

from bot import config_docs
from bot.config import Group, Settings, env_name, setting, spec_of

STALE = "is stale: run `make config-docs` and commit the result"


@dataclass(frozen=True, repr=False)
class WithUndocumented(Settings):
    new_knob: int = 5


@dataclass(frozen=True, repr=False)
class WithDocumented(Settings):
    new_knob: int = setting(5, "A new knob.", group=Group.GATEWAY, minimum=1)


def parsed_env_example() -> dict[str, str]:
    text = config_docs.ENV_EXAMPLE.read_text(encoding="utf-8")
    pairs = [line.split("=", 1) for line in text.splitlines()
             if line and not line.startswith("#")]
    assert len(pairs) == len(dict(pairs)), "a variable is listed twice"
    return dict(pairs)


def test_every_setting_has_a_description() -> None:
    assert config_docs.undocumented() == [], "declare each field with setting(default, doc, ...)"
    for f in fields(Settings):
        spec = spec_of(f)
        assert spec is not None and len(spec.doc) > 10, env_name(f.name)


@pytest.mark.parametrize("path", list(config_docs.OUTPUTS), ids=lambda p: p.name)
def test_the_generated_files_are_up_to_date(path: Path) -> None:
    expected = config_docs.OUTPUTS[path]()
    assert path.exists(), f"{path.name} is missing: run `make config-docs`"
    assert path.read_text(encoding="utf-8") == expected, f"{path.name} {STALE}"


def test_an_undocumented_setting_is_refused_by_the_generator() -> None:
    assert config_docs.undocumented(WithUndocumented) == ["LOTSEN_NEW_KNOB"]
    for render in (config_docs.markdown, config_docs.env_example):
        with pytest.raises(config_docs.UndocumentedSetting, match="LOTSEN_NEW_KNOB"):
            render(WithUndocumented)


def test_a_new_documented_setting_changes_both_files() -> None:
    markdown = config_docs.markdown(WithDocumented)
    assert markdown != config_docs.markdown()
    assert "| `LOTSEN_NEW_KNOB` | `5` | whole number, >= 1 | A new knob. |" in markdown
    assert "# A new knob. (whole number, >= 1)\nLOTSEN_NEW_KNOB=5\n" in \
        config_docs.env_example(WithDocumented)


def test_the_env_example_lists_every_setting_and_loads_as_the_defaults() -> None:
    listed = parsed_env_example()
    assert set(listed) == {env_name(f.name) for f in fields(Settings)}
    assert Settings.from_env(listed) == Settings()


def test_secrets_are_empty_in_the_env_example_and_marked_in_the_docs() -> None:
    listed = parsed_env_example()
    docs = config_docs.DOCS.read_text(encoding="utf-8")
    secrets = [f.name for f in fields(Settings) if (spec := spec_of(f)) and spec.secret]
    assert {"admin_token", "rasa_token", "telegram_token", "twilio_auth_token",
            "elks_password", "hash_secret"} <= set(secrets)
    for name in secrets:
        assert listed[env_name(name)] == "", name
        assert f"| `{env_name(name)}`<br>secret" in docs, name


def test_the_check_mode_reports_a_stale_file(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "configuration.md"
    stale.write_text("# Configuration\n", encoding="utf-8")
    monkeypatch.setattr(config_docs, "ROOT", tmp_path)
    monkeypatch.setattr(config_docs, "OUTPUTS", {stale: config_docs.markdown})
    assert config_docs.main(["--check"]) == 1
    assert "stale: configuration.md (run `make config-docs`)" in capsys.readouterr().out
    assert stale.read_text(encoding="utf-8") == "# Configuration\n"  # --check writes nothing
    assert config_docs.main([]) == 0
    assert stale.read_text(encoding="utf-8") == config_docs.markdown()
    assert config_docs.main(["--check"]) == 0
