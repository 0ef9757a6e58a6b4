"""One exception family for everything mreg refuses or fails at.

Layer: bottom (imported by every other module). Each error carries a stable kebab-case
`code`, the process `exit_code` documented in docs/scripting.md, and an optional `hint`.
The CLI turns them into `mreg: error: ...` lines; the API lets them propagate.
"""

from __future__ import annotations

# Exit codes: a contract, documented in docs/scripting.md.
EXIT_OK = 0
EXIT_NEGATIVE = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3
EXIT_INTEGRITY = 4
EXIT_REMOTE = 5
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130

# The hint of every "written by a newer mreg" error (a card's or a manifest's schema).
UPGRADE_HINT = "upgrade mreg: pip install -U mreg"


class MregError(Exception):
    """Base class: a message for the user, an optional hint, a code and an exit code."""

    code = "error"
    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of an error (docs/scripting.md)."""
        return {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "exit_code": self.exit_code,
        }


class NotAGitRepo(MregError):
    code = "not-a-git-repo"


class NotInitialised(MregError):
    code = "not-initialised"


class InvalidName(MregError):
    code = "invalid-name"


class InvalidArgument(MregError):
    code = "invalid-argument"


class InvalidPath(MregError):
    code = "invalid-path"


class InvalidCard(MregError):
    code = "invalid-card"


class InvalidConfig(MregError):
    code = "invalid-config"


class InvalidManifest(MregError):
    code = "invalid-manifest"


class ModelNotFound(MregError):
    code = "model-not-found"


class WorktreeConflict(MregError):
    code = "worktree-conflict"


class StorageError(MregError):
    """Writing to the cache or the work tree failed (disk full, permission denied)."""

    code = "storage-error"


class LockTimeout(MregError):
    code = "lock-timeout"


class GitError(MregError):
    code = "git-error"


class IntegrityError(MregError):
    code = "integrity-error"
    exit_code = EXIT_INTEGRITY


class BlobMissing(IntegrityError):
    code = "blob-missing"


class BlobCorrupt(IntegrityError):
    code = "blob-corrupt"


class RemoteNotConfigured(MregError):
    """No remote of that name, or no default remote (a config problem: exit 3)."""

    code = "remote-not-configured"


class BackendMissing(MregError):
    """The fsspec backend for a remote's URL scheme is not installed (exit 3)."""

    code = "backend-missing"


class RemoteError(MregError):
    """Trouble talking to a remote: unreachable, refused, not found there (exit 5)."""

    code = "remote-error"
    exit_code = EXIT_REMOTE


class RemoteUnreachable(RemoteError):
    code = "remote-unreachable"


class RemoteAuthError(RemoteError):
    code = "remote-auth"


class RemoteNotFound(RemoteError):
    """The bucket, container or folder of a remote, or a blob on it, does not exist."""

    code = "remote-not-found"


class BareRepository(MregError):
    """A bare repository has no work tree: hooks and checkouts belong in a clone (exit 3)."""

    code = "bare-repository"


class InternalError(MregError):
    """A bug in mreg: anything that is not an MregError, as the CLI reports it."""

    code = "internal-error"
    exit_code = EXIT_INTERNAL
