"""What several checks share: the relay-list verdicts, the POP3-mailbox-to-user match, data guards.

Kept out of the check modules so that one rule (an open relay, a mail-enabled POP3 user) has one
definition, whichever check applies it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from auditor.families.iis_relaylist import RelayList, RelayListDecodeError, RelayMode, decode_relay_list
from auditor.model import Pop3Mailbox, Pop3Server, Recipient, SmtpVirtualServer, Snapshot
from auditor.registry import SkipCheck

WIDEST_RELAY_PREFIX = 16


def require_configuration(snap: Snapshot) -> None:
    if not snap.has_configuration:
        raise SkipCheck("the Configuration partition (Exchange configuration) was not collected")


def require_domain(snap: Snapshot) -> None:
    if not snap.has_domain_partition:
        raise SkipCheck("the domain partition (users and contacts) was not collected")


def require_pop3_servers(snap: Snapshot) -> None:
    if not snap.pop3_servers:
        raise SkipCheck("no POP3 server is configured")


def servers_with_file(snap: Snapshot, file_name: str) -> list[Pop3Server]:
    """POP3 servers whose export holds `file_name`; skip the check when none does."""
    require_pop3_servers(snap)
    found = [s for s in snap.pop3_servers if snap.has_pop3_file(s.name, file_name)]
    if not found:
        raise SkipCheck(f"no POP3 server export holds {file_name}")
    return found


@dataclass(frozen=True, slots=True)
class RelayVerdict:
    """`decoded` is None when the list could not be decoded; `open_reason` is None when not open."""

    decoded: RelayList | None
    open_reason: str | None
    problem: str | None = None

    @property
    def undecodable(self) -> bool:
        return self.decoded is None and self.problem is not None


def judge_relay_list(relay: RelayList) -> str | None:
    """Why a decoded relay list makes an open relay, or None (checks.md COEX-901)."""
    if relay.mode is RelayMode.ALL_EXCEPT:
        return f"relay list is in 'all except the list below' mode ({relay.describe()})"
    widest = relay.widest_grant()
    if widest is not None and widest.prefixlen < WIDEST_RELAY_PREFIX:
        return f"relay list grants {widest}, wider than /{WIDEST_RELAY_PREFIX} ({relay.describe()})"
    return None


def _decode(blob: bytes | None, what: str) -> RelayVerdict:
    try:
        relay = decode_relay_list(blob or b"")
    except RelayListDecodeError as exc:
        return RelayVerdict(None, None, f"{what} cannot be decoded ({exc}); review it by hand")
    return RelayVerdict(relay, judge_relay_list(relay))


def exchange_relay(vs: SmtpVirtualServer) -> RelayVerdict:
    """Exchange: no `msExchSmtpRelayIpList` is Exchange's default, only the list below, nobody."""
    if not vs.relay_ip_list_present:
        nobody = RelayList(mode=RelayMode.ONLY_LIST, grants=(ipaddress.IPv4Network("0.0.0.0/32"),), denies=())
        return RelayVerdict(nobody, None)
    if vs.relay_ip_list is None:
        return RelayVerdict(None, None, "msExchSmtpRelayIpList is not valid base64; review it by hand")
    return _decode(vs.relay_ip_list, "msExchSmtpRelayIpList")


def pop3_relay(server: Pop3Server) -> RelayVerdict:
    """IIS: no `RelayIpList` on the server nor inherited, or an empty one, relays for every client."""
    if not server.relay_ip_list_present or not server.relay_ip_list:
        if server.relay_ip_list_present and server.relay_ip_list is None:
            return RelayVerdict(None, None, "RelayIpList is not valid hex/base64; review it by hand")
        where = "empty" if server.relay_ip_list_present else "not set on /LM/SMTPSVC/1 nor inherited"
        relay = RelayList(mode=RelayMode.ALL_EXCEPT, grants=(), denies=())
        return RelayVerdict(relay, f"RelayIpList is {where}: IIS relays for every client")
    return _decode(server.relay_ip_list, "RelayIpList")


# -- POP3 mailboxes and their AD users ------------------------------------------------------------


def mail_enabled_user_problem(recipient: Recipient, address: str) -> str | None:
    """Why `recipient` is not the mail-enabled user of POP3 mailbox `address` (COEX-401), or None."""
    kind = "contact" if recipient.is_contact else "user"
    target = recipient.target_address
    if recipient.is_contact:
        return f"{recipient.dn} is a contact, not a user"
    if not recipient.mail_nickname:
        return f"{kind} {recipient.dn} has no mailNickname (not mail-enabled)"
    if recipient.home_mdb or recipient.home_server_name:
        return f"{kind} {recipient.dn} has an Exchange mailbox (homeMDB / msExchHomeServerName)"
    if target is None or not target.is_smtp or target.lower != address.lower():
        return f"{kind} {recipient.dn} has targetAddress {target or 'none'}, not SMTP:{address}"
    return None


def mail_enabled_user_for(snap: Snapshot, mailbox: Pop3Mailbox) -> tuple[Recipient | None, list[str]]:
    """The mail-enabled AD user of a POP3 mailbox (COEX-401's rule), and why each candidate is not."""
    address = mailbox.address
    by_target = snap.recipients_by_target_address.get(address, ())
    for recipient in by_target:  # the usual case: the user whose targetAddress is the mailbox
        if mail_enabled_user_problem(recipient, address) is None:
            return recipient, []
    candidates: dict[str, Recipient] = {r.key: r for r in by_target}
    for recipient in snap.users_by_sam_account_name.get(mailbox.mailbox.lower(), ()):
        candidates.setdefault(recipient.key, recipient)
    for recipient in snap.recipients_by_upn.get(address, ()):
        candidates.setdefault(recipient.key, recipient)
    problems: list[str] = []
    for recipient in sorted(candidates.values(), key=lambda r: r.dn.lower()):
        problem = mail_enabled_user_problem(recipient, address)
        if problem is None:
            return recipient, []
        problems.append(problem)
    return None, problems
