"""moto_server with some gaps to AWS closed, so the tests can rely on what AWS does.

1. Stack outputs after a change set. moto 5.2 builds a stack's outputs when the stack is
   created and again on UpdateStack, but not when a change set is executed: a stack made or
   changed through a change set (the way the deployer works, as CDK does) reports no outputs,
   or stale ones. The patch rebuilds them after the change set is applied, as AWS has them.

2. Kinesis and Lambda authorisation against the resource AWS uses:

moto 5.2 authorises every Kinesis and Lambda request against the resource "*" and names the
permission of Lambda's Invoke operation `lambda:Invoke`. AWS authorises them against the
stream's or function's ARN, and the permission is `lambda:InvokeFunction`. Against "*" no
resource-scoped statement ever matches, so a least-privilege policy would be refused even
what it grants, and the device test could not tell a right policy from a wrong one.

This launcher gives those two services the resource through `_determine_resource`, the hook
moto's own SQS and IAM responses implement, maps the Invoke permission name, and then runs
moto_server with the usual arguments. Nothing else changes: moto's IAM engine decides.

3. One event-source mapping per Kinesis stream and function. AWS refuses a second mapping of
   the same stream and function with ResourceConflictException (HTTP 409, "The resource
   already exists, or another operation is in progress": Errors of CreateEventSourceMapping,
   Lambda API Reference, https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html),
   naming the mapping that exists. moto 5.2 makes the second one, so a provider that creates
   a mapping again (a redelivered Create) would pass there and fail on AWS. The patch refuses
   it as AWS does, before moto's own checks run.

4. Deleting a stack cleans up only what AWS would let it. moto 5.2 deletes a user that still
   has access keys, and "deletes" a bucket that still holds objects by leaving it in place
   silently; AWS refuses both (DeleteConflict: "must delete access keys first", DeleteUser in
   the IAM API Reference; BucketNotEmpty, DeleteBucket in the Amazon S3 API Reference), and
   the stack ends DELETE_FAILED. Here both are refused too, and a stack whose deletion fails
   stays, DELETE_FAILED, with the reason in its events, instead of vanishing.

5. Custom resources are told about their deletion. moto runs no provider by itself (it would
   need Docker), and deletes a custom resource without a word. Here a custom resource's Delete
   is sent, as CloudFormation sends it, to the relay at $MOTO_CUSTOM_RESOURCE_RELAY (the test
   runs the real provider binary behind it), with the physical id the provider answered on
   Create; a FAILED answer fails the deletion, as on AWS. Without the variable, nothing is sent.

Used by crates/deploy/tests/moto.rs and tests/lifecycle.rs, and by the provider's
lambdas/mapping-provider/tests/process.rs, which start it on loopback ports of their own.
"""

import json
import os
import sys
import urllib.request
import uuid
from urllib.parse import unquote

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import LambdaBackend
from moto.awslambda.responses import LambdaResponse
from moto.cloudformation.custom_model import CustomModel
from moto.cloudformation.models import ChangeSet, CloudFormationBackend
from moto.cloudformation.responses import CloudFormationResponse
from moto.iam.access_control import IAMRequest
from moto.iam.exceptions import DeleteConflictException
from moto.iam.models import IAMBackend
from moto.kinesis.responses import KinesisResponse
from moto.s3.exceptions import BucketNotEmpty
from moto.s3.models import FakeBucket, s3_backends
from moto.server import main
from moto.utilities.utils import get_partition


def kinesis_resource(self):
    """The stream's ARN, from StreamARN or StreamName."""
    arn = self._get_param("StreamARN")
    if arn:
        return arn
    name = self._get_param("StreamName")
    if name:
        return f"arn:{self.partition}:kinesis:{self.region}:{self.current_account}:stream/{name}"
    return "*"


def lambda_resource(self):
    """The function's ARN for Invoke (path /2015-03-31/functions/{name}/invocations)."""
    if self._get_action() != "Invoke":
        return "*"
    name = unquote(self.path.rstrip("/").rsplit("/", 2)[-2])
    if name.startswith("arn:"):
        return name
    return f"arn:{self.partition}:lambda:{self.region}:{self.current_account}:function:{name}"


class LambdaIAMRequest(IAMRequest):
    """IAM's name for the permission of the Invoke operation."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self._action == "lambda:Invoke":
            self._action = "lambda:InvokeFunction"


def lambda_authorize(self, resource="*"):
    self._authenticate_and_authorize_action(LambdaIAMRequest, resource)


apply_change_set = ChangeSet.apply


def apply_and_refresh_outputs(self):
    apply_change_set(self)
    # moto gives the stack the change set's template only after this returns; the outputs are
    # built from it, so take it now.
    self.stack.template = self.template
    self.stack._parse_template()
    self.stack.output_map = self.stack._create_output_map()


class MappingExists(LambdaClientError):
    """AWS's refusal of a second mapping of one stream and function, with its message."""

    code = 409

    def __init__(self, mapping, function_name):
        super().__init__(
            "ResourceConflictException",
            f'The event source arn (" {mapping.event_source_arn} ") and function '
            f'(" {function_name} ") provided mapping already exists. Please update or delete '
            f"the existing mapping with UUID {mapping.uuid}",
        )


