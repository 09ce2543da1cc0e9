#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The two cleanup resources: the release provider binary under the Runtime API harness, its
//! AWS calls going to the moto that `scripts/test` starts, answering CloudFormation's Create
//! and Delete of `Custom::BucketEmptier` and `Custom::AccessKeyRemover`; and the emptier's
//! order of calls, checked with the SDK's own mocks, since moto does not evaluate bucket
//! policies.

#[allow(dead_code)]
mod support;

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest as Request;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use custom_resources::{access_key_remover, bucket_emptier};
use lambda_harness::moto;
use mapping_provider::resources::bucket_emptier as emptier;
use serde_json::{Value, json};
use std::time::Duration;
use support::{ResponseSink, STACK_ID};

/// A request of `resource_type` as CloudFormation sends it.
fn cleanup_request(
    kind: &str,
    resource_type: &str,
    response_url: &str,
    physical_id: Option<&str>,
    properties: Value,
) -> Value {
    let mut request = json!({
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:cleanup-test-EventSourceMappingProvider",
        "RequestType": kind,
        "RequestId": format!("{kind}-{}", moto::unique_name("r")),
        "ResponseURL": response_url,
        "StackId": STACK_ID,
        "ResourceType": resource_type,
        "LogicalResourceId": "Cleanup",
        "ResourceProperties": properties,
    });
    request["ResourceProperties"]["ServiceToken"] = request["ServiceToken"].clone();
    request["ResourceProperties"]["ServiceTimeout"] = json!("300");
    if let Some(id) = physical_id {
        request["PhysicalResourceId"] = json!(id);
    }
    request
}

fn s3(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    )
}

/// A versioned bucket holding two versions of one key, a delete marker of another, and a
/// policy statement of its own. (Not the stack's TLS-only statement: moto evaluates bucket
/// policies without their conditions, so that one would refuse every request here.)
async fn used_bucket(s3: &aws_sdk_s3::Client) -> String {
    let bucket = moto::unique_name("emptier");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    s3.put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    for (key, body) in [("a.json", "one"), ("a.json", "two"), ("b.json", "three")] {
        s3.put_object()
            .bucket(&bucket)
            .key(key)
            .body(ByteStream::from_static(body.as_bytes()))
            .send()
            .await
            .unwrap();
    }
    s3.delete_object()
        .bucket(&bucket)
        .key("b.json")
        .send()
        .await
        .unwrap();
    let policy = json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "KeepLifecycle", "Effect": "Deny", "Principal": "*",
        "Action": "s3:PutLifecycleConfiguration", "Resource": format!("arn:aws:s3:::{bucket}")
    }]});
    s3.put_bucket_policy()
        .bucket(&bucket)
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
    bucket
}

