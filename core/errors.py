"""One error tree for everything modeltrail raises on purpose.

Every error carries a one-line message saying what is wrong and, where we know it, a hint
saying what to do. The CLI and the bot turn these into a red line / an ephemeral reply and an
exit code; anything else that escapes is a bug.
"""

from __future__ import annotations


class ModeltrailError(Exception):
    """Root of every error modeltrail raises deliberately."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class UsageError(ModeltrailError):
    """The request itself is malformed (bad flag value, bad key=value pair)."""

    exit_code = 2


class FileLimitError(UsageError):
    """A file we were pointed at is refused before it is used: not a regular file (a pipe,
    a device), or over a size, expansion or nesting limit (core/safe_files.py)."""


class NotFoundError(ModeltrailError):
    pass


class ModelNotFoundError(NotFoundError):
    def __init__(self, model: str) -> None:
        super().__init__(
            f"no model named {model!r} in the registry",
            hint="`modeltrail list` shows the models there are",
        )
        self.model = model


class VersionNotFoundError(NotFoundError):
    def __init__(self, model: str, version: str) -> None:
        super().__init__(
            f"model {model!r} has no version {version}",
            hint=f"`modeltrail list {model}` shows its versions",
        )
        self.model = model
        self.version = version


class TokenNotFoundError(NotFoundError):
    def __init__(self, ident: int) -> None:
        super().__init__(f"no API token {ident}", hint="`modeltrail token list` shows them")
        self.ident = ident


class InvalidVersionError(ModeltrailError):
    def __init__(self, text: str) -> None:
        super().__init__(
            f"{text!r} is not a version number",
            hint="use MAJOR.MINOR.PATCH, e.g. 2.1.5",
        )
        self.text = text


class InvalidRefError(InvalidVersionError):
    """Neither a version number nor a stage name: bad input like a malformed version (exit 1)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.message = f"{text!r} is not a version number or a stage name"
        self.hint = "use e.g. 2.1.5, production, staging, golden, latest or previous"


class DuplicateVersionError(ModeltrailError):
    def __init__(self, model: str, version: str) -> None:
        super().__init__(
            f"model {model!r} already has version {version}",
            hint="registered versions are immutable; pick another number or leave --version out",
        )
        self.model = model
        self.version = version


class InvalidNameError(ModeltrailError):
    pass


class InvalidParamError(ModeltrailError):
    pass


class InvalidMetricError(ModeltrailError):
    pass


class DataPathError(ModeltrailError):
    """A data snapshot or artifact path cannot be read."""


class CaptureError(ModeltrailError):
    """Something about the run's surroundings could not be recorded."""


class ConfigError(ModeltrailError):
    pass


class DatabaseError(ModeltrailError):
    """The registry database cannot be opened or used."""


class SchemaTooNewError(DatabaseError):
    def __init__(self, found: str) -> None:
        super().__init__(
            f"the registry database has schema revision {found}, newer than this modeltrail knows",
            hint="upgrade modeltrail (pip install -U modeltrail) before using this registry",
        )
        self.found = found


class MissingExtraError(ConfigError):
    """A feature's optional dependencies are not installed; the message names the extra."""

    def __init__(self, feature: str, extra: str) -> None:
        super().__init__(f"{feature} needs the {extra} extra: pip install 'modeltrail[{extra}]'")
        self.feature = feature
        self.extra = extra


class ArtifactStoreError(ModeltrailError):
    """The artifact store cannot be reached, or refused a read or write (full, no access)."""


class BlobMismatchError(ArtifactStoreError):
    """Bytes read from the store do not hash to the digest they are stored under (truncated
    or altered blob); `name` is the file the bytes were meant for."""

    def __init__(self, name: str, expected: str, found: str) -> None:
        super().__init__(
            f"{name}: the stored bytes do not match their digest "
            f"(expected sha256 {expected[:12]}…, read {found[:12]}…); nothing was kept",
            hint="run `modeltrail verify` to see which versions are affected",
        )
        self.name = name
        self.expected = expected
        self.found = found


class BlobMissingError(ArtifactStoreError):
    def __init__(self, digest: str, location: str) -> None:
        super().__init__(
            f"the artifact store at {location} has no blob {digest[:12]}…",
            hint="`modeltrail verify MODEL` lists what is missing",
        )
        self.digest = digest
