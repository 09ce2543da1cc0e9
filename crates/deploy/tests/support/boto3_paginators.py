"""Walks the local target's archive and table with boto3's own paginators, as a user's script
would, through the profile `deploy --local` wrote (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE
and AWS_PROFILE come from its export line). Prints each walk's pages and keys as JSON.

Usage: boto3_paginators.py BUCKET TABLE SENSOR PAGE_SIZE
"""

import json
import sys

import boto3

bucket, table, sensor, page_size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
session = boto3.Session()
s3 = session.client("s3")
dynamodb = session.client("dynamodb")
pages = {"PageSize": page_size}


def walk(pages_of, keys_of):
    walked = {"pages": 0, "keys": []}
    for page in pages_of:
        walked["pages"] += 1
        walked["keys"].extend(keys_of(page))
    return walked


def item_keys(page):
    return [[item["SensorId"]["S"], item["Timestamp"]["S"]] for item in page.get("Items", [])]


print(
    json.dumps(
        {
            "objects": walk(
                s3.get_paginator("list_objects_v2").paginate(
                    Bucket=bucket, PaginationConfig=pages
                ),
                lambda page: [entry["Key"] for entry in page.get("Contents", [])],
            ),
            "query": walk(
                dynamodb.get_paginator("query").paginate(
                    TableName=table,
                    KeyConditionExpression="SensorId = :s",
                    ExpressionAttributeValues={":s": {"S": sensor}},
                    ScanIndexForward=False,
                    PaginationConfig=pages,
                ),
                item_keys,
            ),
            "scan": walk(
                dynamodb.get_paginator("scan").paginate(TableName=table, PaginationConfig=pages),
                item_keys,
            ),
        }
    )
)
