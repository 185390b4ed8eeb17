"""The delivery connects to exactly the address that was checked (DNS rebinding between the check and the connect),
keeping the Host header and, for https, SNI and certificate verification against the URL's host name."""
import datetime
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.webhooks import targets, transport
from tests.factories import UserFactory
from tests.webhooks.conftest import Receiver
from tests.webhooks.test_delivery import announce, booking_payload

PUBLIC = "93.184.215.14"


@pytest.fixture
def local_receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


def test_a_name_rebound_to_loopback_after_the_check_does_not_reach_it(app, hooks, owner, local_receiver,
                                                                     monkeypatch):
    """The check sees a public address; the connect-time lookup would answer 127.0.0.1 (the local receiver)."""
    port = local_receiver.server.server_address[1]
    monkeypatch.setitem(app.config, "WEBHOOKS_CONNECT_TIMEOUT_SECONDS", 0.5)
    real_resolve, real_getaddrinfo, looked_up = targets.resolve, socket.getaddrinfo, []
    monkeypatch.setattr(targets, "resolve",
                        lambda host, p: [PUBLIC] if host == "late.example.com" else real_resolve(host, p))

    def getaddrinfo(host, *args, **kwargs):
        looked_up.append(host)
        if host == "late.example.com":  # the rebinding answer, at connect time
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        if host == PUBLIC:
            raise OSError("no route to the public address in tests")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    hook = hooks.made(owner, f"http://late.example.com:{port}/hook")
    announce("booking.confirmed", **booking_payload(owner.id, UserFactory().id))
    assert local_receiver.requests == []
    assert "late.example.com" not in looked_up and PUBLIC in looked_up
    [log] = hooks.deliveries(owner, hook["id"])
    assert log["status"] == "retrying" and log["error"].startswith("Connection failed")


def test_a_named_local_receiver_still_gets_it_with_its_host_header(hooks, owner, receiver, monkeypatch):
    port = receiver.server.server_address[1]
    real_resolve = targets.resolve
    monkeypatch.setattr(targets, "resolve",
                        lambda host, p: ["127.0.0.1"] if host == "receiver.test" else real_resolve(host, p))
    hook = hooks.made(owner, f"http://receiver.test:{port}/hook?x=1")
    announce("booking.confirmed", **booking_payload(owner.id, UserFactory().id))
    [request] = receiver.requests
    assert request["path"] == "/hook?x=1" and request["headers"]["Host"] == f"receiver.test:{port}"
    [log] = hooks.deliveries(owner, hook["id"])
    assert (log["status"], log["response_code"]) == ("delivered", 200)


def test_the_next_checked_address_is_tried_when_one_refuses(hooks, owner, receiver, monkeypatch):
    port = receiver.server.server_address[1]
    monkeypatch.setattr(targets, "resolve", lambda host, p: ["127.0.0.2", "127.0.0.1"])
    # the receiver listens on 127.0.0.1 only: 127.0.0.2 refuses the connection
    hooks.made(owner, f"http://two.test:{port}/hook")
    announce("booking.confirmed", **booking_payload(owner.id, UserFactory().id))
    assert len(receiver.requests) == 1


def test_redirects_are_not_followed_through_the_pinned_connection(hooks, owner, receiver, monkeypatch):
    receiver.statuses = [307]
    port = receiver.server.server_address[1]
    monkeypatch.setattr(targets, "resolve", lambda host, p: ["127.0.0.1"])
    hook = hooks.made(owner, f"http://receiver.test:{port}/hook")
    announce("booking.confirmed", **booking_payload(owner.id, UserFactory().id))
    assert len(receiver.requests) == 1
    [log] = hooks.deliveries(owner, hook["id"])
    assert (log["status"], log["error"]) == ("retrying", "HTTP 307")


def _certificate(tmp_path, name):
    """A self-signed CA and a server certificate for ``name`` (files: ca.pem, server.pem, server.key)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tutorhub test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(hours=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
              .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(hours=1))
              .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
              .sign(ca_key, hashes.SHA256()))
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "server.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "server.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                            serialization.PrivateFormat.PKCS8,
                                                            serialization.NoEncryption()))
    return str(tmp_path / "ca.pem")


class TLSReceiver:
    """A local https server for ``name``'s certificate that records the SNI and Host of each POST."""

    def __init__(self, tmp_path, name):
        self.ca = _certificate(tmp_path, name)
        self.seen = []
        seen = self.seen
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tmp_path / "server.pem", tmp_path / "server.key")
        context.sni_callback = lambda sock, server_name, ctx: seen.append(("sni", server_name))

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                seen.append(("host", self.headers["Host"]))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tls_receiver(tmp_path):
    receiver = TLSReceiver(tmp_path, "hooks.test")
    yield receiver
    receiver.close()


def test_https_sends_sni_and_verifies_the_certificate_for_the_host_name(tls_receiver):
    status = transport.post(f"https://hooks.test:{tls_receiver.port}/hook", ["127.0.0.1"], data=b"{}",
                            headers={}, timeout=(2, 2), verify=tls_receiver.ca)
    assert status == 204
    assert tls_receiver.seen == [("sni", "hooks.test"), ("host", f"hooks.test:{tls_receiver.port}")]


def test_https_refuses_a_certificate_for_another_name(tls_receiver):
    with pytest.raises(requests.exceptions.SSLError):
        transport.post(f"https://other.test:{tls_receiver.port}/hook", ["127.0.0.1"], data=b"{}", headers={},
                       timeout=(2, 2), verify=tls_receiver.ca)
    assert ("sni", "other.test") in tls_receiver.seen and not any(kind == "host" for kind, _ in tls_receiver.seen)


def test_ipv6_and_ip_literal_urls_are_addressed_as_such():
    assert transport.pinned_url("https://[2001:db8::1]:8443/a?b=1", "2001:db8::1") == "https://[2001:db8::1]:8443/a?b=1"
    assert transport.pinned_url("http://hooks.test/a", "93.184.215.14") == "http://93.184.215.14:80/a"
    assert transport.pinned_url("https://hooks.test/a", "2606:2800::1") == "https://[2606:2800::1]:443/a"
