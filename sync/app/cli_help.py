"""What ``--help`` adds to each command's options: examples, exit codes, and a near miss.

The examples and exit codes live here as data, so the reference page (``docs/reference/
cli.md``, generated) shows the same text as ``--help``. A mistyped command or option gets a
"did you mean" from the words the parser knows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Exit codes per command; a usage error exits 1 everywhere, never 2 (2 means "changes
#: pending").
EXIT_CODES: dict[str, tuple[tuple[int, str], ...]] = {
    "": (
        (0, "done, or nothing to change"),
        (1, "error: a setting, a file, Azure (usage errors too)"),
        (2, "plan: changes pending"),
        (3, "a guard refused a target"),
    ),
    "prefixes": (
        (0, "printed"),
        (1, "error"),
        (3, "--max-entries would allow more than --max-extra-ratio unpublished addresses"),
    ),
    "diff": ((0, "no tag's addresses changed"), (1, "error"), (2, "addresses changed")),
    "tags": ((0, "printed"), (1, "error (a region no tag is in, too)")),
    "plan": (
        (0, "nothing to do"),
        (1, "error (a target failed, a setting, sign-in)"),
        (2, "changes pending"),
        (3, "a guard refused a target"),
    ),
    "apply": (
        (0, "applied, or nothing to do"),
        (1, "error (a target failed, a setting, sign-in, a saved plan that no longer holds)"),
        (2, "changes pending: dry_run is on, nothing was written"),
        (3, "a guard refused a target (--force overrides)"),
    ),
    "demo": ((0, "the demo ran"), (1, "error")),
    "schema": ((0, "printed"),),
}

_RELEASE = "ServiceTags_Public_20251017.json"
#: Examples per command, ``{prog}`` standing for how ipsync was started.
EXAMPLES: dict[str, tuple[tuple[str, str], ...]] = {
    "": (
        ("{prog} plan", "what would change (settings from ./ipsync.toml)"),
        ("{prog} apply --config prod.toml", "write it, with another settings file"),
        ("{prog} prefixes Storage.WestEurope", "the current ranges of a service tag"),
        ("{prog} COMMAND --help", "a command's options, examples and exit codes"),
    ),
    "prefixes": (
        ("{prog} prefixes Storage.WestEurope", "one CIDR a line, IPv4 first"),
        (
            "{prog} prefixes AzureCloud.westeurope --family v4 --max-entries 400",
            "fitted into a 400-entry firewall",
        ),
        (f"{{prog}} prefixes Sql.WestEurope --source {_RELEASE}", "from a release file"),
        ("{prog} prefixes actions --feed github --format csv", "another feed, as CSV"),
    ),
    "diff": (
        ("{prog} diff previous latest", "what the newest release changed (kept releases)"),
        (
            "{prog} diff ServiceTags_Public_20251010.json ServiceTags_Public_20251017.json "
            "--tag Storage.WestEurope --json",
            "two files, one tag, as JSON",
        ),
    ),
    "tags": (
        ('{prog} tags --region "West Europe" --match storage', "a region by name or id"),
        (f"{{prog}} tags --source {_RELEASE} --json", "a release file, as JSON"),
    ),
    "plan": (
        ("{prog} plan", "settings from ./ipsync.toml (or IPSYNC_* variables)"),
        ("{prog} plan --config prod.toml --full", "every prefix of every change"),
        ("{prog} plan --json > plan.json", "the report as JSON"),
        ("{prog} plan --out week.plan.json", "save the plan for review, then apply exactly it"),
        ("{prog} plan --source github=meta.json", "the github feed from a local file"),
        ("{prog} plan --impact", "per target and in total: entries, writes, refusals"),
        (
            "{prog} plan --offline --since ServiceTags_Public_20251010.json",
            "the same without reading Azure, against an older release",
        ),
    ),
    "apply": (
        ("{prog} apply", "plan, then write what changed"),
        ("{prog} apply --config prod.toml --json", "the report as JSON"),
        ("{prog} apply --force", "past a guard that refused, after checking why"),
        ("{prog} apply week.plan.json", "write exactly the saved plan, or nothing if it moved"),
    ),
    "demo": (("{prog} demo", "offline, on the embedded emulator"),),
    "schema": (("{prog} schema > ipsync.schema.json", "for editors: #:schema in the file"),),
}


def epilog(command: str, prog: str) -> str:
    """The text after a command's options: its examples and its exit codes."""
    lines = []
    examples = EXAMPLES.get(command, ())
    if examples:
        lines.append("examples:")
        for text, note in examples:
            lines += [f"  # {note}", f"  {text.format(prog=prog)}"]
    codes = EXIT_CODES.get(command, ())
    if codes:
        lines += ["", "exit codes:"] if lines else ["exit codes:"]
        lines += [f"  {code}  {meaning}" for code, meaning in codes]
    return "\n".join(lines)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'plan'?)`` for a near miss, else nothing."""
    import difflib  # only a miss needs it

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


#: Compiled on first use (by ``re``'s cache): a run without a usage error never needs it.
_INVALID_CHOICE = r"argument (?P<arg>.+?): invalid choice: '(?P<value>.*?)' \(choose"


def explain(message: str, commands: Iterable[str]) -> str:
    """argparse's message with a guess: ``unknown command 'plna' (did you mean 'plan'?)``."""
    match = re.match(_INVALID_CHOICE, message)
    if match is None:
        return message
    value = match["value"]
    choices = re.findall(r"'([^']*)'", message[match.end() :])
    if match["arg"].lower() == "command":
        hint = did_you_mean(value, commands)
        return f"unknown command {value!r}{hint}; commands: {', '.join(choices)}"
    hint = did_you_mean(value, choices)
    return f"{match['arg']}: unknown value {value!r}{hint}; one of {', '.join(choices)}"


def unknown_options(extras: Iterable[str], options: Iterable[str]) -> str:
    """What no option of the command takes, each unknown option with its near miss (the word
    right after an unknown option is taken for its value and not named again)."""
    known = [option for option in options if option.startswith("--")]
    parts: list[str] = []
    after_option = False
    for extra in extras:
        name = extra.split("=", 1)[0]
        if name.startswith("-"):
            parts.append(f"unknown option {name}{did_you_mean(name, known)}")
            after_option = "=" not in extra
        elif not after_option:
            parts.append(f"unexpected argument {extra!r}")
        else:
            after_option = False
    return "; ".join(parts)
