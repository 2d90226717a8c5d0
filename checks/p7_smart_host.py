"""P7: the POP3 server's SMTP service sends through Exchange, which lets it relay."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.families.iis_relaylist import RelayMode
from auditor.model import Snapshot
from auditor.registry import Finding, Severity, SkipCheck, check

from ._support import (
    exchange_relay,
    require_configuration,
    require_pop3_servers,
    servers_with_file,
)

ALWAYS_USE_SMART_HOST = 2


@check(
    "COEX-701",
    title="Each POP3 server's SMTP service always sends through an Exchange smart host",
    severity=Severity.HIGH,
    principles=("P7",),
    remediation="Set the POP3 server's SMTP smart host to an Exchange server and clear 'Attempt direct delivery before sending to smart host'.",
)
def pop3_smart_host_is_exchange(snap: Snapshot) -> Iterator[Finding]:
    """P7 sends the POP3 server's outgoing mail through Exchange. Without that smart host, or with
    'attempt direct delivery first', the POP3 server delivers by DNS itself: it bypasses Exchange,
    and mail for the shared domain may go to the MX and loop."""
    require_configuration(snap)
    if not snap.exchange_servers:
        raise SkipCheck("no Exchange server in the Configuration partition")
    for server in servers_with_file(snap, "MetaBase.xml"):
        problems = []
        host = server.smart_host
        exchange = snap.exchange_server_for_host(host) if host else None
        if not host:
            problems.append("SmartHost is not set")
        elif exchange is None:
            problems.append(f"SmartHost {host} designates no Exchange server")
        if server.smart_host_type != ALWAYS_USE_SMART_HOST:
            shown = "not set" if server.smart_host_type is None else str(server.smart_host_type)
            problems.append(f"SmartHostType is {shown}, not 2 (always use the smart host)")
        if problems:
            yield Finding.failed(server.name, "; ".join(problems))
        else:
            assert exchange is not None
            yield Finding.passed(
                server.name, f"SmartHost {host} = Exchange server {exchange.name}, SmartHostType 2"
            )


@check(
    "COEX-702",
    title="Every POP3 server address is granted relay on an Exchange SMTP virtual server",
    severity=Severity.HIGH,
    principles=("P7",),
    remediation="Add each IP address of the POP3 server to the relay list ('Only the list below') of an Exchange SMTP virtual server.",
)
def pop3_server_may_relay_on_exchange(snap: Snapshot) -> Iterator[Finding]:
    """P7: the POP3 server hands all outgoing mail to Exchange; unless Exchange grants its addresses
    relay, mail from POP3 users to the outside is refused (550 5.7.1 unable to relay)."""
    require_pop3_servers(snap)
    require_configuration(snap)
    if not snap.smtp_virtual_servers:
        raise SkipCheck("no Exchange SMTP virtual server in the Configuration partition")
    verdicts = [(vs, exchange_relay(vs)) for vs in snap.smtp_virtual_servers]
    undecodable = [vs.dn for vs, v in verdicts if v.undecodable]
    for server in snap.pop3_servers:
        if not server.addresses:
            yield Finding.error(
                server.name, "no IP address configured for this POP3 server: cannot verify its relay grant"
            )
            continue
        missing: list[str] = []
        granted: list[str] = []
        for address in server.addresses:
            by = [
                vs.server_name or vs.dn
                for vs, v in verdicts
                if v.decoded is not None
                and v.decoded.mode is RelayMode.ONLY_LIST
                and v.decoded.grants_address(address)
            ]
            (granted if by else missing).append(
                f"{address} (by {', '.join(sorted(set(by)))})" if by else address
            )
        if not missing:
            yield Finding.passed(server.name, "relay granted: " + ", ".join(granted))
        elif undecodable:
            yield Finding.error(
                server.name,
                f"{', '.join(missing)} not granted by any decodable relay list; review by hand: {'; '.join(undecodable)}",
            )
        else:
            yield Finding.failed(
                server.name, f"{', '.join(missing)} not granted relay on any Exchange SMTP virtual server"
            )
