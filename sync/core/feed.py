"""The release model every feed produces, and the checks every feed's parser shares.

Pure: a feed (:mod:`sync.feeds`) turns its published document into one :class:`ServiceTag`
record per selector and builds a :class:`Release` with a strict release mark. What all feeds
check alike lives here: bounded decompression and JSON decoding, bounds on records and
prefixes, and the prefixes themselves (valid, no broader than the minimum length, public), each
checked once per distinct string in bulk (:func:`sync.core.prefixes.all_canonical`), an odd one
parsed on its own to name it. That check is the costly part of a large release, so a release
may remember its verdict by content (:attr:`Release.verdict`).
"""

from __future__ import annotations

import gc
import re
from collections import Counter
from collections.abc import Callable, Collection, Container, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn, Protocol

from sync.core.prefixes import all_canonical, overlaps_reserved, parse_prefix, reserved_block
from sync.errors import FeedError
from sync.logs import get_logger

if TYPE_CHECKING:  # a type alone: a class made at import costs every start

    class _Decompressor(Protocol):
        def decompress(self, data: bytes, max_length: int, /) -> bytes: ...

        @property
        def eof(self) -> bool: ...

        @property
        def unused_data(self) -> bytes: ...


log = get_logger(__name__)

#: Largest (decompressed) document accepted from any feed; Azure's release is ~4 MB.
MAX_FEED_BYTES = 64 * 1024 * 1024
#: Most records (selectors) and prefix entries (summed over records) a release may hold: about
#: six and five times the real counts of the largest feed (Nov 2025 Azure Public: ~3,100 tags,
#: ~96,000 prefix entries). Bytes alone do not bound the cost: 63 MB of tags, 7.9 MB gzipped,
#: took 2.3 GB and 30 s to read.
MAX_TAGS = 20_000
MAX_PREFIXES = 500_000
#: Most JSON values a document may hold, counted in the text before it is decoded (every value
#: after the first of a container follows a comma; each container opens with a bracket): the
#: prefixes, plus a generous 32 values (fields, features) per record. Azure Public holds
#: ~131,000.
MAX_JSON_VALUES = MAX_PREFIXES + 32 * MAX_TAGS

#: The feed of ``service_tags``, of a run that names none, and whose records a selection
#: names bare (Azure's service tags).
DEFAULT_FEED = "azure"

_GZIP_MAGIC = b"\x1f\x8b"
_XZ_MAGIC = b"\xfd7zXZ\x00"
_BOM = b"\xef\xbb\xbf"


class ServiceTag(NamedTuple):
    """One selector of a release (an Azure service tag, an AWS service in a region, a GitHub
    key, ...) with its prefixes, normalised (host bits cleared).

    Named tuples, not dataclasses: importing ``dataclasses`` costs every command ~6 ms.
    """

    name: str
    region: str  # "" for cloud-wide tags
    system_service: str
    change_number: int | str  # str for the Discovery API and for content versions
    address_prefixes: list[str]
    region_id: int | None = None
    network_features: list[str] | None = None
    state: str | None = None


