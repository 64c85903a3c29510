"""dynamo.schema_file: the team's Serverless/CloudFormation file as the tables' schema."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from dynamo.schema import TABLES, AttrType, Index, KeySchema
from dynamo.schema_file import SchemaFileError, load_schema_file, parse_schema_file

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "serverless.yml"


def one_table(properties: str, *, head: str = "", name: str = "UsersTable") -> str:
    """A Serverless file with one table resource whose Properties are ``properties``."""
    props = textwrap.indent(textwrap.dedent(properties).strip("\n"), " " * 8)
    return (textwrap.dedent(head).lstrip("\n") + "resources:\n  Resources:\n"
            f"    {name}:\n      Type: AWS::DynamoDB::Table\n      Properties:\n{props}\n")


USERS_KEYS = """
AttributeDefinitions:
  - {AttributeName: user_id, AttributeType: S}
KeySchema:
  - {AttributeName: user_id, KeyType: HASH}
"""


# -- the shipped fixture: the seed's ten tables ----------------------------------------------
@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_fixture_merged_is_the_hand_written_schema(stage: str) -> None:
    schema = load_schema_file(FIXTURE, stage)
    assert sorted(t.name or "" for t in schema.tables) == sorted(
        f"mfh-{stage}-{t.short}" for t in TABLES)
    assert schema.merged() == TABLES  # all ten tables, every field
    assert schema.mismatches() == []
    assert {t.billing_mode for t in schema.tables} == {"PAY_PER_REQUEST"}


def test_the_fixture_is_valid_cloudformation() -> None:
    """The fixture's resources, with Serverless's variables resolved, pass cfn-lint (the
    AWS linter, installed with moto[server]) without an error."""
    from cfnlint.api import lint_all

    text = FIXTURE.read_text()
    for var, value in {"${self:custom.tablePrefix}": "mfh-dev", "${sls:stage}": "dev",
                       "${self:provider.stage}": "dev", "${opt:stage, 'dev'}": "dev",
                       "${self:custom.protected}": "true", "${self:service}": "mfh-core"}.items():
        text = text.replace(var, value)
    assert "${" not in text.split("Outputs:")[0].replace("${AWS::", "")
    template = 'AWSTemplateFormatVersion: "2010-09-09"\n' + textwrap.dedent(
        text.split("\nresources:\n", 1)[1])
    errors = [str(m) for m in lint_all(template) if m.rule.id.startswith("E")]
    assert errors == []


# -- names: the stage as each style writes it ------------------------------------------------
@pytest.mark.parametrize(("head", "table_name"), [
    ("provider: {stage: dev}\n", "mfh-${self:provider.stage}-users"),
    ("", "mfh-${sls:stage}-users"),
    ("", "mfh-${opt:stage, 'dev'}-users"),
    ("", 'mfh-${opt:stage, "dev"}-users'),
    ("provider: {stage: dev}\n", "mfh-${opt:stage, self:provider.stage}-users"),
    ("custom: {prefix: 'mfh-${opt:stage, ${self:custom.fallback}}', fallback: dev}\n",
     "${self:custom.prefix}-users"),
    ("Parameters: {Stage: {Type: String, Default: dev}}\n", "!Sub 'mfh-${Stage}-users'"),
    ("Parameters: {Environment: {Type: String}}\n", "!Sub 'mfh-${Environment}-users'"),
    ("Parameters: {Stage: {Type: String}}\n", "!Sub ['mfh-${S}-users', {S: !Ref Stage}]"),
    ("Parameters: {Stage: {Type: String}}\n", "!Join ['-', [mfh, !Ref Stage, users]]"),
    ("Parameters: {Stage: {Type: String}}\n", "{'Fn::Sub': 'mfh-${Stage}-users'}"),
    ("Parameters: {App: {Type: String, Default: mfh}}\n", "!Sub '${App}-${sls:stage}-users'"),
    ("service: mfh\n", "!Sub '${AWS::StackName}-users'"),  # Serverless: <service>-<stage>
])
def test_table_names_resolve_the_stage(head: str, table_name: str) -> None:
    text = one_table(f"TableName: {table_name}\n{USERS_KEYS}", head=head)
    assert [t.name for t in parse_schema_file(text, "s.yml", "qa").tables] == ["mfh-qa-users"]


def test_every_cloudformation_tag_loads() -> None:
    """Tags the bot never reads load without error wherever they stand."""
    text = textwrap.dedent("""\
        service: mfh-core
        Conditions:
          IsProd: !Equals [!Ref Stage, prod]
          Both: !And [!Condition IsProd, !Not [!Or [!Condition IsProd]]]
        resources:
          Resources:
            UsersTable:
              Type: AWS::DynamoDB::Table
              Properties:
                TableName: mfh-${sls:stage}-users
                AttributeDefinitions: [{AttributeName: user_id, AttributeType: S}]
                KeySchema: [{AttributeName: user_id, KeyType: HASH}]
                SSESpecification:
                  SSEEnabled: !If [IsProd, true, !Ref 'AWS::NoValue']
                  KMSMasterKeyId: !ImportValue shared-kms-key
                Tags:
                  - {Key: a, Value: !Select [0, !Split [',', !Base64 'x']]}
                  - {Key: b, Value: !FindInMap [Map, !Ref 'AWS::Region', x]}
                  - {Key: c, Value: !GetAZs ''}
          Outputs:
            Arn: {Value: !GetAtt UsersTable.Arn, Export: {Name: !Sub '${AWS::StackName}-arn'}}
            Stream: {Value: !GetAtt [UsersTable, StreamArn]}
            Cidr: {Value: !Cidr [!GetAtt Vpc.CidrBlock, 1, 8]}
            Keys: !Transform {Name: 'AWS::Include', Parameters: {Location: 's3://b/k'}}
        """)
    (table,) = parse_schema_file(text, "s.yml", "dev").tables
    assert table.name == "mfh-dev-users"


def test_everything_a_table_resource_says_is_read() -> None:
    text = one_table("""
        TableName: mfh-${sls:stage}-events
        BillingMode: PROVISIONED
        DeletionProtectionEnabled: 'true'
        AttributeDefinitions:
          - {AttributeName: pk, AttributeType: B}
          - {AttributeName: at, AttributeType: N}
          - {AttributeName: kind, AttributeType: S}
        KeySchema:
          - {AttributeName: at, KeyType: RANGE}
          - {AttributeName: pk, KeyType: HASH}
        GlobalSecondaryIndexes:
          - IndexName: KindIndex
            KeySchema: [{AttributeName: kind, KeyType: HASH}, {AttributeName: at, KeyType: RANGE}]
            Projection: {ProjectionType: INCLUDE, NonKeyAttributes: [status, owner]}
          - IndexName: KindKeysIndex
            KeySchema: [{AttributeName: kind, KeyType: HASH}]
            Projection: {}
        TimeToLiveSpecification: {AttributeName: expires, Enabled: false}
        StreamSpecification: {StreamViewType: KEYS_ONLY}
        PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true}
        """)
    (t,) = parse_schema_file(text, "s.yml", "dev").tables
    assert (t.logical_id, t.line, t.name) == ("UsersTable", 3, "mfh-dev-events")
    assert t.keys == KeySchema("pk", "at")
    assert t.key_types == {"pk": AttrType.B, "at": AttrType.N, "kind": AttrType.S}
    assert t.indexes == (Index("KindIndex", KeySchema("kind", "at"), "INCLUDE", ("status", "owner")),
                         Index("KindKeysIndex", KeySchema("kind"), "KEYS_ONLY"))
    assert (t.ttl_attribute, t.stream_view, t.pitr, t.deletion_protection, t.billing_mode) == (
        None, "KEYS_ONLY", True, True, "PROVISIONED")


def test_a_cloudformation_default_is_what_cloudformation_does() -> None:
    (t,) = parse_schema_file(one_table(f"TableName: mfh-dev-users\n{USERS_KEYS}"),
                             "s.yml", "dev").tables
    assert (t.billing_mode, t.deletion_protection, t.pitr, t.stream_view, t.ttl_attribute) == (
        "PROVISIONED", False, False, None, None)


# -- the bot's knowledge merged; differences reported ----------------------------------------
def _fixture_with(old: str, new: str) -> str:
    return _replace_once(FIXTURE.read_text(), old, new)


STATUS_INDEX = """          - IndexName: AccountIdIndex
            KeySchema:
              - AttributeName: account_id
                KeyType: HASH
            Projection:
              ProjectionType: ALL

    ExecutionsTable:"""


def with_status_index(text: str) -> str:
    """The fixture with a GSI ``StatusIndex`` (KEYS_ONLY) added to the helpers table."""
    text = _replace_once(text, STATUS_INDEX, STATUS_INDEX.replace("\n\n    ExecutionsTable:", """
          - IndexName: StatusIndex
            KeySchema:
              - AttributeName: status
                KeyType: HASH
            Projection:
              ProjectionType: KEYS_ONLY

    ExecutionsTable:"""))
    helper_keys = "        KeySchema:\n          - AttributeName: helper_id\n"
    return _replace_once(text, helper_keys, "          - AttributeName: status\n"
                         "            AttributeType: S\n" + helper_keys)


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def line_of(text: str, what: str) -> int:
    return text[:text.index(what)].count("\n") + 1


def test_merge_keeps_the_bots_knowledge_and_takes_the_files_structure() -> None:
    text = with_status_index(FIXTURE.read_text())
    schema = parse_schema_file(text, "serverless.yml", "dev")
    helpers = next(t for t in schema.merged() if t.short == "helpers")
    declared = next(t for t in TABLES if t.short == "helpers")
    assert [i.name for i in helpers.indexes] == ["AccountIdIndex", "StatusIndex"]
    assert helpers.attributes == declared.attributes  # types of the bot's, keys agree
    assert (helpers.summary, helpers.secret, helpers.pii, helpers.description) == (
        declared.summary, declared.secret, declared.pii, declared.description)
    assert schema.mismatches() == [
        f"serverless.yml: line {line_of(text, 'HelpersTable:')}: `mfh-dev-helpers` GSI "
        "`StatusIndex` is in the file but not in the bot"]


def test_tables_and_gsis_missing_on_either_side_are_reported() -> None:
    text = _fixture_with("TableName: mfh-${opt:stage, 'dev'}-oauth-states",
                         "TableName: mfh-${opt:stage, 'dev'}-oauth-state")
    text = text.replace("""          - IndexName: CognitoUserIdIndex
            KeySchema:
              - AttributeName: cognito_user_id
                KeyType: HASH
            Projection:
              ProjectionType: ALL
