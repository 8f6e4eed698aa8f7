"""The accessibility statement (tillgänglighetsredogörelse) that Swedish public-sector web must
publish: facts from `config/accessibility.yml`, prose from `statement.yml`, one page per
language (`/tillganglighet`, `/accessibility`)."""
