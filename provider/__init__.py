"""The OAI-PMH 2.0 provider: publishes the store's records as oai_dc over all six verbs.

Modules:
    app         make_app(): the WSGI application (HTTP, compression, Accept: XML or the
                HTML view, one log line a request)
    service     Repository.respond(): one request answered from the store
    verbs       pure: arguments -> typed request, or badVerb/badArgument
    tokens      pure: signed, stateless resumption tokens
    token_keys  which secrets sign and accept tokens: environment, file beside the store,
                setting; KeyRing re-reads the file (rotation without restart)
    queries     read-only SQL: keyset pages, records, sets, earliest datestamp
    responses   lxml builders: envelope, errors, one per verb
    html        pure: the HTML view for browsers, one page built from one XML answer
    html_page   the page frame and parts (links, term lists, pager) and PageFacts
    html_records  record pages: ListRecords/ListIdentifiers lists, GetRecord
    page_facts  read-only SQL for what a page shows beyond the XML (record count, a
                record's work and related outputs)
    errors      OAIError and one subclass per error code
    settings    ProviderSettings
"""

from __future__ import annotations

__all__: list[str] = []