class Release:
    """A whole release of one feed, records keyed by exact selector name in document order.

    ``mark`` is how a target records the release it holds (``series-number``, or the bare
    number for the Azure file's series): only marks of one series compare, by their number.
    """

    __slots__ = (
        "_by_lower",
        "change_number",
        "cloud",
        "digest",
        "feed",
        "kind",
        "mark",
        "memo",
        "origin",
        "resolve",
        "tags",
        "verdict",
    )

    def __init__(
        self,
        cloud: str,
        change_number: int | str,
        origin: str,
        kind: str,
        tags: Mapping[str, ServiceTag],
        verdict: str | None = None,
        *,
        mark: str,
        feed: str = DEFAULT_FEED,
        digest: str | None = None,
        resolve: Callable[[str], ServiceTag | None] | None = None,
    ) -> None:
        self.cloud = cloud  # the Azure cloud, or the feed's instance (a label)
        self.change_number = change_number
        self.origin = origin
        self.kind = kind
        self.tags = tags
        #: The content key of a release whose prefixes all passed the check as they are;
        #: ``None`` when some needed rewriting, or where the feed keeps none. A later parse of
        #: the same content given this key in ``trusted`` skips the check.
        self.verdict = verdict
        self.mark = mark
        self.feed = feed
        #: SHA-256 of the document as read, where the feed's mark is a fetch time.
        self.digest = digest
        #: Selectors of a form too open to list (a Microsoft 365 port filter): the record a
        #: name not among :attr:`tags` stands for, or None.
        self.resolve = resolve
        self._by_lower: dict[str, list[str]] | None = None
        #: What a run derives from one record once and shares between targets (its
        #: aggregated prefixes), by record name.
        self.memo: dict[str, Any] = {}

    def __repr__(self) -> str:
        return (
            f"Release({self.feed} {self.cloud} {self.mark}, {self.kind} from {self.origin}, "
            f"{len(self.tags)} tags)"
        )

    def find(self, name: str) -> ServiceTag:
        """The record of that name, exact case first, else any case; else a "did you mean"."""
        tag = self.tags.get(name)
        if tag is not None:
            return tag
        if self._by_lower is None:
            self._by_lower = {}
            for exact in self.tags:
                self._by_lower.setdefault(exact.lower(), []).append(exact)
        matches = self._by_lower.get(name.lower(), [])
        if len(matches) == 1:
            return self.tags[matches[0]]
        resolved = self.resolve(name) if self.resolve is not None and not matches else None
        if resolved is not None:
            return resolved
        noun = "service tag" if self.feed == "azure" else f"{self.feed} selector"
        if matches:
            raise FeedError(f"{noun} {name!r} is ambiguous: {', '.join(matches)}")
        import difflib  # only a miss needs it

        close = difflib.get_close_matches(name.lower(), self._by_lower, n=3, cutoff=0.6)
        hint = ""
        if close:
            hint = "; did you mean " + " or ".join(self._by_lower[c][0] for c in close) + "?"
        release = f"the {self.cloud} release {self.change_number}"
        if self.feed != "azure":
            release = f"release {self.mark}"
        raise FeedError(f"{noun} {name!r} is not in {release} ({self.origin}){hint}")


def mark_of(series: str, number: int) -> str:
    """A release mark as targets record it: ``series-number``, the bare number when the
    series has no name (the Azure file's, recorded so before other series existed)."""
    return f"{series}-{number}" if series else str(number)


def content_version(prefixes: list[str]) -> str:
    """A record's version where the feed publishes none: 12 hex digits of its prefixes' hash,
    so a record whose prefixes did not change keeps it from one release to the next."""
    import hashlib  # not on the path of a release read as kept (OpenSSL's start: 4 ms)

    return hashlib.sha256("\n".join(sorted(prefixes)).encode()).hexdigest()[:12]


class Bounds(NamedTuple):
    """Where a release came from and what its prefixes must satisfy."""

    origin: str
    min_prefixlen_v4: int
    min_prefixlen_v6: int
    #: What a record is called in messages: ``tag`` (Azure), ``aws selector``, ...
    noun: str = "tag"
    verdict: str | None = None  # the content key, where the feed keeps verdicts
    trusted: Container[str] = ()
    #: Prefixes that passed the same check as they were (what the changed records held in
    #: the release before): only the others are checked; a changed record keeps most of its.
    checked: Collection[str] = ()

    def minimum(self, version: int) -> int:
        return self.min_prefixlen_v4 if version == 4 else self.min_prefixlen_v6


def decompress(data: bytes, origin: str) -> bytes:
    """Undo gzip/xz (detected by magic bytes), bounded so a small hostile file cannot fill
    memory; anything else comes back as it is, refused beyond :data:`MAX_FEED_BYTES`."""
    import lzma  # a release read as kept needs no decompressing, nor these imports (2 ms)
    import zlib

    factory: Callable[[], _Decompressor]
    if data.startswith(_GZIP_MAGIC):
        factory, kind = (lambda: zlib.decompressobj(wbits=31)), "gzip"
    elif data.startswith(_XZ_MAGIC):
        factory, kind = lzma.LZMADecompressor, "xz"
    else:
        if len(data) > MAX_FEED_BYTES:
            raise FeedError(f"{origin}: larger than {MAX_FEED_BYTES >> 20} MiB; refusing")
        return data
    chunks: list[bytes] = []
    total, pending = 0, data
    try:
        while pending:  # gzip members may be concatenated
            decompressor = factory()
            chunk = decompressor.decompress(pending, MAX_FEED_BYTES + 1 - total)
            total += len(chunk)
            chunks.append(chunk)
            if total > MAX_FEED_BYTES:
                raise FeedError(
                    f"{origin}: decompresses to more than {MAX_FEED_BYTES >> 20} MiB; refusing"
                )
            if not decompressor.eof:
                raise FeedError(f"{origin}: truncated: the {kind} data ends early")
            pending = decompressor.unused_data
    except (zlib.error, lzma.LZMAError) as exc:
        raise FeedError(f"{origin}: corrupt {kind} data ({exc})") from None
    return b"".join(chunks)


