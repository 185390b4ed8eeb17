"""POST to a webhook URL through exactly the addresses its check vetted (no second DNS lookup to rebind).

The request goes to ``scheme://<address>:<port>/path`` with the URL's own ``Host`` header; for https a transport
adapter gives urllib3 the host name for SNI (``server_hostname``) and for certificate verification
(``assert_hostname``), so the certificate is still checked against the name, never the address. Redirects are
not followed, and proxies, .netrc and CA bundles from the environment are ignored (``trust_env`` off: a proxy
would resolve the name again).
"""
import ipaddress
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError


class PinnedHostAdapter(HTTPAdapter):
    """An HTTPAdapter whose https pools send SNI for, and verify the certificate against, ``hostname``."""

    def __init__(self, hostname, **kwargs):
        self.hostname = hostname
        super().__init__(**kwargs)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        pool_kwargs.update(server_hostname=self.hostname, assert_hostname=self.hostname)
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)


def pinned_url(url, address):
    """``url`` with its host replaced by ``address`` (IPv6 in brackets) and the port made explicit."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = f"[{address}]" if ipaddress.ip_address(address.split("%", 1)[0]).version == 6 else address
    return urlunsplit((parts.scheme, f"{host}:{port}", parts.path, parts.query, ""))


def _session(url):
    session = requests.Session()
    session.trust_env = False
    parts = urlsplit(url)
    if parts.scheme == "https":
        session.mount("https://", PinnedHostAdapter(parts.hostname))
    return session


def post(url, addresses, *, data, headers, timeout, verify=True):
    """POST ``data`` to ``url``, connecting to the first of ``addresses`` (the checked addresses of its host)
    that accepts the connection; redirects are not followed, the response body is not read. Returns the status
    code; raises ``requests.RequestException`` like ``requests.post`` (the last address's when none connects)."""
    if not addresses:
        raise requests.ConnectionError("No checked address to connect to.")
    headers = {**headers, "Host": urlsplit(url).netloc}
    with _session(url) as session:
        for address in addresses[:-1]:
            try:
                return _send(session, pinned_url(url, address), data, headers, timeout, verify)
            except requests.ConnectionError as error:
                if not _not_connected(error):
                    raise
        return _send(session, pinned_url(url, addresses[-1]), data, headers, timeout, verify)


def _send(session, url, data, headers, timeout, verify):
    with session.post(url, data=data, headers=headers, timeout=timeout, verify=verify, allow_redirects=False,
                      stream=True) as response:
        return response.status_code


def _not_connected(error):
    """True when the request never left (refused, unreachable, or timed out while connecting), so the next address
    may be tried without sending the event twice."""
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(error, requests.ConnectTimeout) or isinstance(reason, NewConnectionError)