async fn versions(s3: &aws_sdk_s3::Client, bucket: &str) -> usize {
    let listed = s3
        .list_object_versions()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    listed.versions().len() + listed.delete_markers().len()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_emptier_denies_writes_then_deletes_every_version_on_delete_only() {
    let endpoint = moto::endpoint().unwrap_or_else(|e| panic!("{e}"));
    let config = moto::sdk_config(&endpoint).await;
    let s3 = s3(&config);
    let bucket = used_bucket(&s3).await;
    assert_eq!(versions(&s3, &bucket).await, 4);
    let sink = ResponseSink::start().await;
    let mut provider = support::provider(&endpoint, &[]).await;
    let properties = json!({"BucketName": bucket});

    // Create names the bucket and touches nothing.
    let create = cleanup_request(
        "Create",
        bucket_emptier::RESOURCE_TYPE,
        &sink.url("create"),
        None,
        properties.clone(),
    );
    support::invoke(&mut provider, &create, Duration::from_secs(30)).await;
    let created = sink.answer("create").body;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    assert_eq!(created["PhysicalResourceId"], bucket);
    assert_eq!(versions(&s3, &bucket).await, 4, "Create deletes nothing");

    // A Delete of a Create that failed (another physical id) touches nothing either.
    let stray = cleanup_request(
        "Delete",
        bucket_emptier::RESOURCE_TYPE,
        &sink.url("stray"),
        Some("not-created-1234"),
        properties.clone(),
    );
    support::invoke(&mut provider, &stray, Duration::from_secs(30)).await;
    assert_eq!(sink.answer("stray").body["Status"], "SUCCESS");
    assert_eq!(versions(&s3, &bucket).await, 4);

    let delete = cleanup_request(
        "Delete",
        bucket_emptier::RESOURCE_TYPE,
        &sink.url("delete"),
        Some(&bucket),
        properties,
    );
    support::invoke(&mut provider, &delete, Duration::from_secs(30)).await;
    let deleted = sink.answer("delete").body;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    assert!(
        deleted["Reason"]
            .as_str()
            .unwrap()
            .contains("4 object versions"),
        "{deleted}"
    );
    assert_eq!(versions(&s3, &bucket).await, 0);
    let policy: Value = serde_json::from_str(
        s3.get_bucket_policy()
            .bucket(&bucket)
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap(),
    )
    .unwrap();
    let sids: Vec<&str> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Sid"].as_str().unwrap())
        .collect();
    assert_eq!(sids, ["KeepLifecycle", bucket_emptier::DENY_WRITES_SID]);
    // moto evaluates a bucket policy's Deny: a writer still running is refused from now on.
    let late = s3
        .put_object()
        .bucket(&bucket)
        .key("late.json")
        .body(ByteStream::from_static(b"late"))
        .send()
        .await;
    assert!(
        late.is_err(),
        "a write after the emptier began is denied: {late:?}"
    );
    assert_eq!(versions(&s3, &bucket).await, 0);
    s3.delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("the bucket can go now");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_key_remover_deletes_every_key_of_its_user_on_delete() {
    let endpoint = moto::endpoint().unwrap_or_else(|e| panic!("{e}"));
    let config = moto::sdk_config(&endpoint).await;
    let iam = aws_sdk_iam::Client::new(&config);
    let user = moto::unique_name("device");
    iam.create_user().user_name(&user).send().await.unwrap();
    for _ in 0..2 {
        iam.create_access_key()
            .user_name(&user)
            .send()
            .await
            .unwrap();
    }
    let sink = ResponseSink::start().await;
    let mut provider = support::provider(&endpoint, &[]).await;
    let properties = json!({"UserName": user});
    let create = cleanup_request(
        "Create",
        access_key_remover::RESOURCE_TYPE,
        &sink.url("create"),
        None,
        properties.clone(),
    );
    support::invoke(&mut provider, &create, Duration::from_secs(30)).await;
    assert_eq!(sink.answer("create").body["PhysicalResourceId"], user);
    let keys = || async {
        iam.list_access_keys()
            .user_name(&user)
            .send()
            .await
            .unwrap()
            .access_key_metadata()
            .len()
    };
    assert_eq!(keys().await, 2, "Create deletes nothing");

    let delete = cleanup_request(
        "Delete",
        access_key_remover::RESOURCE_TYPE,
        &sink.url("delete"),
        Some(&user),
        properties,
    );
    support::invoke(&mut provider, &delete, Duration::from_secs(30)).await;
    let deleted = sink.answer("delete").body;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    assert_eq!(keys().await, 0);
    iam.delete_user()
        .user_name(&user)
        .send()
        .await
        .expect("the user can go now");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_cleanup_properties_fail_the_create_naming_each_problem() {
    let endpoint = moto::endpoint().unwrap_or_else(|e| panic!("{e}"));
    let sink = ResponseSink::start().await;
    let mut provider = support::provider(&endpoint, &[]).await;
    let create = cleanup_request(
        "Create",
        bucket_emptier::RESOURCE_TYPE,
        &sink.url("bad"),
        None,
        json!({"Bucket": "b"}),
    );
    support::invoke(&mut provider, &create, Duration::from_secs(30)).await;
    let answer = sink.answer("bad").body;
    assert_eq!(answer["Status"], "FAILED");
    let reason = answer["Reason"].as_str().unwrap();
    assert!(reason.contains("Bucket is not a property"), "{reason}");
    assert!(reason.contains("BucketName is required"), "{reason}");
}

/// Writes are denied before the first version is deleted: the calls come in exactly this
/// order (a sequential mock fails on any other), and the new statement is the deny.
#[tokio::test]
async fn the_emptier_adds_the_deny_before_it_lists_or_deletes() {
    let existing = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": "arn:aws:s3:::archive/*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    ]})
    .to_string();
    let get = mock!(aws_sdk_s3::Client::get_bucket_policy).then_output(move || {
        aws_sdk_s3::operation::get_bucket_policy::GetBucketPolicyOutput::builder()
            .policy(existing.clone())
            .build()
    });
    let put = mock!(aws_sdk_s3::Client::put_bucket_policy)
        .match_requests(|input| {
            let policy: Value = serde_json::from_str(input.policy().unwrap_or_default()).unwrap();
            let added = &policy["Statement"][1];
            policy["Statement"].as_array().is_some_and(|s| s.len() == 2)
                && added["Effect"] == "Deny"
                && added["Action"] == "s3:PutObject"
                && added["Principal"] == "*"
                && added["Resource"] == "arn:aws:s3:::archive/*"
        })
        .then_output(|| {
            aws_sdk_s3::operation::put_bucket_policy::PutBucketPolicyOutput::builder().build()
        });
    let list = mock!(aws_sdk_s3::Client::list_object_versions).then_output(|| {
        aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput::builder()
            .versions(
                aws_sdk_s3::types::ObjectVersion::builder()
                    .key("k")
                    .version_id("v1")
                    .build(),
            )
            .is_truncated(false)
            .build()
    });
    let delete = mock!(aws_sdk_s3::Client::delete_objects)
        .match_requests(|input| {
            input.delete().is_some_and(|d| {
                d.objects().len() == 1 && d.objects()[0].version_id() == Some("v1")
            })
        })
        .then_output(|| {
            aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput::builder().build()
        });
    let client = mock_client!(
        aws_sdk_s3,
        RuleMode::Sequential,
        [&get, &put, &list, &delete]
    );
    let request: Request<Value, Value> = serde_json::from_value(json!({
        "RequestType": "Delete",
        "RequestId": "r",
        "ResponseURL": "http://127.0.0.1:9/unused",
        "StackId": STACK_ID,
        "ResourceType": bucket_emptier::RESOURCE_TYPE,
        "LogicalResourceId": "Emptier",
        "PhysicalResourceId": "archive",
        "ResourceProperties": {"BucketName": "archive"}
    }))
    .unwrap();
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    let answer = emptier::handle(&client, &request, until).await;
    assert_eq!(
        answer.reason.as_deref(),
        Some("bucket archive emptied: writes denied, 1 object versions and delete markers deleted")
    );
    for (rule, name) in [
        (&get, "get"),
        (&put, "put"),
        (&list, "list"),
        (&delete, "delete"),
    ] {
        assert_eq!(rule.num_calls(), 1, "{name}");
    }
}
