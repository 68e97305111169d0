"""Small console defects found by the acceptance review, each pinned by what a person sees."""

from __future__ import annotations

from typing import Any

from tests.dashboard.conftest import Stack, api_json, login, register_agent


def test_the_inbox_cursor_line_shows_no_stray_text_before_any_action(page: Any, stack: Stack) -> None:
    """The line under the inbox picker reads 'Read cursor … N unread [Mark all read]' and nothing else
    (it used to end in a literal "null": the absent outcome note was appended as text)."""
    register_agent(stack, "nell", name="Nell")
    api_json(stack, "POST", "/api/messages", json={"from": "user", "to": "nell", "body": "one for nell"})
    login(page, stack, view="messages?agent=nell")
    line = "#view-messages .cursor-line:has-text('Mark all read')"
    page.wait_for_selector(line)
    text = " ".join(page.inner_text(line).split())  # by selector: the live view may re-render it
    assert text.startswith("Read cursor of nell: #0 · latest #")
    assert text.endswith("1 unread Mark all read"), text
