"""One way to page a list, in every service: `?page=&page_size=` in, `{items, page, page_size, total}` out.

    @router.get("", response_model=ClaimPage)
    async def list_claims(member: CurrentMember, paging: Paging, service: Service) -> dict[str, Any]:
        items, total = await service.queries.claims(member, paging.skip, paging.page_size)
        return paging.answer(items, total)

`page` counts from 1; `page_size` is 1 to 100 (default 20). A page past the end is an empty page with
the same `total`, not an error, so a client that pages while items arrive never trips over it. The
answer's model is `Page[Item]` subclassed under a name of its own (`class ClaimPage(Page[ClaimAnswer])`)
so a generated client gets a readable class name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    """One page of a list, newest first unless the operation says otherwise."""

    items: list[Item] = Field(description="this page's items")
    page: int = Field(ge=1, description="this page's number, from 1", examples=[1])
    page_size: int = Field(ge=1, le=MAX_PAGE_SIZE, description="at most this many items per page", examples=[20])
    total: int = Field(ge=0, description="items in the whole list", examples=[1])


@dataclass(frozen=True)
class PageRequest:
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    @property
    def skip(self) -> int:
        return (self.page - 1) * self.page_size

    def answer(self, items: list[Any], total: int, **extra: Any) -> dict[str, Any]:
        """The page's answer; `extra` members go beside the four (a deprecated alias of `items`, a count)."""
        return {"items": items, "page": self.page, "page_size": self.page_size, "total": total, **extra}


def page_request(
    page: Annotated[int, Query(ge=1, description="the page, from 1")] = 1,
    page_size: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"items per page, at most {MAX_PAGE_SIZE}")
    ] = DEFAULT_PAGE_SIZE,
) -> PageRequest:
    return PageRequest(page, page_size)


Paging = Annotated[PageRequest, Depends(page_request)]
