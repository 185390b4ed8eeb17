"""docs/events.md is the catalogue of events: every name published is listed there, and every subscription
listens to a name somebody publishes (a typo would otherwise subscribe to silence)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEAM = ROOT / "app" / "common" / "events.py"
PUBLISHED = re.compile(r"""\bpublish\(\s*["']([a-z_]+\.[a-z_.]+)["']""")
# A module publishing a name held in a variable (scheduling's table of booking events) has it as a dotted literal.
PUBLISHED_BY_VARIABLE = re.compile(r"\bpublish\(\s*[A-Za-z_]")
DOTTED_LITERAL = re.compile(r"""["']([a-z_]+\.[a-z_]+)["']""")
SUBSCRIBED = re.compile(r"""\.subscribe\(\s*["']([a-z_]+\.[a-z_.]+)["']""")


def _names(pattern):
    names = {}
    for path in (ROOT / "app").rglob("*.py"):
        if path == SEAM:
            continue
        text = path.read_text()
        found = pattern.findall(text)
        if pattern is PUBLISHED and PUBLISHED_BY_VARIABLE.search(text):
            found += DOTTED_LITERAL.findall(text)
        for name in found:
            names.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return names


def _documented():
    text = (ROOT / "docs" / "events.md").read_text()
    return set(re.findall(r"^\|\s*`([a-z_]+\.[a-z_.]+)`", text, flags=re.MULTILINE))


def test_every_published_event_is_documented():
    published = _names(PUBLISHED)
    assert published, "no publish() call found: the pattern is out of date"
    missing = sorted(set(published) - _documented())
    assert not missing, f"published but not in docs/events.md: {missing}"


def test_every_documented_event_is_published():
    stale = sorted(_documented() - set(_names(PUBLISHED)))
    assert not stale, f"listed in docs/events.md but published nowhere: {stale}"


def test_every_subscription_listens_to_a_published_event(app):
    published = set(_names(PUBLISHED))
    subscribed = set(_names(SUBSCRIBED)) | set(app.extensions["events"].names())
    orphans = sorted(subscribed - published)
    assert not orphans, f"subscribed to events nobody publishes: {orphans}"
