"""Which secrets sign and accept resumption tokens: the environment, else the owner-only
file beside the store, else provider.token_secret (never the store itself).

    OAI_TOKEN_SECRET            signs (and is accepted)
    OAI_TOKEN_SECRET_PREVIOUS   also accepted: set it to the old value when rotating, and
                                remove it after token_lifetime
    <store>.token-secret        written by the write commands when neither of the others
                                is set; `oai rotate-secret` rotates it (store.token_secret)
    provider.token_secret       the config setting, last
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from provider.settings import ProviderSettings
from store.token_secret import (
    SecretFileError,
    TokenKeys,
    create_keys,
    read_keys,
    secret_path,
)

logger = logging.getLogger(__name__)

SECRET_ENV = "OAI_TOKEN_SECRET"  # noqa: S105 - the variable's name, not a secret
PREVIOUS_ENV = "OAI_TOKEN_SECRET_PREVIOUS"
# Seconds between two readings of the secret file (a rotation is picked
# up by a running server within this).
_RECHECK_SECONDS = 1.0


def _from_environment(environ: Mapping[str, str]) -> TokenKeys | None:
    current = environ.get(SECRET_ENV, "").strip()
    if not current:
        return None
    previous = environ.get(PREVIOUS_ENV, "").strip()
    return TokenKeys(current, (previous,) if previous else (), f"${SECRET_ENV}")


def configured_elsewhere(settings: ProviderSettings, environ: Mapping[str, str]) -> str | None:
    """Where the secret comes from when it is not the file: the environment or the
    setting; None when the file is the place."""
    if _from_environment(environ) is not None:
        return f"${SECRET_ENV}"
    return "provider.token_secret" if settings.token_secret else None


def load_keys(
    store_path: str | Path,
    settings: ProviderSettings,
    now: datetime,
    environ: Mapping[str, str] = os.environ,
) -> TokenKeys | None:
    """The keys in force, or None when nothing provides one. Raises SecretFileError when
    the file cannot be used."""
    keys = _from_environment(environ) or read_keys(secret_path(store_path), now)
    if keys is None and settings.token_secret:
        keys = TokenKeys(settings.token_secret, (), "provider.token_secret")
    return keys


def ensure_secret_file(
    store_path: str | Path, settings: ProviderSettings, environ: Mapping[str, str] = os.environ
) -> bool:
    """Create the store's secret file when neither the environment nor the setting gives
    a secret (a write command's duty, so a provider signs tokens that survive restarts);
    True when created."""
    if configured_elsewhere(settings, environ) is not None:
        return False
    return create_keys(secret_path(store_path))


class KeyRing:
    """The keys a running provider uses. The secret file is read again (at most once a
    second), so a rotation needs no restart and a previous secret stops being accepted
    when its time is up."""

    def __init__(self, keys: TokenKeys, store_path: str | Path) -> None:
        self._keys = keys
        self._file = secret_path(store_path)
        self._watching = keys.origin == str(self._file)
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    def keys(self, now: datetime) -> TokenKeys:
        """The keys in force at `now`."""
        if self._watching and time.monotonic() - self._checked > _RECHECK_SECONDS:
            with self._lock:
                if time.monotonic() - self._checked <= _RECHECK_SECONDS:
                    return self._keys  # another thread has just read it
                self._checked = time.monotonic()
                try:
                    fresh = read_keys(self._file, now)
                except (OSError, SecretFileError) as exc:
                    # Serving goes on with the keys it has; the operator is told why.
                    logger.warning("resumption-token secret not re-read: %s", exc)
                    fresh = None
                if fresh is not None:
                    self._keys = fresh
        return self._keys