def head(text: bytes) -> str:
    """The document's first characters, lower-cased, in UTF-8 or UTF-16/32 (by BOM or zero
    bytes). Decoded before looking, so that XML or HTML in UTF-16 is recognised as such."""
    import json

    sample = text[:256]
    return sample.decode(json.detect_encoding(sample), errors="ignore").lstrip()[:64].lower()


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cycle collector waits while a release is decoded and checked: that makes some
    200,000 objects and no cycle, and the collector's passes over them cost about a third of
    ``json.loads`` (measured: ``bench.feed_speed``). It is switched back on as it was."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def screen_json(text: bytes, origin: str, what: str) -> None:
    """Refuse, before decoding, a page where JSON was expected, and a document of far more
    values than any release holds (:data:`MAX_JSON_VALUES`)."""
    if head(text).startswith(("<!doctype html", "<html")):
        raise FeedError(f"{origin}: looks like an HTML page, not {what}")
    values = len(text) - len(text.translate(None, b",[{"))  # one pass: counting is three
    if values > MAX_JSON_VALUES:
        raise FeedError(
            f"{origin}: about {values:,} JSON values, more than a release of {MAX_TAGS:,} tags "
            f"and {MAX_PREFIXES:,} prefixes holds; refusing"
        )


def decode_json(text: bytes, origin: str, what: str) -> Any:
    """Decode a (decompressed) JSON document, bounded in values and nesting
    (:func:`screen_json`); one line naming ``origin`` and ``what`` the document should have
    been when it is not."""
    import json

    screen_json(text, origin, what)
    try:
        return json.loads(text.removeprefix(_BOM))
    except UnicodeDecodeError:
        raise FeedError(f"{origin}: not JSON (not UTF-8 text)") from None
    except RecursionError:
        raise FeedError(f"{origin}: not {what} (JSON nested too deeply)") from None
    except json.JSONDecodeError as exc:
        if exc.pos >= len(exc.doc.rstrip()) or exc.msg.startswith("Unterminated string"):
            raise FeedError(f"{origin}: truncated: the JSON ends early ({exc})") from None
        raise FeedError(f"{origin}: not JSON ({exc})") from None


#: Compiled by ``re`` when first used: most commands never read a mark of digits.
_DIGITS = r"[0-9]{1,20}"


def digits(value: Any, field: str, origin: str, form: str = "a string of digits") -> int:
    """A release mark published as a string of digits (AWS's ``syncToken``, the Discovery
    API's ``changeNumber``, ...), read strictly: anything else is refused with its value named,
    so that it can never pass as a mark a rollback check cannot compare."""
    if isinstance(value, str) and re.fullmatch(_DIGITS, value):
        return int(value)
    raise FeedError(
        f"{origin}: field {field!r}: {value!r} is not {form}; refusing the release "
        "(its release mark must be exact)"
    )


def check_bounds(origin: str, *, tags: int = 0, prefixes: int = 0) -> None:
    """Refuse a release far larger than real ones (:data:`MAX_TAGS`, :data:`MAX_PREFIXES`)."""
    if tags > MAX_TAGS:
        raise FeedError(f"{origin}: more than {MAX_TAGS:,} tags ({tags:,}); refusing")
    if prefixes > MAX_PREFIXES:
        raise FeedError(
            f"{origin}: more than {MAX_PREFIXES:,} prefix entries ({prefixes:,}); refusing"
        )


class Checked(NamedTuple):
    """A release's records after the release-wide checks."""

    by_name: dict[str, ServiceTag]
    #: The content key to keep, or None (prefixes were rewritten, or the feed keeps none).
    verdict: str | None


def check_unique(names: list[str], origin: str, noun: str) -> None:
    """Refuse a release naming a record twice: which of the two a target meant is unknown."""
    if len(set(names)) != len(names):
        twice = Counter(names).most_common(1)[0][0]
        raise FeedError(f"{origin}: {noun} {twice!r} appears twice")


def checked_records(records: list[ServiceTag], bounds: Bounds) -> Checked:
    """The records by name once every release-wide check passed, and the verdict to keep.

    Bounds, names given once, and every prefix (valid, no broader than the minimum, public);
    the first fault in document order is named with its record.
    """
    check_bounds(bounds.origin, prefixes=sum(len(tag.address_prefixes) for tag in records))
    by_name = {tag.name: tag for tag in records}
    if len(by_name) != len(records):
        check_unique([tag.name for tag in records], bounds.origin, bounds.noun)
    if bounds.verdict is not None and bounds.verdict in bounds.trusted:
        return Checked(by_name, bounds.verdict)
    if not _normalise_prefixes(records, bounds):
        return Checked(by_name, None)  # rewritten: the same content needs the rewrite again
    return Checked(by_name, bounds.verdict)


