"""The fast, streaming LDIF reading accepts, refuses and reads exactly what the line-by-line one did.

The oracle is the grammar as it was before (`ldif_reference.py`). Exports are generated from
pieces that exercise every rule: names valid and not, base64 valid, cut and not UTF-8, URL values,
comments with continuations, folding anywhere, `version:` lines, `changetype:` and `control:`
lines, runs of blank lines, CRLF and CR CR LF, a last line without its line break. Then the same
files are streamed from disk in chunks of a few bytes, so that chunk boundaries fall inside
lines, inside CR LF pairs and inside multi-byte characters.
"""

from __future__ import annotations

import base64
import codecs
import os
from collections.abc import Iterator
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.collect.ldif import LdifEntry, SharedText, parse_ldif, read_ldif
from auditor.errors import InputFormatError

from .ldif_reference import parse_ldif as reference_parse_ldif

PATH = Path("export.ldf")
BINARY = frozenset({"objectguid", "logonhours", "msexchmailboxguid"})
WANTED = frozenset({"objectclass", "cn", "mail", "proxyaddresses", "objectguid", "displayname", "version"})

Outcome = tuple[list[tuple[str, int, dict[str, list[object]]]], tuple[str, str] | None]

NAMES = st.sampled_from(
    [
        "objectClass",
        "objectclass",
        "cn",
        "mail",
        "proxyAddresses",
        "displayName",
        "logonHours",
        "thumbnailPhoto",
        "objectGUID",
        "msExchMailboxGuid",
        "1.2.840.113556.1.4.2",
        "cn;range=0-1",
        "mail;binary",
        "version",
        "changetype",
        "control",
        "dn",
        "DN",
        "bad name",
        "9bad",
        "x_y",
        "",
    ]
)
TEXTS = st.one_of(
    st.sampled_from(
        ["CN=A,DC=contoso,DC=com", "top", "user", "add", "ADD ", " modify", "1", "2", "<x", ":x", ""]
    ),
    st.text(alphabet="ab c:<§é\t\r", max_size=12),
)


@st.composite
def base64_values(draw: st.DrawFn) -> str:
    data = draw(st.one_of(st.binary(max_size=20), TEXTS.map(lambda text: text.encode("utf-8"))))
    encoded = base64.b64encode(data).decode("ascii")
    damage = draw(st.sampled_from(["none", "none", "none", "cut", "junk", "blanks"]))
    if damage == "cut" and encoded:
        encoded = encoded[:-1]
    elif damage == "junk":
        encoded = encoded[:2] + "*" + encoded[2:]
    elif damage == "blanks":
        encoded = f"  {encoded} "
    return encoded


@st.composite
def value_lines(draw: st.DrawFn) -> str:
    name = draw(NAMES)
    form = draw(st.sampled_from([": ", ":", ":: ", "::", ":< ", " "]))
    value = draw(base64_values()) if form.startswith("::") else draw(TEXTS)
    return f"{name}{form}{value}"


@st.composite
def records(draw: st.DrawFn) -> list[str]:
    lines: list[str] = []
    if draw(st.integers(0, 5)) == 0:
        lines.append(draw(st.sampled_from(["version: 1", "version: 2", "version:: MQ=="])))
    if draw(st.integers(0, 8)):
        lines.append(
            draw(st.sampled_from(["dn: CN=A,DC=contoso,DC=com", "DN:CN=B", "dn:: Q049Qw==", "dn: "]))
        )
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.integers(0, 20))
        if kind == 0:
            lines.append("# comment")
        elif kind == 1:
            lines.append(draw(st.sampled_from(["changetype: add", "changetype: modify", "control: 1.2.3"])))
        else:
            lines.append(draw(value_lines()))
    folded: list[str] = []
    for line in lines:
        cuts = sorted(draw(st.lists(st.integers(1, max(1, len(line) - 1)), max_size=2)))
        pieces = [line[a:b] for a, b in zip([0, *cuts], [*cuts, len(line)], strict=True)]
        folded.append(pieces[0])
        folded += [" " + piece for piece in pieces[1:]]
    if draw(st.integers(0, 10)) == 0:
        folded.insert(draw(st.integers(0, len(folded))), " stray continuation")
    return folded


