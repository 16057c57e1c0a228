"""The `oai` command-line front door; the only package that joins provider and harvester.

Modules:
    cli       click group, global --config/--db/-v/-q, one thin function per command
    context   what every command gets: the settings, the store opened the same way
    harvest_commands  harvest, sources, status, reset, withdraw
    works_commands  authors, related, works, search, override; the works refresh
    config    config.toml read once into frozen settings
    logs      logging configured once, to stderr
    serving   waitress for `oai serve`, one in-process request for `serve --get`
    demo      `oai demo`: sample records served on 127.0.0.1 and harvested
    harvesting  `oai harvest`: source selection, the store lock, parallel jobs, summary
"""

from __future__ import annotations

__all__: list[str] = []
