"""The provider's settings, as read from the [provider] table of config.toml."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_REPOSITORY_IDENTIFIER = "repository.example.org"


@dataclass(frozen=True)
class ProviderSettings:
    """How this repository describes and pages itself. Defaults work out of the box."""

    # Identify repositoryName.
    repository_name: str = "OAI-PMH mirror"
    # Identify baseURL; None derives it from each request (scheme, Host, path).
    base_url: str | None = None
    # Identify adminEmail, one or more.
    admin_email: tuple[str, ...] = ("oai-admin@repository.example.org",)
    # The oai-identifier namespace: a domain you control (two or more labels).
    repository_identifier: str = DEFAULT_REPOSITORY_IDENTIFIER
    # Records (or sets) per page of a list response.
    page_size: int = 100
    # Key that signs resumption tokens when OAI_TOKEN_SECRET is unset and there is no
    # STORE.token-secret file (provider.token_keys); None: nothing from the config.
    token_secret: str | None = None
    # Seconds a resumption token stays valid (its expirationDate).
    token_lifetime: int = 86_400
    # Which sources are published; None publishes all.
    sources: tuple[str, ...] | None = None
    # Worker threads of the embedded waitress server.
    threads: int = 4
    # Answer browsers (Accept naming text/html and application/xhtml+xml) with an HTML page
    # built from the same XML; every other request gets the XML either way.
    html_view: bool = True
