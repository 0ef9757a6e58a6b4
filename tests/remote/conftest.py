"""Fixtures of the remote suite: real servers and the four remote kinds (see servers.py)."""

from tests.remote.servers import (
    clone,
    models_repo,
    moto_auth_url,
    moto_server,
    remote,
    remote_env,
    sshd,
)

__all__ = ["clone", "models_repo", "moto_auth_url", "moto_server", "remote", "remote_env", "sshd"]
