"""moto_server, authorising Kinesis and Lambda requests against the resource AWS uses.

moto 5.2 authorises every Kinesis and Lambda request against the resource "*" and names the
permission of Lambda's Invoke operation `lambda:Invoke`. AWS authorises them against the
stream's or function's ARN, and the permission is `lambda:InvokeFunction`. Against "*" no
resource-scoped statement ever matches, so a least-privilege policy would be refused even
what it grants, and the device test could not tell a right policy from a wrong one.

This launcher gives those two services the resource through `_determine_resource`, the hook
moto's own SQS and IAM responses implement, maps the Invoke permission name, and then runs
moto_server with the usual arguments. Nothing else changes: moto's IAM engine decides.
Used by crates/deploy/tests/moto.rs, which starts it on a loopback port of its own.
"""

import sys
from urllib.parse import unquote

from moto.awslambda.responses import LambdaResponse
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


KinesisResponse._determine_resource = kinesis_resource
LambdaResponse._determine_resource = lambda_resource
LambdaResponse._authenticate_and_authorize_normal_action = lambda_authorize

if __name__ == "__main__":
    sys.exit(main())
