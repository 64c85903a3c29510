"""Test and benchmark support shared by ``tests/`` and ``benchmarks/``; never shipped.

One home for what both need, so neither imports the other:

- ``testkit.engine``: the one switch (``DDB_TEST_ENGINE=moto|dynamodb-local``) every
  fixture asks for a DynamoDB: in process with the declared tables, or an HTTP endpoint.
- ``testkit.moto``: moto's DynamoDB with the declared tables, made atomic per request
  (the serialisation patch) and comparing like DynamoDB; ``scan_all``; the same patch
  for moto's server in a child process (``start_moto_server``).
- ``testkit.dynamodb_local``: Amazon's DynamoDB Local, one server per test process, a
  database (access key) per world, copied from one built once.
- ``testkit.worlds``: seeded worlds built once per module and restored before each test.
- ``testkit.fake_slack``: a local fake of the Slack Web API and of response_url.
- ``testkit.signed``: signed HTTP requests into the served app, text as Slack sends it.
- ``testkit.race``: threads released together, to provoke races.
- ``testkit.results``: ``benchmarks/results/``, created on demand (it is git-ignored).

Production packages (``bot``, ``commands``, ``dynamo``) never import this package (an
import-linter contract in pyproject); the Docker image leaves it out (.dockerignore).
"""

from __future__ import annotations

from testkit.moto import REGION, STAGE, moto_dynamodb, scan_all
from testkit.race import race

__all__ = ["REGION", "STAGE", "moto_dynamodb", "race", "scan_all"]
