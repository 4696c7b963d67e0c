"""schemathesis hooks for ops/contract/run.sh: request bodies schemathesis cannot make by
itself. A tus PATCH body (`application/offset+octet-stream`, API.md 10.1) is raw bytes."""
from hypothesis import strategies as st

import schemathesis

schemathesis.openapi.media_type("application/offset+octet-stream", st.binary(max_size=4096))
