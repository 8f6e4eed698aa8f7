"""Who can help with what Lotsen does not answer: the other authorities of `config/referrals.yml`.

A question that belongs to Försäkringskassan, Arbetsförmedlingen, Migrationsverket, healthcare
(1177), Skatteverket or the city's social services is read by NLU as `out_of_scope/<authority>`
(a specific answer of the fixed intent `out_of_scope`, nlu/data/referrals_<lang>.yml). Its text
in answers.yml names who can help; the contact (web address, phone) comes from here, because the
seeds hold none: while `sample: true` the bot says the details are examples. Errors name the file,
the line and the field, as for locations.yml.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.core.places import LINE, PHONE, LineLoader, yaml_line

INTENT = "out_of_scope"  # referrals are this intent's specific answers: `out_of_scope/<id>`


class ReferralsError(ValueError):
    """referrals.yml is invalid; the message names the line and the field."""


@dataclass(frozen=True)
class Authority:
    id: str      # `forsakringskassan`: the answer `out_of_scope/forsakringskassan`
    name: str    # as people know it, in Swedish (a proper name)
    web: str
    phone: str = ""

    @property
    def answer(self) -> str:
        return f"{INTENT}/{self.id}"


@dataclass(frozen=True)
class Referrals:
    sample: bool
    authorities: Mapping[str, Authority]

    @classmethod
    def load(cls, path: Path) -> Referrals:
        return cls.parse(path.read_text(encoding="utf-8"), str(path))

    @classmethod
    def parse(cls, text: str, source: str) -> Referrals:
        try:
            data = yaml.load(text, Loader=LineLoader) or {}
        except yaml.YAMLError as exc:
            raise ReferralsError(f"{source}:{yaml_line(exc) or 1}: not valid YAML: {exc}") \
                from exc
        entries = data.get("authorities") if isinstance(data, Mapping) else None
        if not isinstance(entries, Mapping) or not entries:
            raise ReferralsError(f"{source}:1: `authorities` must map ids to entries")
        authorities: dict[str, Authority] = {}
        for key, entry in entries.items():
            if key == LINE:
                continue
            if not isinstance(entry, Mapping):
                raise ReferralsError(f"{source}: authority {key!r} must be a mapping")
            line = entry.get(LINE, "?")
            for name in ("name", "web"):
                if not isinstance(entry.get(name), str) or not entry[name].strip():
                    raise ReferralsError(f"{source}:{line}: authority {key!r}: `{name}` is "
                                         "missing or empty")
            if not str(entry["web"]).startswith("https://"):
                raise ReferralsError(f"{source}:{line}: authority {key!r}: `web` must be an "
                                     "https:// address")
            phone = str(entry.get("phone") or "")
            if phone and not PHONE.match(phone):
                raise ReferralsError(f"{source}:{line}: authority {key!r}: `phone` {phone!r} is "
                                     "not a phone number")
            authorities[str(key)] = Authority(str(key), str(entry["name"]).strip(),
                                              str(entry["web"]).strip(), phone)
        return cls(sample=bool(data.get("sample", False)), authorities=authorities)

    def of(self, answer: str | None) -> Authority | None:
        """The authority a referral answer (`out_of_scope/<id>`) names, if it is one."""
        if not answer or not answer.startswith(f"{INTENT}/"):
            return None
        return self.authorities.get(answer.removeprefix(f"{INTENT}/"))

    def check(self, answers: Collection[str], source: str) -> None:
        """Every referral answer of answers.yml has its authority here, and every authority
        here its answer: a typo stops the start with its name."""
        named = {key.removeprefix(f"{INTENT}/") for key in answers}
        problems = []
        missing, unused = named - set(self.authorities), set(self.authorities) - named
        if missing:
            problems.append(f"answers.yml refers to {sorted(missing)}, which have no entry")
        if unused:
            problems.append(f"{sorted(unused)} have no `out_of_scope/<id>` answer in answers.yml")
        if problems:
            raise ReferralsError(f"{source}: " + "; ".join(problems))
