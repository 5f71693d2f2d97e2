"""List bodies: a name, unique per user ignoring case, with the rules of a title."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field
from typing_extensions import TypedDict

from todo_tasks.models.list import LIST_NAME_MAX_LENGTH
from todo_tasks.schemas.task import HAS_TEXT, Body, Move, not_blank, storable

ListName = Annotated[
    str,
    Field(min_length=1, max_length=LIST_NAME_MAX_LENGTH, json_schema_extra={"pattern": HAS_TEXT}),
    AfterValidator(not_blank),
    AfterValidator(storable),
]


class ListCreate(Body):
    """POST: a new list, placed after the caller's others."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Groceries"}]})

    name: ListName


class ListUpdate(ListCreate):
    """PATCH: rename (a list's only writable field; `…/move` reorders)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Shopping"}]})


class ListMove(Move):
    """Just before or after another of the caller's lists, or first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"before": 3}]})


# A list as the API answers it; the statements select these keys, in this order.
class ListPublic(TypedDict):
    id: int
    name: str
    # Its place among the caller's lists: an opaque key, compared byte by byte.
    position: str
    created_at: datetime
    updated_at: datetime
    version: int
