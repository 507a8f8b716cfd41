"""The Azure clouds ipsync knows, and what each one's published release and ARM look like."""

from __future__ import annotations

from typing import Literal, NamedTuple

Cloud = Literal["Public", "AzureGovernment", "China", "AzureGermany"]


class CloudFacts(NamedTuple):
    #: Its download page: https://www.microsoft.com/download/details.aspx?id=<page_id>.
    page_id: int
    #: Its Azure Resource Manager endpoint.
    arm_endpoint: str
    #: Fewest tags a plausible release has: about a third of the real counts (Nov 2025:
    #: Public 3,039, AzureGovernment 327, China 325); AzureGermany is frozen and small.
    min_tags: int


CLOUDS: dict[str, CloudFacts] = {
    "Public": CloudFacts(56519, "https://management.azure.com", 1000),
    "AzureGovernment": CloudFacts(57063, "https://management.usgovcloudapi.net", 100),
    "China": CloudFacts(57062, "https://management.chinacloudapi.cn", 100),
    "AzureGermany": CloudFacts(57064, "https://management.microsoftazure.de", 30),
}
