"""An application team's program: its own role, a key only that role can use, and a pointer
to the AWS managed S3 key for a bucket that does not need a key of its own."""

import json

import pulumi
import pulumi_aws as aws

from components import CustomerManagedKey, KeySettings, aws_managed_key

role = aws.iam.Role(
    "orders-worker",
    name="orders-worker",
    assume_role_policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    ),
)

orders_key = CustomerManagedKey(
    "orders",
    KeySettings(
        description="Orders worker data",
        administrators=["arn:aws:iam::111122223333:role/KmsKeyAdmin"],
        users=[role.arn],
        services=[{"service": "sqs", "principals": ["arn:aws:iam::111122223333:role/orders-api"]}],
        aliases=["alias/dev/orders-worker"],
        tags={"owner": "orders-team"},
    ),
)

logs_bucket_key = aws_managed_key("s3")

pulumi.export("ordersKeyArn", orders_key.key_arn)
pulumi.export("ordersKeyAliases", orders_key.alias_names)
pulumi.export("s3ManagedKeyArn", logs_bucket_key.key_arn)
