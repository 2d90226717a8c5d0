"""LdifSource: ldifde exports of both partitions become the same records, whatever the encoding."""

from __future__ import annotations

import base64
import codecs
from pathlib import Path

import pytest

from auditor.errors import InputFormatError
from auditor.families.exchange.ldif import LdifSource
from auditor.model import Snapshot
from auditor.records import ObjectKind, ObjectRecord
from auditor.registry import Status, discover_checks

DATA = Path(__file__).parent / "data"
DOMAIN = DATA / "domain.ldf"
CONFIGURATION = DATA / "configuration.ldf"
VS_RELAY_LIST = "GAAAgCAAAIA8AACARAAAgAEAAABMAAAAAAAAAAAAAAABAAAAAQAAAAIAAAACAAAABAAAAAAAAABMAACAAAAAAAAAAAAAAAAAAAAAAP////8KAAAZ"
HOME_MDB = (
    "CN=Mailbox Store (EX01),CN=First Storage Group,CN=InformationStore,CN=EX01,CN=Servers,"
    "CN=First Administrative Group,CN=Administrative Groups,CN=Contoso,CN=Microsoft Exchange,"
    "CN=Services,CN=Configuration,DC=contoso,DC=com"
)
MINIMAL = "dn: CN=X,DC=contoso,DC=com\nobjectClass: user\ncn: X\n"


def guid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def collect(*paths: Path) -> tuple[LdifSource, dict[str, ObjectRecord]]:
    source = LdifSource(list(paths))
    records = {record.key: record for record in source.collect()}
    return source, records


