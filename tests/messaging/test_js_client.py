"""The official JavaScript socket.io-client (npm) against the live server, driven by tests/messaging/js/chat.js.

Skipped with a reason where node/npm are missing; under CI=true a missing toolchain fails instead.
"""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

JS_DIR = Path(__file__).parent / "js"
IN_CI = os.environ.get("CI", "").lower() == "true"


def _require(condition, reason):
    if not condition:
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: not skipping)")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def node_client():
    node, npm = shutil.which("node"), shutil.which("npm")
    _require(node and npm, "node and npm are needed for the socket.io-client test")
    if not (JS_DIR / "node_modules" / "socket.io-client").exists():
        result = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, capture_output=True,
                                text=True, timeout=300, check=False)
        _require(result.returncode == 0, f"npm ci failed: {result.stderr[-500:]}")
    return node


def test_official_js_client_chats(node_client, live_server, auth, pair, student, tutor):
    config = {"url": live_server, "tokenA": auth.tokens(student)["access_token"],
              "tokenB": auth.tokens(tutor)["access_token"], "conversationId": pair.id}
    result = subprocess.run([node_client, "chat.js", json.dumps(config)], cwd=JS_DIR, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])["report"]
    assert report["badTokenRefused"] is True
    assert report["ack"]["ok"] is True and report["ack"]["message"]["body"] == "hello from node"
    assert report["received"] == report["ack"]["message"]
    assert report["duplicateAck"]["duplicate"] is True
    assert report["duplicateAck"]["message"]["id"] == report["ack"]["message"]["id"]
    assert report["typing"] == {"conversation_id": pair.id, "user_id": tutor.id, "is_typing": True}
    assert report["read"]["last_read_message_id"] == report["ack"]["message"]["id"]
    assert report["malformed"]["ok"] is False and report["malformed"]["error"]["code"] == 422
    assert report["stillConnected"] is True
