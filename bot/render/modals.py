"""The "Request a change" modal, and reading its submission back into a plain form.

One key field takes the same key syntax as ``/ddb`` (``<pk>``, ``<pk> <sk>``,
``attr=value …`` or JSON) for every table, so the modal never has to rebuild itself
when the table changes (no ``views.update`` round trip) and people type keys the way
they already do in ``/ddb``. Block ids are the form's field names, so the field errors
of ``commands.change`` are the ``response_action: errors`` map as they are.
"""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import (
    ContextBlock,
    ConversationFilter,
    ConversationSelectElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.render import ids
from commands.change import BREAK_GLASS_FIELD, FIELDS, ChangeForm
from dynamo.schema import TABLES

TABLE_BLOCK, KEY_BLOCK, SET_BLOCK, REMOVE_BLOCK = FIELDS
CHANNEL_BLOCK = "channel"
ACTION = {TABLE_BLOCK: "table_select", KEY_BLOCK: "key_input", SET_BLOCK: "set_input",
          REMOVE_BLOCK: "remove_input", CHANNEL_BLOCK: "channel_select",
          BREAK_GLASS_FIELD: "break_glass_input"}
BREAK_GLASS_HINT = ("Only for an incident that cannot wait: with a reason the change runs at "
                    "once, is posted loudly and waits for someone else's review. Leave it "
                    "empty to ask for approval.")
KEY_HINT = ("As in /ddb: <pk>, <pk> <sk> (user-accounts), attr=value ..., or JSON like "
            '{"user_id":"user:..."}')
SET_HINT = ("One attr=value per line. Values are typed from the declared schema; maps and "
            "lists as one-line JSON. Key and secret attributes cannot be set.")
REMOVE_HINT = "Attribute names, separated by spaces, commas or new lines."


def _option(short: str) -> Option:
    return Option(value=short, text=PlainTextObject(text=short))


def change_modal(*, table: str | None = None, key: str = "", channel: str | None = None,
                 ask_channel: bool = True, break_glass: bool = False) -> dict[str, Any]:
    """The modal, prefilled with ``table`` / ``key`` when opened from an item card.

    ``ask_channel`` adds "Post the request in" (when no DDB_BOT_APPROVAL_CHANNEL is set);
    it starts on ``channel`` or, for the global shortcut, the conversation being viewed.
    ``break_glass`` adds an optional break-glass reason (for members of the policy's list).
    """
    options = [_option(t.short) for t in TABLES]
    initial = next((o for o in options if o.value == table), None)
    blocks: list[Any] = [
        ContextBlock(elements=[MarkdownTextObject(
            text="Nothing is written now: the change becomes a write request that a second "
                 "person approves, and runs only if the item still matches the preview.")]),
        InputBlock(block_id=TABLE_BLOCK, label=PlainTextObject(text="Table"),
                   element=StaticSelectElement(action_id=ACTION[TABLE_BLOCK], options=options,
                                               initial_option=initial,
                                               placeholder=PlainTextObject(text="Choose a table"))),
        InputBlock(block_id=KEY_BLOCK, label=PlainTextObject(text="Key"),
                   hint=PlainTextObject(text=KEY_HINT),
                   element=PlainTextInputElement(action_id=ACTION[KEY_BLOCK], max_length=1000,
                                                 initial_value=key or None,
                                                 placeholder=PlainTextObject(text="user:…"))),
        InputBlock(block_id=SET_BLOCK, optional=True,
                   label=PlainTextObject(text="Attributes to set"),
                   hint=PlainTextObject(text=SET_HINT),
                   element=PlainTextInputElement(action_id=ACTION[SET_BLOCK], multiline=True,
                                                 max_length=3000,
                                                 placeholder=PlainTextObject(text="status=active"))),
        InputBlock(block_id=REMOVE_BLOCK, optional=True,
                   label=PlainTextObject(text="Attributes to remove"),
                   hint=PlainTextObject(text=REMOVE_HINT),
                   element=PlainTextInputElement(action_id=ACTION[REMOVE_BLOCK], max_length=1000)),
    ]
    if ask_channel:
        select = ConversationSelectElement(
            action_id=ACTION[CHANNEL_BLOCK], initial_conversation=channel,
            default_to_current_conversation=None if channel else True,
            filter=ConversationFilter(include=["public", "private"]),
            placeholder=PlainTextObject(text="Choose a channel"))
        blocks.append(InputBlock(
            block_id=CHANNEL_BLOCK, label=PlainTextObject(text="Post the request in"),
            hint=PlainTextObject(text="Where a second person can see and approve it."),
            element=select))
    if break_glass:
        blocks.append(InputBlock(
            block_id=BREAK_GLASS_FIELD, optional=True,
            label=PlainTextObject(text="Break-glass reason (runs at once)"),
            hint=PlainTextObject(text=BREAK_GLASS_HINT),
            element=PlainTextInputElement(action_id=ACTION[BREAK_GLASS_FIELD], max_length=500,
                                          placeholder=PlainTextObject(text="INC-42: …"))))
    view = View(type="modal", callback_id=ids.CHANGE_MODAL,
                title=PlainTextObject(text="Request a change"),
                submit=PlainTextObject(text="Request"), close=PlainTextObject(text="Cancel"),
                private_metadata=json.dumps({"c": channel or ""}), blocks=blocks)
    return view.to_dict()


def read_change(view: dict[str, Any]) -> tuple[ChangeForm, str | None]:
    """The submitted form and the channel to post in (missing fields read as empty)."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None

    def value(block: str) -> dict[str, Any]:
        inputs = values.get(block) if isinstance(values, dict) else None
        got = inputs.get(ACTION[block]) if isinstance(inputs, dict) else None
        return got if isinstance(got, dict) else {}

    option = value(TABLE_BLOCK).get("selected_option")
    table = (option.get("value") if isinstance(option, dict) else None) or ""
    form = ChangeForm(table=str(table), key=str(value(KEY_BLOCK).get("value") or ""),
                      set=str(value(SET_BLOCK).get("value") or ""),
                      remove=str(value(REMOVE_BLOCK).get("value") or ""),
                      break_glass=str(value(BREAK_GLASS_FIELD).get("value") or ""))
    channel = value(CHANNEL_BLOCK).get("selected_conversation")
    if not channel:
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            channel = meta.get("c") if isinstance(meta, dict) else None
        except ValueError:
            channel = None
    return form, (str(channel) if channel else None)
