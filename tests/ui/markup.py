"""The UI's HTML, parsed: which tags and attributes it holds, and the text it shows."""

from __future__ import annotations

from html.parser import HTMLParser

PAYLOAD = (
    "Vorher.\n<script>alert(1)</script>\n<img src=x onerror=alert(2)>\n"
    "[x](javascript:alert(1)) **fett** $$x^2$$ ${alert(3)} {{constructor}} `code` # h\n"
    "Reservisten sollen einberufen werden.\nNachher."
)
# The only markup the UI itself writes into chat answers and the viewer.
ALLOWED_TAGS = {"div", "p", "span", "code", "mark", "br"}
ALLOWED_ATTRS = {"class", "data-line"}


class Tags(HTMLParser):
    """Collects the start tags of an HTML fragment and the text it shows."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        if tag == "br":
            self.text.append("\n")

    def handle_data(self, data):
        self.text.append(data)


def parse(fragment: str) -> Tags:
    """The tags and text of ``fragment``."""
    parser = Tags()
    parser.feed(fragment)
    parser.close()
    return parser


def assert_inert(fragment: str) -> None:
    """Asserts that ``fragment`` holds only the UI's own markup and no syntax that runs."""
    parsed = parse(fragment)
    for tag, attrs in parsed.tags:
        assert tag in ALLOWED_TAGS, f"unexpected tag <{tag}> in {fragment!r}"
        for name, _ in attrs:
            assert name in ALLOWED_ATTRS, f"unexpected attribute {name} on <{tag}>"
    lowered = fragment.lower()
    for needle in ("<script", "<img", "onerror=", "javascript:", "](", "$$", "${", "{{", "**", "`"):
        assert needle not in lowered, f"{needle!r} survived escaping"


def shown_text(fragment: str) -> str:
    """The text a browser shows for ``fragment`` (``<br>`` as a newline)."""
    return "".join(parse(fragment).text)
