"""``python -m testkit.moto_server -H HOST -p PORT``: moto's server, DynamoDB serialised.

Only the serialisation patch (see ``testkit.moto``), as the soak has always run it: the
bot under test talks to this server over HTTP like to DynamoDB.
"""

from __future__ import annotations

import sys

from testkit.moto import serialize_moto_dynamodb

if __name__ == "__main__":
    serialize_moto_dynamodb()
    from moto.server import main

    main(sys.argv[1:])
