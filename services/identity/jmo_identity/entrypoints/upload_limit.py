"""Refuse an oversized selfie before any of it is read (multipart parsing would spool it all)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from jmo_shared.http import problem

from ..face import FaceCaptureError

# Room for the multipart boundaries and the purpose field around the photo itself.
MULTIPART_OVERHEAD = 64 * 1024


class UploadLimit:
    """ASGI middleware for the upload routes: needs a Content-Length, and one within the limit.

    The server (h11/httptools) holds the body to its declared length, so the
    header is a real bound, not a promise.
    """

    def __init__(self, app: ASGIApp, paths: frozenset[str], max_bytes: int) -> None:
        self.app = app
        self.paths = paths
        self.max_body = max_bytes + MULTIPART_OVERHEAD

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is None or not length.isdigit():
            response = problem(411, "length_required", "send the photo with a Content-Length header")
        elif int(length) > self.max_body:
            refused = FaceCaptureError("image_too_large")
            response = problem(
                422,
                "image_too_large",
                refused.hint,
                [{"field": "selfie", "code": "image_too_large", "message": refused.hint}],
                hint=refused.hint,
                hint_id=refused.hint_id,
            )
        else:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)
