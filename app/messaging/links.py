"""Typed link previews for Google Drive and Dropbox files, recognised by pattern only (nothing is fetched)."""
import re
from urllib.parse import parse_qs, urlsplit

URL = re.compile(r"https://[^\s<>\"'()\[\]{}]+")
MAX_PREVIEWS = 10
_ID = r"[A-Za-z0-9_-]{10,200}"

# (type, exact host, path pattern with the file id as group 1)
_PATH_RULES = (
    ("google_drive", "drive.google.com", re.compile(rf"^/file/d/({_ID})(?:/[A-Za-z]*)?/?$")),
    ("google_drive", "drive.google.com", re.compile(rf"^/drive/(?:u/\d+/)?folders/({_ID})/?$")),
    ("google_drive", "docs.google.com",
     re.compile(rf"^/(?:document|spreadsheets|presentation|forms)/d/({_ID})(?:/[A-Za-z]*)?/?$")),
    ("dropbox", "www.dropbox.com", re.compile(r"^/s/([A-Za-z0-9]{8,64})/[^/]{1,255}$")),
    ("dropbox", "www.dropbox.com", re.compile(r"^/scl/f[io]/([A-Za-z0-9]{8,64})(?:/[^/]{1,255})?$")),
    ("dropbox", "dl.dropboxusercontent.com", re.compile(r"^/s/([A-Za-z0-9]{8,64})/[^/]{1,255}$")),
)
_QUERY_ID = re.compile(rf"^{_ID}$")


def _classify(url):
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    # Exact hosts only: no userinfo, no port, no look-alike suffixes such as drive.google.com.evil.test.
    if parts.scheme != "https" or parts.username or parts.password or parts.port:
        return None
    host = (parts.hostname or "").lower()
    for kind, rule_host, pattern in _PATH_RULES:
        if host == rule_host:
            match = pattern.match(parts.path)
            if match:
                return {"type": kind, "url": url, "file_id": match.group(1)}
    if host == "drive.google.com" and parts.path in ("/open", "/uc"):
        file_id = (parse_qs(parts.query).get("id") or [""])[0]
        if _QUERY_ID.match(file_id):
            return {"type": "google_drive", "url": url, "file_id": file_id}
    return None


def link_previews(body):
    """[{type: google_drive|dropbox, url, file_id}] for the file links found in a message body."""
    previews, seen = [], set()
    for match in URL.finditer(body or ""):
        url = match.group(0).rstrip(".,;:!?")
        preview = _classify(url)
        if preview and url not in seen:
            seen.add(url)
            previews.append(preview)
            if len(previews) == MAX_PREVIEWS:
                break
    return previews
