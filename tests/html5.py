"""A small HTML5 checker for the provider's pages (no validator runs offline): the doctype,
known elements properly nested and closed, the content models the pages use, one title and
charset, unique ids, and links that are never javascript:.

The conftest server fixture runs it on every HTML reply, as it runs the XSDs on every XML one.
"""

from __future__ import annotations

from html.parser import HTMLParser

VOID = frozenset({"meta", "br", "hr", "img", "link", "input", "wbr"})
ELEMENTS = VOID | {
    "html", "head", "title", "style", "body", "header", "nav", "main", "footer", "section",
    "h1", "h2", "h3", "p", "a", "code", "span", "q", "strong", "em", "dl", "dt", "dd",
    "ol", "ul", "li", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
# Children each container may have (the content models the pages rely on).
CHILDREN: dict[str, frozenset[str]] = {
    "html": frozenset({"head", "body"}),
    "dl": frozenset({"dt", "dd"}),
    "ul": frozenset({"li"}),
    "ol": frozenset({"li"}),
    "table": frozenset({"thead", "tbody", "tr"}),
    "tr": frozenset({"th", "td"}),
}
# Phrasing-only elements: no block inside.
PHRASING = frozenset({"p", "a", "code", "span", "q", "strong", "em", "h1", "h2", "h3", "dt"})
BLOCKS = frozenset(
    {"p", "ul", "ol", "dl", "table", "section", "header", "nav", "main", "footer", "h1", "h2"}
)


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.stack: list[str] = []
        self.doctype: str | None = None
        self.seen_element = False
        self.ids: set[str] = set()
        self.counts: dict[str, int] = {}
        self.charset: list[str] = []
        self.title = ""

    def handle_decl(self, decl: str) -> None:
        if self.seen_element or self.doctype is not None:
            self.problems.append("the doctype is not first")
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen_element = True
        attributes = dict(attrs)
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag not in ELEMENTS:
            self.problems.append(f"unknown element <{tag}>")
        parent = self.stack[-1] if self.stack else None
        if parent in CHILDREN and tag not in CHILDREN[parent]:
            self.problems.append(f"<{tag}> inside <{parent}>")
        if tag in BLOCKS and any(open_tag in PHRASING for open_tag in self.stack):
            self.problems.append(f"block <{tag}> inside phrasing {self.stack}")
        if tag == "a" and tag in self.stack:
            self.problems.append("a link inside a link")
        identifier = attributes.get("id")
        if identifier is not None:
            if identifier in self.ids:
                self.problems.append(f"duplicate id {identifier!r}")
            self.ids.add(identifier)
        if tag == "a":
            href = attributes.get("href")
            if not href:
                self.problems.append("<a> without href")
            elif href.strip().lower().startswith(("javascript:", "data:", "vbscript:")):
                self.problems.append(f"dangerous link {href!r}")
        if tag == "meta" and "charset" in attributes:
            self.charset.append(attributes["charset"] or "")
        if tag == "html" and not attributes.get("lang"):
            self.problems.append("<html> without lang")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(f"self-closing <{tag}/> in HTML")
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            self.problems.append(f"end tag for void element </{tag}>")
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            if tag in self.stack:
                del self.stack[self.stack.index(tag) :]
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "title":
            self.title += data


def problems(body: bytes) -> list[str]:
    """What is wrong with the page as HTML5; empty when nothing is."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [f"not UTF-8: {exc}"]
    checker = _Checker()
    checker.feed(text)
    checker.close()
    found = list(checker.problems)
    if (checker.doctype or "").lower() != "doctype html":
        found.append(f"doctype is {checker.doctype!r}, not <!DOCTYPE html>")
    if checker.stack:
        found.append(f"unclosed elements {checker.stack}")
    for tag in ("html", "head", "body", "title", "main", "h1"):
        if checker.counts.get(tag) != 1:
            found.append(f"{checker.counts.get(tag, 0)} <{tag}> elements, not one")
    if [c.lower() for c in checker.charset] != ["utf-8"]:
        found.append(f"charset declarations {checker.charset}, not one utf-8")
    if not checker.title.strip():
        found.append("an empty <title>")
    return found
