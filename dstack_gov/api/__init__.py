"""The HTTP JSON API that the bot, the signing page and the CLI share (`dstack-gov serve`).

    app = create_api(service, token=os.environ.get("DSTACK_GOV_API_TOKEN"))
    serve(app, listen("127.0.0.1", 8080))

Reads are open; writes need `Authorization: Bearer <token>`, except signatures, which are
verified cryptographically. Every error is `{"error": "<one line>"}` with a fitting status.
"""

from __future__ import annotations

from .app import MAX_BODY_BYTES, create_api
from .auth import WRITES_DISABLED
from .server import ThreadedServer, listen, serve

__all__ = ["MAX_BODY_BYTES", "WRITES_DISABLED", "ThreadedServer", "create_api", "listen", "serve"]