""", "")
    problems = parse_schema_file(text, "sls.yml", "dev").mismatches()
    assert problems == [
        f"sls.yml: line {line_of(text, 'OAuthStatesTable:')}: table `mfh-dev-oauth-state` is "
        "in the file but not in the bot",
        f"sls.yml: line {line_of(text, 'UsersTable:')}: `mfh-dev-users` GSI `CognitoUserIdIndex` "
        "is in the bot but not in the file",
        "table `mfh-dev-oauth-states` is in the bot but not in sls.yml",
    ]


def test_a_key_type_or_gsi_the_bot_declares_otherwise_is_reported() -> None:
    text = _fixture_with("""          - AttributeName: slug
            AttributeType: S""", """          - AttributeName: slug
            AttributeType: N""")
    text = _replace_once(text, """              - AttributeName: slug
                KeyType: HASH
            Projection:
              ProjectionType: ALL""", """              - AttributeName: slug
                KeyType: HASH
            Projection:
              ProjectionType: KEYS_ONLY""")
    where = f"s.yml: line {line_of(text, 'PlatformsTable:')}: `mfh-dev-platforms`"
    assert parse_schema_file(text, "s.yml", "dev").mismatches() == [
        f"{where} attribute `slug` is N, the bot declares S",
        f"{where} GSI `SlugIndex` is slug (KEYS_ONLY), the bot declares slug (ALL)"]


# -- a file that cannot be read stops start-up: the file, the line, the reason ---------------
BAD = [
    ("resources:\n  Resources:\n    T: [unclosed\n", "line 4: not valid YAML"),
    ("a: !!python/object/apply:os.system [ls]\n", "line 1: not valid YAML"),
    (one_table("TableName: mfh-dev-users\nBillingMode: PAY_PER_REQUEST\n"),
     "line 3: table `UsersTable` has no KeySchema"),
    (one_table(f"TableName: mfh-${{env:STAGE, 'dev'}}-users\n{USERS_KEYS}"),
     "line 6: `UsersTable` TableName: `${env:STAGE, 'dev'}` cannot be resolved by the bot"),
    (one_table(f"TableName: mfh-${{ssm:/mfh/stage}}-users\n{USERS_KEYS}"),
     "line 6: `UsersTable` TableName: `${ssm:/mfh/stage}` cannot be resolved"),
    (one_table(f"TableName: ${{self:custom.prefix}}-users\n{USERS_KEYS}"),
     "line 6: `UsersTable` TableName: `${self:custom.prefix}`: `self:custom.prefix` is not in "
     "the file"),
    (one_table(f"TableName: !Sub 'mfh-${{Stage}}-users'\n{USERS_KEYS}"),
     "line 6: `UsersTable` TableName: `Stage` is not a parameter of the file, a variable of "
     "the `!Sub`, nor `AWS::StackName`"),
    (one_table(f"TableName: mfh-${{Stage}}-users\n{USERS_KEYS}"),
     "line 6: `UsersTable` TableName: `${Stage}` is not a variable the bot knows"),
    (one_table(f"TableName: !GetAtt Other.Name\n{USERS_KEYS}"),
     "line 6: `UsersTable` TableName: `!GetAtt` cannot be resolved by the bot"),
    (one_table(f"TableName: mfh-${{sls:stage-users\n{USERS_KEYS}"),
     "line 6: `UsersTable` TableName: `${sls:stage-users` is not closed"),
    (one_table(f"TableName: ${{self:custom.a}}\n{USERS_KEYS}",
               head="custom: {a: '${self:custom.b}', b: '${self:custom.a}'}\n"),
     "`UsersTable` TableName: variables nest deeper than 10"),
    (one_table("TableName: t\nAttributeDefinitions: [{AttributeName: id, AttributeType: X}]\n"
               "KeySchema: [{AttributeName: id, KeyType: HASH}]\n"),
     "line 7: `UsersTable` AttributeType `X` is not one of S, N, B"),
    (one_table("TableName: t\nAttributeDefinitions: [{AttributeName: id, AttributeType: S}]\n"
               "KeySchema: [{AttributeName: pk, KeyType: HASH}]\n"),
     "line 7: `UsersTable`: key attribute `pk` of `UsersTable` has no AttributeDefinitions"),
    (one_table("TableName: t\nAttributeDefinitions: [{AttributeName: id, AttributeType: S}]\n"
               "KeySchema: [{AttributeName: id, KeyType: RANGE}]\n"),
     "line 8: `UsersTable` KeySchema has no HASH key"),
    (one_table(f"TableName: t\n{USERS_KEYS}GlobalSecondaryIndexes:\n"
               "  - {IndexName: ByX, KeySchema: [{AttributeName: user_id, KeyType: HASH}]}\n"),
     "line 13: `UsersTable` GSI `ByX` has no Projection"),
    (one_table(f"TableName: t\n{USERS_KEYS}DeletionProtectionEnabled: maybe\n"),
     "line 12: `UsersTable` DeletionProtectionEnabled must be true or false, not `maybe`"),
    (one_table(f"TableName: t\n{USERS_KEYS}") + "    Again:\n      Type: AWS::DynamoDB::Table\n"
     "      Properties:\n        TableName: t\n" + textwrap.indent(USERS_KEYS.strip("\n"), " " * 8),
     "line 12: table name `t` is defined twice"),
    ("service: x\nprovider: {name: aws}\n", "no `resources: Resources:` (Serverless)"),
    ("resources:\n  - ${file(tables.yml)}\n", "line 1: resources `${file(tables.yml)}` cannot "
                                              "be followed by the bot"),
    ("- just a list\n", "not a Serverless or CloudFormation file"),
]


@pytest.mark.parametrize(("text", "reason"), BAD)
def test_a_bad_file_names_the_line_and_the_reason(text: str, reason: str) -> None:
    with pytest.raises(SchemaFileError) as exc:
        parse_schema_file(text, "deploy/serverless.yml", "dev")
    assert str(exc.value).startswith("deploy/serverless.yml: ")
    assert reason in str(exc.value)


@pytest.mark.parametrize(("text", "reason"), [BAD[2], BAD[3], BAD[0]])
def test_a_bad_file_stops_start_up_naming_the_setting(tmp_path: Path, text: str,
                                                      reason: str) -> None:
    path = tmp_path / "serverless.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_settings(ddb_bot_schema_file=str(path))
    assert f"DDB_BOT_SCHEMA_FILE: {path}: {reason}" in str(exc.value)


def test_a_missing_file_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(ddb_bot_schema_file=str(tmp_path / "nope.yml"))
    assert f"DDB_BOT_SCHEMA_FILE: {tmp_path / 'nope.yml'}: cannot be read (No such file" in str(
        exc.value)


def test_a_good_file_is_accepted_and_unset_means_none() -> None:
    assert load_settings(ddb_bot_schema_file=str(FIXTURE)).ddb_bot_schema_file == str(FIXTURE)
    assert load_settings(ddb_bot_schema_file="").ddb_bot_schema_file is None