create_event_source_mapping = LambdaBackend.create_event_source_mapping


def create_one_mapping_per_stream_and_function(self, spec):
    """CreateEventSourceMapping, refused for a Kinesis stream and function that have a mapping
    already, as AWS refuses it (see 3. above)."""
    source = spec.get("EventSourceArn") or ""
    name = spec.get("FunctionName")
    if source.split(":")[2:3] == ["kinesis"] and name:
        function = self._lambdas.get_function_by_name_or_arn_with_qualifier(name)
        for mapping in self._event_source_mappings.values():
            if (
                mapping.event_source_arn == source
                and mapping.function_arn == function.function_arn
            ):
                raise MappingExists(mapping, name)
    return create_event_source_mapping(self, spec)


delete_user = IAMBackend.delete_user


def delete_user_without_keys(self, user_name):
    if self.get_user(user_name).access_keys:
        raise DeleteConflictException("Cannot delete entity, must delete access keys first.")
    delete_user(self, user_name)


delete_bucket_resource = FakeBucket.delete_from_cloudformation_json.__func__


def delete_empty_bucket_resource(cls, resource_name, cloudformation_json, account_id, region_name):
    bucket = s3_backends[account_id][get_partition(region_name)].get_bucket(resource_name)
    # Every version and delete marker of a key is in `keys`; a key whose versions are all
    # deleted leaves it.
    if bucket.keys:
        raise BucketNotEmpty(resource_name)
    delete_bucket_resource(cls, resource_name, cloudformation_json, account_id, region_name)


delete_stack = CloudFormationBackend.delete_stack


def delete_stack_or_fail(self, name_or_stack_id):
    stack = self.stacks.get(name_or_stack_id) or next(
        (s for s in self.stacks.values() if s.name == name_or_stack_id), None
    )
    try:
        delete_stack(self, name_or_stack_id)
    except Exception as error:
        if stack is None:
            raise
        stack.status = "DELETE_FAILED"
        stack._add_stack_event("DELETE_FAILED", resource_status_reason=f"{error}")
        self.stacks[stack.stack_id] = stack


create_custom_resource = CustomModel.create_from_cloudformation_json.__func__


def create_and_remember(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    resource = create_custom_resource(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    )
    properties = cloudformation_json["Properties"]
    resource.delete_request = {
        "ServiceToken": properties["ServiceToken"],
        "StackId": kwargs["StackId"],
        "ResourceType": kwargs["ResourceType"],
        "LogicalResourceId": kwargs["LogicalId"],
        "ResourceProperties": properties,
    }
    return resource


process_cfn_response = CloudFormationResponse.process_cfn_response


def process_and_remember_id(self):
    answer = process_cfn_response(self)
    if self._get_param("Status") == "SUCCESS":
        stack = self.cloudformation_backend.get_stack(self._get_param("StackId"))
        resource = stack.get_custom_resource(self._get_param("LogicalResourceId"))
        resource.answered_id = self._get_param("PhysicalResourceId")
    return answer


def delete_through_relay(self, account_id, region_name):
    relay = os.environ.get("MOTO_CUSTOM_RESOURCE_RELAY")
    if not relay or not hasattr(self, "delete_request"):
        return
    request = dict(
        self.delete_request,
        RequestType="Delete",
        RequestId=str(uuid.uuid4()),
        PhysicalResourceId=getattr(self, "answered_id", self.resource_name),
    )
    call = urllib.request.Request(
        relay,
        data=json.dumps(request).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(call, timeout=120) as response:
        answer = json.loads(response.read())
    if answer.get("Status") != "SUCCESS":
        raise RuntimeError(f"{self.logical_id}: {answer.get('Reason')}")


ChangeSet.apply = apply_and_refresh_outputs
IAMBackend.delete_user = delete_user_without_keys
FakeBucket.delete_from_cloudformation_json = classmethod(delete_empty_bucket_resource)
CloudFormationBackend.delete_stack = delete_stack_or_fail
CustomModel.create_from_cloudformation_json = classmethod(create_and_remember)
CustomModel.delete = delete_through_relay
CloudFormationResponse.process_cfn_response = process_and_remember_id
LambdaBackend.create_event_source_mapping = create_one_mapping_per_stream_and_function
KinesisResponse._determine_resource = kinesis_resource
LambdaResponse._determine_resource = lambda_resource
LambdaResponse._authenticate_and_authorize_normal_action = lambda_authorize

if __name__ == "__main__":
    sys.exit(main())
