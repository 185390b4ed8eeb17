"""``.env`` is read the same way by every entry point: the web server (wsgi.py), the worker (jobs/worker.py)
and the flask command; a real environment variable wins over the file."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(code, env_file, **extra):
    env = {key: value for key, value in os.environ.items()
           if key not in {"TUTORHUB_DOTENV", "CORS_ORIGINS", "MFA_REQUIRED_ROLES", "FLASK_CONFIG"}}
    env.update(TUTORHUB_ENV_FILE=str(env_file), DATABASE_URL="sqlite://", SOCKETIO_ASYNC_MODE="threading", **extra)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture
def env_file(tmp_path):
    path = tmp_path / ".env"
    path.write_text("CORS_ORIGINS=https://app.example.test\nMFA_REQUIRED_ROLES=admin,instructor\n")
    return path


def test_web_server_reads_env_file(env_file):
    out = _run("import wsgi; print(wsgi.app.config['CORS_ORIGINS'], wsgi.app.config['MFA_REQUIRED_ROLES'])",
               env_file)
    assert out == "['https://app.example.test'] ('admin', 'instructor')"


def test_worker_reads_env_file(env_file):
    out = _run("import jobs.worker, config; print(config.Config.CORS_ORIGINS)", env_file)
    assert out == "['https://app.example.test']"


def test_environment_wins_over_env_file(env_file):
    out = _run("import wsgi; print(wsgi.app.config['CORS_ORIGINS'])", env_file,
               CORS_ORIGINS="https://real.example.test")
    assert out == "['https://real.example.test']"
