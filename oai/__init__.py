"""The `oai` command-line front door; the only package that joins provider, harvester and
works.

Modules:
    cli       click group, global --config/--db/-v/-q, serve, import, export, demo
    context   what every command gets: the settings; the store opened for writing or reading
    output    --format json|table declared once; rows printed; the works update line
    harvest_commands  harvest, sources, status, reset, withdraw
    works_commands    authors, related, works (and works recompute), search, override
    config    config.toml read once into frozen settings (the TOML table reader too)
    logs      logging configured once, to stderr
    serving   waitress for `oai serve`, one in-process request for `serve --get`
    demo      `oai demo`: sample records served on 127.0.0.1 and harvested
"""

from __future__ import annotations

__all__: list[str] = []
