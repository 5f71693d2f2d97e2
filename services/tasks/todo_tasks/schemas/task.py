"""Task bodies. Strict types: `"true"` is not a boolean and `123` is not a title.

Strings are stored exactly as sent (no trimming); a title only has to contain something other
than whitespace. PostgreSQL cannot store NUL or lone surrogates in text, so those are refused
here as a 400 instead of failing in the database as a 500.
"""

from __future__ import annotations

from datetime import datetime
from hashlib import sha256
from typing import Annotated, Any

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)
from typing_extensions import TypedDict

from todo_tasks.models.task import (
    DESCRIPTION_MAX_LENGTH,
    LABEL_MAX_LENGTH,
    LABELS_MAX,
    PRIORITY_MAX,
    TITLE_MAX_LENGTH,
)


def storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return value


def not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


# The same rules for the OpenAPI schema (ECMA-262 regexes): no NUL, and for a title at least
# one character that `str.strip` keeps. Documentation only: the validators above decide.
_NO_NUL = "[^\\u0000]*"
_NOT_SPACE = (
    "[^\\u0000\\t\\n\\u000b\\f\\r\\u001c-\\u001f \\u0085\\u00a0\\u1680"
    "\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
)

HAS_TEXT = f"^{_NO_NUL}{_NOT_SPACE}{_NO_NUL}$"

Title = Annotated[
    str,
    Field(min_length=1, max_length=TITLE_MAX_LENGTH, json_schema_extra={"pattern": HAS_TEXT}),
    AfterValidator(not_blank),
    AfterValidator(storable),
]
Description = Annotated[
    str,
    Field(max_length=DESCRIPTION_MAX_LENGTH, json_schema_extra={"pattern": f"^{_NO_NUL}$"}),
    AfterValidator(storable),
]

# 0 none, 1 low, 2 medium, 3 high.
Priority = Annotated[StrictInt, Field(ge=0, le=PRIORITY_MAX)]
Label = Annotated[
    str,
    Field(min_length=1, max_length=LABEL_MAX_LENGTH, json_schema_extra={"pattern": HAS_TEXT}),
    AfterValidator(not_blank),
    AfterValidator(storable),
]

SEARCH_MAX_LENGTH = 200
# A search's text (`?q=`): any characters the database can hold, none of them syntax.
SearchText = Annotated[
    str,
    Field(max_length=SEARCH_MAX_LENGTH, json_schema_extra={"pattern": f"^{_NO_NUL}$"}),
    AfterValidator(storable),
]


# A list's id in a body: one of the caller's lists (else a 400 naming the field), or null for
# the Inbox.
ListId = Annotated[StrictInt, Field(gt=0, le=2**63 - 1)]
TaskId = Annotated[StrictInt, Field(gt=0, le=2**63 - 1)]


def _distinct(labels: list[str]) -> list[str]:
    seen: set[str] = set()
    for label in labels:
        key = label.casefold()
        if key in seen:
            raise ValueError("must not contain the same label twice (ignoring case)")
        seen.add(key)
    return labels


# In the order given; a label filter matches them ignoring case.
Labels = Annotated[
    list[Label],
    Field(max_length=LABELS_MAX, json_schema_extra={"uniqueItems": True}),
    AfterValidator(_distinct),
]


class Body(BaseModel):
    # Unknown fields (an `id` or `user_id`, say) are ignored: the owner comes from the token.
    model_config = ConfigDict(strict=True, extra="ignore")


def refuse_null(value: Any) -> Any:
    if value is None:
        raise ValueError("may be omitted but not null")
    return value


def _not_null_in_schema(schema: dict[str, Any]) -> None:
    """The OpenAPI side of `refuse_null`: the field's schema loses its `null` branch."""
    (branch,) = (s for s in schema.pop("anyOf") if s.get("type") != "null")
    schema.update(branch)
    schema.pop("default", None)


# May be omitted, never null (the `None` default only marks "not sent").
OMITTABLE = Field(default=None, json_schema_extra=_not_null_in_schema)


class TaskBase(Body):
    title: Title
    description: Description | None = None
    completed: StrictBool = False
    priority: Priority = 0
    labels: Labels = Field(default_factory=list)
    list_id: ListId | None = None


class TaskCreate(TaskBase):
    """POST: a title is required; no description means null, no `completed` means false."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"title": "Buy milk", "description": "2 litres"}]}
    )

    def fingerprint(self) -> bytes:
        """What the request asks for, to tell a retry from a different request under the same
        `Idempotency-Key`. Values equal to their defaults are left out, so sending a default
        and omitting it are the same request, and a field added later (with a default) leaves
        the fingerprint of a retry spanning that deploy unchanged."""
        meant = self.model_dump(exclude_defaults=True)
        return sha256(orjson.dumps(meant, option=orjson.OPT_SORT_KEYS)).digest()


class TaskUpdate(TaskBase):
    """PUT replaces every writable field: an omitted description becomes null, an omitted
    `completed` false, `priority` 0 and `labels` empty, exactly as if the task were created
    anew."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"title": "Buy oat milk", "description": None, "completed": True}]
        }
    )


class TaskPatch(Body):
    """PATCH changes only the fields sent; `description: null` clears it, `list_id: null`
    moves the task to the Inbox, a null title or `completed` is a 400 (they cannot be null,
    and the schema says so)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"completed": True}]})

    title: Title | None = OMITTABLE
    description: Description | None = None
    completed: StrictBool | None = OMITTABLE
    priority: Priority | None = OMITTABLE
    labels: Labels | None = OMITTABLE
    list_id: ListId | None = None

    _no_nulls = field_validator("title", "completed", "priority", "labels")(refuse_null)


class TaskComplete(Body):
    """`{"completed": true|false}` sets the flag; an empty object (or no body) toggles it."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"completed": True}]})

    completed: StrictBool | None = OMITTABLE

    _no_null = field_validator("completed")(refuse_null)


# A task as the database returns it and the API answers it: the repository's statements select
# these keys (in this order), so a column added here and to the table is read and returned with
# no statement edited. A TypedDict so that rows go to JSON without a model on the hot path.
class TaskPublic(TypedDict):
    id: int
    user_id: str
    title: str
    description: str | None
    completed: bool
    created_at: datetime
    updated_at: datetime
    priority: int
    labels: list[str]
    list_id: int | None
    # Its place in its list (`?sort=position`): an opaque key, compared byte by byte.
    position: str
    # 1 when created, +1 with every change (set by the database on every write): the ETag.
    version: int


class Move(Body):
    """Where a move puts an item: just before or just after another, or (neither) first."""

    before: TaskId | None = OMITTABLE
    after: TaskId | None = OMITTABLE

    _no_nulls = field_validator("before", "after")(refuse_null)

    @model_validator(mode="after")
    def _one_anchor(self) -> Move:
        if self.before is not None and self.after is not None:
            raise ValueError("give `before` or `after`, not both")
        return self


class TaskMove(Move):
    """Just before or after another task of the list the task ends in, or first; `list_id`
    (null: the Inbox) moves it to another list as well."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"after": 42}, {"list_id": 7}]})

    list_id: ListId | None = None
