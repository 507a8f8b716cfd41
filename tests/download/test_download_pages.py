"""Finding the newest release link on the Microsoft download pages (shapes seen 2020-2025)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx

from sync.errors import DownloadError
from sync.feeds.azure.page import CONFIRMATION_URL, DETAILS_URL, fetch_latest, find_release_links

STABLE = "https://download.microsoft.com/download/7/1/D/71D86715-5596-4529-9B13-DA13A5DE5B63"
STABLE_LOWER = STABLE.lower()

# 2020: confirmation page, auto-start script, "click here" failover link, and a list of
# individual files (older ones included).
CONFIRMATION_2020 = f"""<!DOCTYPE html><html lang="en-us"><head>
<title>Download Azure IP Ranges and Service Tags - Public Cloud from Official Microsoft
Download Center</title></head><body class="ltr">
<div class="start-download"><p>Your download should start automatically. If it doesn't,
<a href="{STABLE}/ServiceTags_Public_20200824.json" class="mscom-link failoverLink"
 bi:track="false" data-m='{{"id":"n2v2c1","sN":2}}'>click here to download manually</a>.</p></div>
<table class="co1"><tr><td><a href="{STABLE}/ServiceTags_Public_20200810.json"
 class="mscom-link download-button dl">ServiceTags_Public_20200810.json</a></td></tr>
<tr><td><a href="{STABLE}/ServiceTags_Public_20200817.json"
 class="mscom-link download-button dl">ServiceTags_Public_20200817.json</a></td></tr></table>
<script>var downloadData = {{ "url": "{STABLE}/ServiceTags_Public_20200824.json" }};</script>
</body></html>"""


def _dlc_details(url: str) -> str:
    """The 2024+ inline state: JSON in a script, with ``/`` escaped as ``\\/``."""
    details = {
        "dlcDetailsView": {"downloadTitle": "Azure IP Ranges and Service Tags \u2013 Public Cloud"},
        "downloadFile": [
            {"name": Path(url).name, "url": url, "size": "4.2 MB", "version": "2025.10.20"}
        ],
    }
    return json.dumps(details).replace("/", "\\/")


def details_2024(url: str, *, button: bool = True) -> str:
    button_html = (
        f'<a class="btn btn-primary" href="{url}" aria-label="Download" '
        f'data-bi-cN="Download">Download</a>'
        if button
        else '<button class="btn btn-primary" disabled>Download</button>'
    )
    return f"""<!DOCTYPE html><html lang="en-US"><head><meta charset="utf-8"/>
