"""ARM error responses, with the codes and message shapes real Azure sends.

Sources: tests/data/arm_recordings/05 (quoted real bodies) and public issue threads. Shapes
not seen verbatim anywhere are marked "unverified" and kept close to ARM's conventions.
"""

from __future__ import annotations

from typing import Any

LIMIT_RULES = 1000
LIMIT_PREFIXES = 4000


class ArmErrorReply(Exception):
    """An error answer: HTTP status plus ARM's ``{"error": {code, message, details}}`` body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


def missing_api_version() -> ArmErrorReply:
    return ArmErrorReply(
        400,
        "MissingApiVersionParameter",
        "The api-version query parameter (?api-version=) is required for all requests.",
    )


def missing_auth() -> ArmErrorReply:
    return ArmErrorReply(
        401,
        "AuthenticationFailed",
        "Authentication failed. The 'Authorization' header is missing.",
        headers={
            "WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com"'
        },
    )


def invalid_token() -> ArmErrorReply:
    return ArmErrorReply(
        401,
        "InvalidAuthenticationToken",
        "The access token is invalid.",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def nsg_not_found(resource_group: str, name: str) -> ArmErrorReply:
    return ArmErrorReply(
        404,
        "ResourceNotFound",
        f"The Resource 'Microsoft.Network/networkSecurityGroups/{name}' under resource group "
        f"'{resource_group}' was not found. For more details please go to "
        "https://aka.ms/ARMResourceNotFoundFix",
    )


def child_not_found(resource_id: str) -> ArmErrorReply:
    """A missing child resource, answered by the network provider itself (not ARM's front door)."""
    return ArmErrorReply(404, "NotFound", f"Resource {resource_id} not found.", details=[])


def route_not_found(path: str) -> ArmErrorReply:
    return ArmErrorReply(
        404, "NotFound", f"No HTTP resource was found that matches the request URI '{path}'."
    )


def method_not_allowed(method: str) -> ArmErrorReply:
    return ArmErrorReply(
        405, "MethodNotAllowed", f"The requested resource does not support http method '{method}'."
    )


def precondition_failed(resource_id: str) -> ArmErrorReply:
    # unverified wording; the status and code are what cloud-provider-azure handles
    return ArmErrorReply(
        412,
        "PreconditionFailed",
        f"Precondition failed: the If-Match etag does not match the current etag of {resource_id}.",
        details=[],
    )


def another_operation(
    operation: str, operation_id: str, resource_id: str, retry: float
) -> ArmErrorReply:
    return ArmErrorReply(
        429,
        "RetryableError",
        "A retryable error occurred.",
        details=[
            {
                "code": "RetryableErrorDueToAnotherOperation",
                "message": f"Operation {operation} ({operation_id}) is updating resource "
                f"{resource_id}. The call can be retried in {retry:g} seconds.",
            }
        ],
        headers={"Retry-After": f"{retry:g}"},
    )


def bad_request_format(detail: str) -> ArmErrorReply:
    return ArmErrorReply(
        400,
        "InvalidRequestFormat",
        "Cannot parse the request.",
        details=[{"code": "InvalidJson", "message": detail}],
    )


def invalid_name(name: str) -> ArmErrorReply:
    return ArmErrorReply(
        400,
        "InvalidResourceName",
        f"Resource name {name} is invalid. The name can be up to 80 characters long. It must "
        "begin with a word character, and it must end with a word character or with '_'. The "
        "name may contain word characters or '.', '-', '_'.",
        details=[],
    )


def invalid_priority(priority: object) -> ArmErrorReply:
    return ArmErrorReply(
        400,
        "SecurityRuleInvalidPriority",
        f"Security rule has invalid Priority. Value provided: {priority} Allowed range 100-4096.",
        details=[],
    )


def priority_conflict(existing: str, new: str) -> ArmErrorReply:
    return ArmErrorReply(
        400,
        "SecurityRuleConflict",
        f"Security rule {existing} conflicts with rule {new}. Rules cannot have the same "
        "Priority and Direction. To learn more, see aka.ms/nsgrules.",
        details=[],
    )


def too_many_rules() -> ArmErrorReply:
    return ArmErrorReply(
        400,
        "SecurityRuleCountLimitReached",
        f"A security group cannot have more than {LIMIT_RULES} security rules.",
        details=[],
    )


def too_many_prefixes(nsg_id: str, count: int, field: str) -> ArmErrorReply:
    return ArmErrorReply(
        400,
        "SecurityRuleAddressesOrPortsPerSecurityGroupLimitReached",
        f"Network security group {nsg_id} has {count} {field}. A security group cannot have "
        f"more than {LIMIT_PREFIXES} {field} as per the limit "
        "MaxSecurityRuleAddressesOrPortsPerSecurityGroup.",
        details=[],
    )


def mixed_families(rule_id: str) -> ArmErrorReply:
    return ArmErrorReply(
        400,
        "ResourceCannotContainAddressPrefixesFromDifferentAddressFamilies",
        f"{rule_id} contains IP addresses or prefixes that belong to different address "
        "families. All IP addresses or prefixes in the resource should belong to the same "
        "address family.",
        details=[],
    )


def invalid_prefix(rule_id: str, value: str) -> ArmErrorReply:
    return ArmErrorReply(
        400,
        "SecurityRuleInvalidAddressPrefix",
        f"Security rule {rule_id} has invalid Address prefix. Value provided: {value}",
        details=[],
    )


def tag_in_list(parameter: str, rule_id: str, value: str) -> ArmErrorReply:
    return ArmErrorReply(
        400,
        "SecurityRuleParameterContainsUnsupportedValue",
        f"Security rule parameter {parameter} for rule with Id {rule_id} cannot specify existing "
        "VIRTUALNETWORK, INTERNET, AZURELOADBALANCER, '*' or system tags. Unsupported value "
        f"used: {value}.",
        details=[],
    )


def parameters_missing(rule_id: str, side: str) -> ArmErrorReply:
    return ArmErrorReply(
        400,
        "SecurityRuleParametersMissing",
        f"Required security rule parameters are missing for security rule with Id: {rule_id}. "
        f"Security rule must specify {side}AddressPrefixes, {side}AddressPrefix, or "
        f"{side}ApplicationSecurityGroups.",
        details=[],
    )


def description_too_long(rule_id: str, length: int) -> ArmErrorReply:
    # unverified code; the 140-character limit itself is documented
    return ArmErrorReply(
        400,
        "SecurityRuleInvalidDescription",
        f"Security rule {rule_id} has a description of {length} characters; at most 140 are "
        "allowed.",
        details=[],
    )


def invalid_api_version(version: str, supported: tuple[str, ...]) -> ArmErrorReply:
    return ArmErrorReply(
        400,
        "InvalidApiVersionParameter",
        f"The api-version '{version}' is invalid. The supported versions are "
        f"'{','.join(supported)}'.",
    )


def no_registered_provider(
    version: str, type_name: str, location: str, supported: tuple[str, ...]
) -> ArmErrorReply:
    return ArmErrorReply(
        400,
        "NoRegisteredProviderFound",
        f"No registered resource provider found for location '{location}' and API version "
        f"'{version}' for type '{type_name}'. The supported api-versions are "
        f"'{', '.join(supported)}'. The supported locations are '{location}'.",
    )


def resource_not_found(type_name: str, resource_group: str, name: str) -> ArmErrorReply:
    """ARM's own 404 for a top-level resource (the same shape as for an NSG)."""
    return ArmErrorReply(
        404,
        "ResourceNotFound",
        f"The Resource '{type_name}/{name}' under resource group '{resource_group}' was not "
        "found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def resource_group_not_found(name: str) -> ArmErrorReply:
    return ArmErrorReply(
        404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found."
    )


def group_location_conflict(asked: str, existing: str) -> ArmErrorReply:
    return ArmErrorReply(
        409,
        "InvalidResourceGroupLocation",
        f"Invalid resource group location '{asked}'. The Resource group already exists in "
        f"location '{existing}'.",
    )


def invalid_filter(text: str) -> ArmErrorReply:
    # unverified wording; the emulator reads resourceType, name, tagName and tagValue only
    return ArmErrorReply(
        400,
        "InvalidFilterInQueryString",
        f"Invalid $filter '{text}' specified in the query string.",
    )


def another_operation_in_progress(poll_url: str, retry: float) -> ArmErrorReply:
    """409 of a provider that refuses a write while the resource's last one runs."""
    return ArmErrorReply(
        409,
        "AnotherOperationInProgress",
        "Another operation on this or dependent resource is in progress. To retrieve status of "
        f"the operation use uri: {poll_url}.",
        details=[],
        headers={"Retry-After": f"{retry:g}"},
    )


def missing_property(name: str) -> ArmErrorReply:
    # unverified wording; ARM providers answer a missing required field with 400
    return ArmErrorReply(
        400, "InvalidRequestContent", f"The request content is invalid: '{name}' is required."
    )


def location_required() -> ArmErrorReply:
    return ArmErrorReply(400, "LocationRequired",
                    "The location property is required for this definition.")  # fmt: skip


def storage_invalid(parameter: str) -> ArmErrorReply:
    """Storage's one answer for any bad network rule (seen verbatim in public issue threads)."""
    return ArmErrorReply(
        400,
        "InvalidValuesForRequestParameters",
        f"Values for request parameters are invalid: {parameter}. For more information, see - "
        "https://aka.ms/storagenetworkruleset",
    )


def bad_request(message: str) -> ArmErrorReply:
    """400 ``BadRequest``: the emulator's choice where a spec documents no code (unconfirmed)."""
    return ArmErrorReply(400, "BadRequest", message)


def keyvault_bad_request(message: str) -> ArmErrorReply:
    return ArmErrorReply(400, "BadRequest", message)


def registry_error(code: str, message: str) -> ArmErrorReply:
    # unverified codes; ACR answers its validation failures with 400 and a specific code
    return ArmErrorReply(400, code, message)


def sql_error(code: str, message: str) -> ArmErrorReply:
    return ArmErrorReply(400, code, message)


def ip_group_error(code: str, message: str) -> ArmErrorReply:
    # unverified codes; the network provider's 400 shape with empty details
    return ArmErrorReply(400, code, message, details=[])


def graph_bad_query(reason: str) -> ArmErrorReply:
    return _graph_bad_request(
        {
            "code": "InvalidQuery",
            "message": "Query is invalid. Please refer to the documentation for the Azure "
            "Resource Graph service and fix the error before retrying.",
        },
        {"code": "ParserFailure", "message": reason},
    )


def graph_too_many_subscriptions(count: int, limit: int) -> ArmErrorReply:
    """Resource Graph's answer to a query naming too many subscriptions (the code unconfirmed)."""
    return _graph_bad_request(
        {
            "code": "TooManySubscriptions",
            "message": f"The query names {count} subscriptions; at most {limit} are allowed. "
            "See https://aka.ms/arg-error-toomanysubs",
        }
    )


def _graph_bad_request(*details: dict[str, Any]) -> ArmErrorReply:
    """Resource Graph's 400: a support line, and what is wrong in the details."""
    return ArmErrorReply(
        400,
        "BadRequest",
        "Please provide below info when asking for support: timestamp = now, correlationId = "
        "emulator.",
        details=list(details),
    )
