"""The ten-line script ipsync's ``prefixes`` command is measured against: json + ipaddress.

``python bench/naive_prefixes.py RELEASE.json[.xz] TAG...`` prints the collapsed prefixes of
the tags, IPv4 then IPv6, as ``python -m sync prefixes TAG... --source RELEASE`` does.
"""

import ipaddress
import json
import lzma
import sys

with open(sys.argv[1], "rb") as file:
    raw = file.read()
data = json.loads(lzma.decompress(raw) if sys.argv[1].endswith(".xz") else raw)
names = set(sys.argv[2:])
nets = [
    ipaddress.ip_network(prefix)
    for value in data["values"]
    if value["name"] in names
    for prefix in value["properties"]["addressPrefixes"]
]
v4 = [n for n in nets if isinstance(n, ipaddress.IPv4Network)]
v6 = [n for n in nets if isinstance(n, ipaddress.IPv6Network)]
print(*ipaddress.collapse_addresses(v4), *ipaddress.collapse_addresses(v6), sep="\n")