<title>Download Azure IP Ranges and Service Tags - Public Cloud from Official Microsoft
Download Center</title></head><body><div id="root"><main>
<h1>Azure IP Ranges and Service Tags \u2013 Public Cloud</h1>{button_html}
<p>This file contains the IP address ranges for Public Azure as a whole.</p></main></div>
<script>window.__DLCDetails__={_dlc_details(url)}</script></body></html>"""


DETAILS_NO_LINK = """<!DOCTYPE html><html><head><title>Download Center</title></head><body>
<div id="root"></div><script>window.__DLCDetails__={"dlcDetailsView":{},"downloadFile":[]}
</script><p>See https://learn.microsoft.com/azure/virtual-network/service-tags-overview</p>
</body></html>"""


class TestFindReleaseLinks:
    def test_confirmation_page_lists_every_release_newest_first(self) -> None:
        links = find_release_links(CONFIRMATION_2020, "Public")
        assert links == [
            ("20200824", f"{STABLE}/ServiceTags_Public_20200824.json"),
            ("20200817", f"{STABLE}/ServiceTags_Public_20200817.json"),
            ("20200810", f"{STABLE}/ServiceTags_Public_20200810.json"),
        ]

    def test_json_escaped_slashes_in_inline_script_are_found(self) -> None:
        url = f"{STABLE}/ServiceTags_Public_20251020.json"
        page = details_2024(url, button=False)
        assert url not in page  # only the escaped form is in the page
        assert find_release_links(page, "Public") == [("20251020", url)]

    def test_unicode_escaped_slashes_and_html_entities_are_decoded(self) -> None:
        escaped = f"{STABLE}/ServiceTags_China_20251027.json".replace("/", "\\u002F")
        entities = f"{STABLE}/ServiceTags_China_20251020.json".replace(":", "&#x3A;")
        page = f'<script>x={{"u":"{escaped}"}}</script><a href="{entities}&amp;x=1">old</a>'
        assert [date for date, _ in find_release_links(page, "China")] == [
            "20251027",
            "20251020",
        ]

    def test_lower_case_path_and_cloud_name_match(self) -> None:
        url = f"{STABLE_LOWER}/servicetags_azuregovernment_20251025.json"
        assert find_release_links(f'<a href="{url}">x</a>', "AzureGovernment") == [
            ("20251025", url)
        ]

    def test_same_file_in_two_letter_cases_counts_once(self) -> None:
        upper = f"{STABLE}/ServiceTags_Public_20251020.json"
        page = details_2024(upper) + f'<a href="{STABLE_LOWER}/ServiceTags_Public_20251020.json">'
        assert find_release_links(page, "Public") == [("20251020", upper)]

    @pytest.mark.parametrize(
        "bad_url",
        [
            "http://download.microsoft.com/download/7/1/D/x/ServiceTags_Public_20251103.json",
            "https://downloads.example.net/download/x/ServiceTags_Public_20251103.json",
            "https://download.microsoft.com.evil.example/download/x/ServiceTags_Public_20251103.json",
            "https://download.microsoft.com@evil.example/download/x/ServiceTags_Public_20251103.json",
            "https://download.microsoft.com/download/x/ServiceTags_Public_20251399.json",
            "https://download.microsoft.com:8443/download/x/ServiceTags_Public_20251103.json",
            "https://download.microsoft.com:x/download/x/ServiceTags_Public_20251103.json",
        ],
    )
    def test_newer_links_that_are_not_https_on_the_download_host_are_ignored(
        self, bad_url: str
    ) -> None:
        good = f"{STABLE}/ServiceTags_Public_20251027.json"
        page = f'<a href="{bad_url}">new</a> <a href="{good}">older</a>'
        assert find_release_links(page, "Public") == [("20251027", good)]

    def test_other_clouds_files_do_not_count(self) -> None:
        assert find_release_links(CONFIRMATION_2020, "AzureGovernment") == []

    def test_page_without_link_gives_nothing(self) -> None:
        assert find_release_links(DETAILS_NO_LINK, "Public") == []


PAGE = 56519


def test_details_page_link_is_fetched_as_octet_stream(
    router: respx.MockRouter, tmp_path: Path
) -> None:
    url = f"{STABLE}/ServiceTags_Public_20251020.json"
    router.get(DETAILS_URL.format(id=PAGE)).respond(200, html=details_2024(url))
    release = router.get(url).respond(
        200, content=b'{"changeNumber": 1}', headers={"Content-Type": "application/octet-stream"}
    )
    confirmation = router.get(CONFIRMATION_URL.format(id=PAGE))

    fetched = fetch_latest("Public", cache_dir=tmp_path)

    assert (fetched.data, fetched.origin, fetched.from_cache) == (
        b'{"changeNumber": 1}',
        url,
        False,
    )
    assert release.call_count == 1
    assert not confirmation.called
    assert release.calls.last.request.headers["User-Agent"].startswith("ipsync/")


@pytest.mark.parametrize(
    "details", [httpx.Response(200, html=DETAILS_NO_LINK), httpx.Response(404)]
)
def test_details_page_without_link_falls_back_to_confirmation_page(
    router: respx.MockRouter, tmp_path: Path, details: httpx.Response
) -> None:
    router.get(DETAILS_URL.format(id=57063)).mock(return_value=details)
    page = CONFIRMATION_2020.replace("ServiceTags_Public", "ServiceTags_AzureGovernment")
    router.get(CONFIRMATION_URL.format(id=57063)).respond(200, html=page)
    newest = f"{STABLE}/ServiceTags_AzureGovernment_20200824.json"
    router.get(newest).respond(200, content=b"gov")

    fetched = fetch_latest("AzureGovernment", cache_dir=tmp_path)

    assert (fetched.data, fetched.origin) == (b"gov", newest)


def test_no_link_on_either_page_names_both_pages(router: respx.MockRouter, tmp_path: Path) -> None:
    router.get(DETAILS_URL.format(id=PAGE)).respond(200, html=DETAILS_NO_LINK)
    router.get(CONFIRMATION_URL.format(id=PAGE)).respond(404)

    with pytest.raises(DownloadError) as caught:
        fetch_latest("Public", cache_dir=tmp_path)

    message = str(caught.value)
    assert "\n" not in message
    assert "ServiceTags_Public_YYYYMMDD.json" in message
    assert DETAILS_URL.format(id=PAGE) in message
    assert f"{CONFIRMATION_URL.format(id=PAGE)}: HTTP 404" in message


def test_release_revalidated_with_etag_from_the_page_link(
    router: respx.MockRouter, tmp_path: Path
) -> None:
    url = f"{STABLE}/ServiceTags_Public_20251020.json"
    router.get(DETAILS_URL.format(id=PAGE)).respond(200, html=details_2024(url))

    def release(request: httpx.Request) -> httpx.Response:
        if request.headers.get("If-None-Match") == '"0x8DE0F"':
            return httpx.Response(304)
        return httpx.Response(200, content=b"release", headers={"ETag": '"0x8DE0F"'})

    route = router.get(url).mock(side_effect=release)

    first = fetch_latest("Public", cache_dir=tmp_path)
    second = fetch_latest("Public", cache_dir=tmp_path)

    assert (first.from_cache, second.from_cache) == (False, True)
    assert second.data == b"release"
    assert [call.response.status_code for call in route.calls] == [200, 304]


def test_unknown_cloud_is_refused_without_network(router: respx.MockRouter) -> None:
    with pytest.raises(DownloadError, match="unknown cloud 'Mars'"):
        fetch_latest("Mars")
    assert not router.calls