def _normalise_prefixes(tags: list[ServiceTag], bounds: Bounds) -> bool:
    """Check every distinct prefix once; rewrite only the records holding non-canonical ones.

    True when every one was fine as it is; False when some were rewritten.
    """
    held = bounds.checked
    if held:  # most are held: one pass, no set of them all
        held = held if isinstance(held, set | frozenset) else set(held)
        fresh = {p for tag in tags for p in tag.address_prefixes if p not in held}
    else:
        fresh = set().union(*(tag.address_prefixes for tag in tags))
    v4_min, v6_min = bounds.min_prefixlen_v4, bounds.min_prefixlen_v6
    if not fresh or all_canonical(
        fresh, min_prefixlen_v4=v4_min, min_prefixlen_v6=v6_min, public=True
    ):
        return True
    distinct = set().union(*(tag.address_prefixes for tag in tags))
    try:  # one is odd (a rewrite is due) or refused: which, and why
        parsed = {raw: parse_prefix(raw) for raw in distinct}
    except ValueError:
        _raise_first_bad(tags, bounds)
    if any(p.prefixlen < bounds.minimum(p.version) for p in parsed.values()):
        _raise_first_bad(tags, bounds)
    if overlaps_reserved([p.text for p in parsed.values()]):
        _raise_first_bad(tags, bounds)
    renamed = {raw: p for raw, p in parsed.items() if p.text != raw}
    for tag in tags:
        prefixes = tag.address_prefixes
        if renamed.keys().isdisjoint(prefixes):
            continue
        for raw in dict.fromkeys(p for p in prefixes if p in renamed and renamed[p].host_bits):
            log.warning(
                "%s: %s %r: prefix %s has host bits set; using %s",
                bounds.origin,
                bounds.noun,
                tag.name,
                raw,
                renamed[raw].text,
            )
        # In place: the list is the decoded document's own, nobody else's.
        prefixes[:] = [renamed[p].text if p in renamed else p for p in prefixes]
    return False


def _raise_first_bad(tags: list[ServiceTag], bounds: Bounds) -> NoReturn:
    """Name the first bad prefix in document order, and its record."""
    origin, noun = bounds.origin, bounds.noun
    for tag in tags:
        for raw in tag.address_prefixes:
            try:
                parsed = parse_prefix(raw)
            except ValueError as exc:
                raise FeedError(
                    f"{origin}: {noun} {tag.name!r}: malformed prefix {raw!r}: {exc}"
                ) from None
            minimum = bounds.minimum(parsed.version)
            if parsed.prefixlen < minimum:
                raise FeedError(
                    f"{origin}: {noun} {tag.name!r}: prefix {raw} is broader than "
                    f"/{minimum} (IPSYNC_MIN_PREFIXLEN_V{parsed.version}); refusing the release"
                )
            reserved = reserved_block(parsed.text)
            if reserved is not None:
                block, what = reserved
                raise FeedError(
                    f"{origin}: {noun} {tag.name!r}: prefix {raw} overlaps reserved {block} "
                    f"({what}): only public addresses are accepted; refusing the release"
                )
    raise FeedError(f"{origin}: a prefix failed validation")


#: Longest line a plain list may hold (a CIDR is at most 43 characters).
MAX_LINE_CHARS = 200


def lines_of(text: bytes, origin: str) -> list[str]:
    """The prefixes of a plain list: one CIDR or address per line, ``#`` comments and blank
    lines ignored; a line holding anything else is refused with its number."""
    try:
        decoded = text.removeprefix(_BOM).decode("utf-8")
    except UnicodeDecodeError:
        raise FeedError(f"{origin}: not a list of prefixes (not UTF-8 text)") from None
    if head(text).startswith(("<!doctype html", "<html", "{", "[")):
        raise FeedError(f"{origin}: looks like a page or JSON, not a list of prefixes")
    prefixes: list[str] = []
    for number, line in enumerate(decoded.splitlines(), 1):
        item = line.split("#", 1)[0].strip()
        if not item:
            continue
        if len(item) > MAX_LINE_CHARS or " " in item or "\t" in item:
            shown = item[:60] + ("..." if len(item) > 60 else "")
            raise FeedError(f"{origin}: line {number}: {shown!r} is not one prefix or address")
        prefixes.append(item)
        check_bounds(origin, prefixes=len(prefixes))
    return prefixes
