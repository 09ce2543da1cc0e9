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

Used by crates/deploy/tests/moto.rs and tests/lifecycle.rs, and by the provider's
lambdas/mapping-provider/tests/process.rs, which start it on loopback ports of their own.
"""

import sys
from urllib.parse import unquote

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import LambdaBackend
from moto.awslambda.responses import LambdaResponse
from moto.cloudformation.models import ChangeSet
from moto.iam.access_control import IAMRequest
from moto.kinesis.responses import KinesisResponse
from moto.server import main


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


ChangeSet.apply = apply_and_refresh_outputs
LambdaBackend.create_event_source_mapping = create_one_mapping_per_stream_and_function
KinesisResponse._determine_resource = kinesis_resource
LambdaResponse._determine_resource = lambda_resource
LambdaResponse._authenticate_and_authorize_normal_action = lambda_authorize

if __name__ == "__main__":
    sys.exit(main())
