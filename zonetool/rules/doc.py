"""The README's rule table, generated from the registry so the two cannot drift apart.

`python -m zonetool.rules.doc README.md` rewrites the `<!-- section: rules -->` section;
tests/rules/test_rules_registry.py fails when README and registry disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from zonetool.rules import FAMILIES, RULES

MARKER = "<!-- section: rules -->"
_NEXT = "<!-- section:"

INTRO = """## Validation rules

Every rule has a stable code. A zone can accept a finding by naming its code under `silence:` with a
reason; the finding is still printed, marked as silenced, with that reason. Errors stop `export`;
warnings do not (`validate --strict` fails on them too). Rules judge the compiled zone, whether it
came from YAML or a BIND file; problems that prevent building a record at all (unknown keys, bad
addresses, labels over 63 octets, ...) are reported earlier by the compiler. `zonetool rules` prints
this table (`--format json` too).

```yaml
silence:
  spf-missing: "lab zone: receives test mail only"   # printed next to the finding, which stays visible
```"""


def table() -> str:
    """The section body: intro plus one row per rule, grouped by family in registry order."""
    rows = ["| code | severity | requires | source |", "|---|---|---|---|"]
    for family in FAMILIES:
        for r in RULES.values():
            if r.family == family:
                rows.append(f"| `{r.code}` | {r.severity.value} | {r.summary} | {r.rfc} |")
    return INTRO + "\n\n" + "\n".join(rows) + "\n"


def section(readme: str) -> str | None:
    """The current body of the rules section (between its marker and the next one)."""
    start = readme.find(MARKER)
    if start < 0:
        return None
    body_start = start + len(MARKER)
    end = readme.find(_NEXT, body_start)
    return readme[body_start : end if end >= 0 else len(readme)].strip("\n") + "\n"


def update(readme: str) -> str:
    start = readme.index(MARKER) + len(MARKER)
    end = readme.find(_NEXT, start)
    end = end if end >= 0 else len(readme)
    return readme[:start] + "\n\n" + table() + "\n" + readme[end:]


def main(argv: list[str]) -> int:
    from zonetool.atomic import write_atomic

    path = Path(argv[0] if argv else "README.md")
    write_atomic(path, update(path.read_text(encoding="utf-8")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