@st.composite
def exports(draw: st.DrawFn) -> str:
    lines: list[str] = []
    for record in draw(st.lists(records(), max_size=4)):
        lines += record
        lines += [""] * draw(st.integers(1, 3))
    end = draw(st.sampled_from(["\n", "\r\n", "\r\r\n"]))
    text = end.join(lines)
    if draw(st.integers(0, 6)):
        text += end
    return text


def outcome(entries: Iterator[LdifEntry]) -> Outcome:
    seen = []
    try:
        for entry in entries:
            seen.append(
                (entry.dn, entry.line, {name: list(values) for name, values in entry.attributes.items()})
            )
    except InputFormatError as exc:
        return seen, (exc.location, exc.problem)
    return seen, None


@settings(
    max_examples=int(os.environ.get("LDIF_EXAMPLES", "600")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(text=exports(), wanted=st.sampled_from([None, WANTED]))
def test_fast_reading_equals_the_line_by_line_reading(text: str, wanted: frozenset[str] | None) -> None:
    expected = outcome(reference_parse_ldif(PATH, text, binary=BINARY, wanted=wanted))
    assert outcome(parse_ldif(PATH, text, binary=BINARY, wanted=wanted)) == expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=exports(),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
    chunk=st.integers(1, 7),
)
def test_streaming_from_disk_in_small_chunks_reads_the_same(
    tmp_path_factory: object, text: str, encoding: str, chunk: int
) -> None:
    folder = tmp_path_factory.mktemp("ldif")  # type: ignore[attr-defined]
    path = folder / "export.ldf"
    path.write_bytes(text.encode(encoding))
    expected = outcome(reference_parse_ldif(path, text, binary=BINARY, wanted=WANTED))
    assert outcome(read_ldif(path, binary=BINARY, wanted=WANTED, chunk_bytes=chunk)) == expected


def test_a_character_split_between_chunks_is_decoded_whole(tmp_path: Path) -> None:
    path = tmp_path / "export.ldf"
    text = "dn: CN=Zoë Müller,DC=contoso,DC=com\r\nobjectClass: user\r\ncn: Zoë\r\n\r\n"
    for encoding, bom in (("utf-8", b""), ("utf-16-le", codecs.BOM_UTF16_LE)):
        path.write_bytes(bom + text.encode(encoding))
        [entry] = read_ldif(path, chunk_bytes=3)
        assert (entry.dn, entry.attributes["cn"]) == ("CN=Zoë Müller,DC=contoso,DC=com", ["Zoë"])


def test_an_undecodable_byte_far_into_a_streamed_file_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "export.ldf"
    record = "dn: CN=A,DC=contoso,DC=com\r\nobjectClass: user\r\ncn: A\r\n\r\n"
    path.write_bytes(record.encode() * 200 + b"dn: CN=B,DC=contoso,DC=com\r\ncn: caf\xe9\r\n")
    seen, error = outcome(read_ldif(path, chunk_bytes=5))
    assert [dn for dn, _, _ in seen] == ["CN=A,DC=contoso,DC=com"] * 200
    assert error is not None
    assert error[0] == f"{path}:802"
    assert "not valid UTF-8" in error[1]


def test_a_value_many_entries_repeat_is_one_object_in_memory(tmp_path: Path) -> None:
    store_dn = "CN=Mailbox Store (EX01),CN=First Storage Group,CN=InformationStore,CN=EX01,DC=contoso,DC=com"
    path = tmp_path / "export.ldf"
    path.write_text(
        "".join(
            f"dn: CN=u{i},DC=contoso,DC=com\nobjectClass: user\nmail: u{i}@contoso.com\nhomeMDB: {store_dn}\n\n"
            for i in range(50)
        ),
        encoding="utf-8",
    )
    entries = list(read_ldif(path))
    stores = [entry.attributes["homeMDB"][0] for entry in entries]
    assert all(value == store_dn for value in stores)
    assert len({id(value) for value in stores}) == 1
    assert len({id(entry.attributes["mail"][0]) for entry in entries}) == 50


def test_shared_text_stays_within_its_bounds() -> None:
    shared = SharedText(limit=2, window=3)
    first = "".join(["CN=", "A"])
    again = "".join(["CN=", "A"])
    assert shared(first) is first and shared(again) is first  # seen twice: kept
    for n in range(10):  # values seen once only churn through the window
        shared(f"unique-{n}")
    assert len(shared.seen) <= 3 and len(shared.kept) <= 2
    assert shared("".join(["CN=", "A"])) is first
    assert shared(b"bytes") == b"bytes"