def write(tmp_path: Path, text: str, name: str = "export.ldf", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def error_of(*paths: Path) -> InputFormatError:
    with pytest.raises(InputFormatError) as caught:
        list(LdifSource(list(paths)).collect())
    return caught.value


def test_every_directory_kind_is_read_and_unkept_objects_are_skipped() -> None:
    _, records = collect(DOMAIN, CONFIGURATION)
    assert {key: record.kind for key, record in records.items()} == {
        guid(1): ObjectKind.USER,
        guid(2): ObjectKind.USER,
        guid(3): ObjectKind.CONTACT,
        guid(11): ObjectKind.RECIPIENT_POLICY,
        guid(12): ObjectKind.ACCEPTED_DOMAIN,
        guid(13): ObjectKind.SMTP_CONNECTOR,
        guid(14): ObjectKind.SMTP_VIRTUAL_SERVER,
        guid(15): ObjectKind.EXCHANGE_SERVER,
        guid(16): ObjectKind.MAILBOX_STORE,
    }


def test_user_keeps_collected_attributes_with_folded_lines_and_base64_values() -> None:
    _, records = collect(DOMAIN)
    alice = records[guid(1)]
    assert alice.dn == "CN=Alice Adams,OU=Staff,DC=contoso,DC=com"
    assert dict(alice.attributes) == {
        "objectClass": ("top", "person", "organizationalPerson", "user"),
        "cn": ("Alice Adams",),
        "displayName": ("Alice Adams",),
        "sAMAccountName": ("alice",),
        "userPrincipalName": ("alice@contoso.com",),
        "userAccountControl": ("512",),
        "mailNickname": ("alice",),
        "mail": ("alice@contoso.com",),
        "proxyAddresses": ("SMTP:alice@contoso.com", "smtp:a.adams@contoso.com"),
        "homeMDB": (HOME_MDB,),
        "msExchMailboxGuid": ("K2oOfEFdPk+aGyw9Tl9qew==",),
        "protocolSettings": ("HTTP§1§1§§§§§§",),
    }


def test_attribute_names_in_any_case_merge_and_booleans_are_upper_case() -> None:
    _, records = collect(DOMAIN)
    bob = records[guid(2)]
    assert bob.values("objectClass") == ("top", "user")
    assert bob.values("msExchHideFromAddressLists") == ("TRUE",)
    assert bob.values("proxyAddresses") == ("SMTP:bob@contoso.com", "smtp:bob@pop.contoso.com")


def test_virtual_server_relay_list_is_unfolded_and_kept_as_base64() -> None:
    _, records = collect(CONFIGURATION)
    vs = records[guid(14)]
    assert vs.values("msExchSmtpRelayIpList") == (VS_RELAY_LIST,)
    assert vs.values("msExchAuthenticationFlags") == ("7",)
    assert vs.values("msExchSmtpRelayForAuth") == ("TRUE",)


def test_source_info_counts_kept_objects_and_names_the_partitions_read() -> None:
    source, _ = collect(DOMAIN)
    assert (source.info.kind, source.info.complete, source.info.objects) == ("ldif", True, 3)
    assert source.info.coverage == {"domain"}
    source, _ = collect(DOMAIN, CONFIGURATION)
    assert (source.info.complete, source.info.objects) == (True, 9)
    assert source.info.coverage == {"domain", "configuration"}
    assert source.info.error is None


def test_skipped_configuration_entries_still_count_for_coverage(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "dn: CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=contoso,DC=com\n"
        "objectClass: msExchConfigurationContainer\n\n",
    )
    source, records = collect(path)
    assert records == {}
    assert source.info.coverage == {"configuration"}


@pytest.mark.parametrize(
    ("label", "transform"),
    [
        ("CRLF", lambda text: text.replace("\n", "\r\n").encode("utf-8")),
        ("CR CR LF", lambda text: text.replace("\n", "\r\r\n").encode("utf-8")),
        ("UTF-8 BOM", lambda text: codecs.BOM_UTF8 + text.encode("utf-8")),
        ("ldifde -u", lambda text: codecs.BOM_UTF16_LE + text.replace("\n", "\r\n").encode("utf-16-le")),
        ("UTF-16BE BOM", lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be")),
    ],
)
def test_line_ends_and_encodings_give_the_same_records(tmp_path: Path, label: str, transform: object) -> None:
    assert callable(transform)
    _, expected = collect(DOMAIN, CONFIGURATION)
    domain = tmp_path / "domain.ldf"
    configuration = tmp_path / "configuration.ldf"
    domain.write_bytes(transform(DOMAIN.read_text(encoding="utf-8")))
    configuration.write_bytes(transform(CONFIGURATION.read_text(encoding="utf-8")))
    _, records = collect(domain, configuration)
    assert records == expected, label


def test_records_stream_before_a_later_file_fails(tmp_path: Path) -> None:
    source = LdifSource([DOMAIN, tmp_path / "missing.ldf"])
    stream = source.collect()
    first = next(stream)
    assert first.key == guid(1)
    with pytest.raises(InputFormatError):
        list(stream)
    assert source.info.complete is False
    assert source.info.error is not None and "missing.ldf" in source.info.error


def test_relay_list_of_unknown_layout_is_kept_for_the_checks(tmp_path: Path) -> None:
    blob = bytearray(base64.b64decode(VS_RELAY_LIST))
    blob[60:64] = (1).to_bytes(4, "little")  # one deny-by-name entry: layout unknown, not cut short
    path = write(
        tmp_path,
        "dn: CN=1,CN=SMTP,CN=Protocols,CN=EX01,CN=Configuration,DC=contoso,DC=com\n"
        "objectClass: protocolCfgSMTPServer\n"
        f"msExchSmtpRelayIpList:: {base64.b64encode(bytes(blob)).decode()}\n",
    )
    _, records = collect(path)
    [record] = records.values()
    assert record.values("msExchSmtpRelayIpList") == (base64.b64encode(bytes(blob)).decode(),)


BAD_INPUTS = [
    ("truncated", MINIMAL + "mail: x@contoso.com", 4, "does not end with a line break"),
    ("record cut off", MINIMAL + "\ndn: CN=Y,DC=contoso,DC=com\n", 5, "has no attributes"),
    ("invalid base64", MINIMAL + "objectGUID:: AAAA*AAA\n", 4, "invalid base64"),
    ("no colon", MINIMAL + "this line has none\n", 4, "no 'attribute: value' form"),
    ("value before dn", "objectClass: user\n" + MINIMAL, 1, "before any 'dn:' line"),
    ("URL value", MINIMAL + "jpegPhoto:< file:///etc/passwd\n", 4, "URL values"),
    ("no objectClass", "dn: CN=X,DC=contoso,DC=com\ncn: X\n", 1, "has no objectClass"),
    ("modify", "dn: CN=X,DC=contoso,DC=com\nchangetype: modify\nreplace: cn\ncn: Y\n-\n", 2, "not an export"),
    ("delete", "dn: CN=X,DC=contoso,DC=com\nchangetype: delete\n", 2, "not an export"),
    ("continuation first", " CN=X\n" + MINIMAL, 1, "continuation line"),
    ("version 2", "version: 2\n\n" + MINIMAL, 1, "version 1"),
    ("second dn", MINIMAL + "dn: CN=Y,DC=contoso,DC=com\n", 4, "second 'dn:'"),
    ("base64 text not UTF-8", MINIMAL + "displayName:: /w==\n", 4, "not UTF-8"),
]


@pytest.mark.parametrize(("label", "text", "line", "problem"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_names_file_and_line(
    tmp_path: Path, label: str, text: str, line: int, problem: str
) -> None:
    path = write(tmp_path, text)
    error = error_of(path)
    assert error.location == f"{path}:{line}", label
    assert problem in error.problem
    assert str(error).startswith(f"{path}:{line}: ")
    assert "\n" not in str(error)


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "export.ldf"
    path.write_bytes(MINIMAL.encode() + b"displayName: caf\xe9\n")
    error = error_of(path)
    assert error.location == f"{path}:4"
    assert "UTF-8" in error.problem


def test_invalid_utf16_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "export.ldf"
    data = codecs.BOM_UTF16_LE + MINIMAL.encode("utf-16-le") + "cn: ".encode("utf-16-le") + b"\x00\xdc\n\x00"
    path.write_bytes(data)
    error = error_of(path)
    assert error.location == f"{path}:4"
    assert "UTF-16-LE" in error.problem


def test_utf16_export_cut_in_the_middle_of_a_character_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "export.ldf"
    path.write_bytes(codecs.BOM_UTF16_LE + MINIMAL.encode("utf-16-le")[:-1])
    error = error_of(path)
    assert error.location == f"{path}:3"
    assert "truncated data" in error.problem


def test_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.ldf"
    error = error_of(path)
    assert error.location == str(path)
    assert "cannot read" in error.problem


def test_empty_export_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\n\n# nothing exported\n")
    error = error_of(path)
    assert error.location == f"{path}:1"
    assert "no entries" in error.problem


def test_same_object_guid_twice_across_files_names_both(tmp_path: Path) -> None:
    copy = tmp_path / "again.ldf"
    copy.write_bytes(DOMAIN.read_bytes())
    error = error_of(DOMAIN, copy)
    assert error.location == f"{copy}:4"
    assert f"objectGUID {guid(1)} also at {DOMAIN}:4" in error.problem


def test_relay_list_cut_short_is_collected_and_judged_an_error_not_a_failed_read(tmp_path: Path) -> None:
    """One undecodable value in a valid export is for manual review (COEX-901 `error`), not exit 2."""
    short = base64.b64encode(base64.b64decode(VS_RELAY_LIST)[:-4]).decode()
    dn = "CN=1,CN=SMTP,CN=Protocols,CN=EX01,CN=Configuration,DC=contoso,DC=com"
    path = write(
        tmp_path,
        f"version: 1\n\ndn: {dn}\nobjectClass: protocolCfgSMTPServer\nmsExchSmtpRelayIpList:: {short}\n",
    )
    source = LdifSource([path])
    [record] = list(source.collect())
    assert record.values("msExchSmtpRelayIpList") == (short,)
    snap = Snapshot.from_records([record], [source.info])
    [service] = snap.exchange_smtp_services
    assert service.relay.is_unreadable
    assert service.relay.note.startswith("msExchSmtpRelayIpList cannot be decoded (")
    [finding] = list(next(s for s in discover_checks() if s.id == "COEX-901").run(snap))
    assert (finding.subject, finding.status) == (dn, Status.ERROR)


def test_same_dn_twice_without_guids_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "\n" + MINIMAL.replace("cn: X", "cn: x"))
    error = error_of(path)
    assert error.location == f"{path}:5"
    assert error.problem == f"entry CN=X,DC=contoso,DC=com also at {path}:1"


def test_utf16_without_bom_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL, encoding="utf-16-le")
    error = error_of(path)
    assert error.location == f"{path}:1"
    assert "UTF-16 without BOM" in error.problem
