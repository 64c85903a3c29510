"""ddb-bot: Slack chat-ops for the MyFusion Helper DynamoDB tables."""

import time as _time

# when the package was first imported (≈ process start): ``serve``/``socket`` log the
# seconds from here to ready
STARTED = _time.monotonic()
