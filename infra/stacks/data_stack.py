"""Data stack: the S3 lakehouse (raw, features, models), its Glue catalog and the Athena workgroup.

- ``raw``: the Store's lake under ``lake/`` (``pitwall.data.store_aws.AwsStore`` with
  ``PITWALL_BUCKET``/``PITWALL_PREFIX``): canonical tables (``<table>/season=<YYYY>/data.parquet``,
  reference tables ``<table>/data.parquet``) and the materialised feature tables. The canonical tables
  are declared here as Glue tables partitioned by ``season`` with partition projection, so Athena needs
  no crawler or ``MSCK REPAIR``.
- ``features``: per-job training manifests (``manifests/``, the objects a training job reads) and
  scratch space.
- ``models``: training outputs and model artifacts (versioned).
- ``results``: Athena query results, expired after a week.
Buckets are named ``pitwall-<stage>-<purpose>-<account>-<region>`` so other stacks grant access by name.
Every bucket is S3-managed encrypted, blocks public access, refuses plain HTTP and logs access to a
dedicated access-logs bucket.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.access import ATHENA_RESULTS, FEATURES, LAKE_PREFIX, MANIFESTS_PREFIX, MODELS_BUCKET, RAW
from infra.config import StageConfig
from pitwall.data.schema import TABLES, Table

GLUE_TYPES = {
    "string": "string",
    "Int64": "bigint",
    "Float64": "double",
    "boolean": "boolean",
    "datetime64[ns]": "timestamp",
}
PARTITION_COLUMN = "season"
ATHENA_BYTES_SCANNED_CUTOFF = 1024**3  # 1 GiB per query: the whole F1 history is far smaller


def glue_columns(table: Table) -> list[glue.CfnTable.ColumnProperty]:
    """The table's data columns as Glue columns (the partition column excluded for race tables)."""
    return [
        glue.CfnTable.ColumnProperty(name=c.name, type=GLUE_TYPES[c.dtype], comment=c.doc[:255])
        for c in table.columns
        if not (table.race_scoped and c.name == PARTITION_COLUMN)
    ]


class DataStack(cdk.Stack):
    """Buckets, Glue database and tables, Athena workgroup."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        auto_delete = not config.is_prod

        self.access_logs_bucket = s3.Bucket(
            self,
            "AccessLogsBucket",
            bucket_name=config.bucket_name("access-logs"),
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-access-logs", expiration=cdk.Duration.days(365 if config.is_prod else 90))
            ],
            removal_policy=config.removal_policy,
            auto_delete_objects=auto_delete,
        )

        # Server access logs from every Pitwall bucket of this account, including those of other stacks
        # (the MLflow artifact bucket), which cannot add themselves to this policy.
        self.access_logs_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="S3ServerAccessLogsFromPitwallBuckets",
                principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[self.access_logs_bucket.arn_for_objects("*")],
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )

        def bucket(construct: str, prefix: str, *, versioned: bool, rules: list[s3.LifecycleRule]) -> s3.Bucket:
            return s3.Bucket(
                self,
                construct,
                bucket_name=config.bucket_name(prefix),
                encryption=s3.BucketEncryption.S3_MANAGED,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                enforce_ssl=True,
                versioned=versioned,
                server_access_logs_bucket=self.access_logs_bucket,
                server_access_logs_prefix=f"{prefix}/",
                lifecycle_rules=[
                    s3.LifecycleRule(
                        id="abort-incomplete-uploads", abort_incomplete_multipart_upload_after=cdk.Duration.days(7)
                    ),
                    *rules,
                ],
                removal_policy=config.removal_policy,
                auto_delete_objects=auto_delete,
            )

        self.raw_bucket = bucket(
            "RawBucket",
            RAW,
            versioned=True,
            rules=[s3.LifecycleRule(id="expire-old-versions", noncurrent_version_expiration=cdk.Duration.days(30))],
        )
        self.features_bucket = bucket(
            "FeaturesBucket",
            FEATURES,
            versioned=False,
            rules=[
                s3.LifecycleRule(id="expire-manifests", prefix=MANIFESTS_PREFIX, expiration=cdk.Duration.days(30)),
                s3.LifecycleRule(id="expire-scratch", prefix="tmp/", expiration=cdk.Duration.days(7)),
            ],
        )
        self.models_bucket = bucket(
            "ModelsBucket",
            MODELS_BUCKET,
            versioned=True,
            rules=[
                s3.LifecycleRule(id="expire-old-versions", noncurrent_version_expiration=cdk.Duration.days(90)),
                s3.LifecycleRule(
                    id="archive-training-output",
                    prefix="training-output/",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS, transition_after=cdk.Duration.days(90)
                        )
                    ],
                ),
            ],
        )
        self.athena_results_bucket = bucket(
            "AthenaResultsBucket",
            ATHENA_RESULTS,
            versioned=False,
            rules=[s3.LifecycleRule(id="expire-results", expiration=cdk.Duration.days(7))],
        )

        self.database_name = config.glue_database
        database = glue.CfnDatabase(
            self,
            "GlueDatabase",
            catalog_id=self.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.database_name, description="Pitwall canonical F1 tables (F1DB + FastF1)"
            ),
        )
        self.glue_tables: dict[str, glue.CfnTable] = {}
        for table in TABLES.values():
            cfn_table = self._glue_table(table)
            cfn_table.node.add_dependency(database)
            self.glue_tables[table.name] = cfn_table

        self.workgroup = athena.CfnWorkGroup(
            self,
            "AthenaWorkGroup",
            name=config.name("athena"),
            description="Pitwall queries: results encrypted, bytes scanned capped per query",
            recursive_delete_option=not config.is_prod,
            state="ENABLED",
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=ATHENA_BYTES_SCANNED_CUTOFF,
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=self.athena_results_bucket.s3_url_for_object("athena/"),
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_S3"
                    ),
                ),
            ),
        )
        self.workgroup.apply_removal_policy(config.removal_policy)

        for name, value in {
            "RawBucketName": self.raw_bucket.bucket_name,
            "FeaturesBucketName": self.features_bucket.bucket_name,
            "ModelsBucketName": self.models_bucket.bucket_name,
            "GlueDatabaseName": self.database_name,
            "AthenaWorkGroupName": config.name("athena"),
        }.items():
            cdk.CfnOutput(self, name, value=value)

    def _glue_table(self, table: Table) -> glue.CfnTable:
        location = f"s3://{self.raw_bucket.bucket_name}/{LAKE_PREFIX}/{table.name}/"
        parameters = {"classification": "parquet", "parquet.compression": "SNAPPY"}
        partition_keys = None
        if table.race_scoped:
            parameters.update(
                {
                    "projection.enabled": "true",
                    "projection.season.type": "integer",
                    "projection.season.range": "1950,2100",
                    "storage.location.template": f"{location}season=${{season}}/",
                }
            )
            partition_keys = [
                glue.CfnTable.ColumnProperty(name=PARTITION_COLUMN, type="int", comment="championship year")
            ]
        return glue.CfnTable(
            self,
            f"GlueTable{table.name.title().replace('_', '')}",
            catalog_id=self.account,
            database_name=self.database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=table.name,
                description=table.doc,
                table_type="EXTERNAL_TABLE",
                parameters=parameters,
                partition_keys=partition_keys,
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    columns=glue_columns(table),
                    location=location,
                    input_format="org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
                    ),
                ),
            ),
        )
