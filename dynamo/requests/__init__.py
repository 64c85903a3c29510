"""Write requests: the two-person rule for changes asked from Slack, enforced by DynamoDB.

- ``model``      the stored request (``WriteRequest``, ``Status``, ``Kind``, ``Gsi``) and its
                 declarative item mapping
- ``plan``       validate a change and freeze its before → after (``PlanError``)
- ``execute``    ``Requests``: the state machine (approve / reject / expire) (``Refused``)
- ``transaction`` the approved change's exactly-once TransactWriteItems (or GSI change)
- ``operations`` the data write / GSI change a request stands for
- ``quorum``     N distinct approvals, as DynamoDB conditions
- ``break_glass`` a change run at once by a policy ``break_glass`` member, reviewed after
- ``notices``    at most one outcome notice per request
- ``preview``    a request in words (before → after rows, summary)
- ``undo``       a new request reversing an executed one; what a delete keeps for it
"""

from dynamo.requests.execute import Refused, Requests
from dynamo.requests.model import KEEP_SECONDS, REQ_PK, Gsi, Kind, Status, WriteRequest, new_request_id
from dynamo.requests.operations import TRANSACT_ATTEMPTS
from dynamo.requests.plan import PlanError, _forbidden
from dynamo.store import StoreError

__all__ = [
    "KEEP_SECONDS",
    "REQ_PK",
    "TRANSACT_ATTEMPTS",
    "Gsi",
    "Kind",
    "PlanError",
    "Refused",
    "Requests",
    "Status",
    "StoreError",
    "WriteRequest",
    "_forbidden",
    "new_request_id",
]
