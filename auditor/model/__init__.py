"""The typed model the checks read: value codecs, directory objects, transport concepts, the snapshot.

Checks are pure functions of a `Snapshot`: no LDAP, no files, no clock, no raw records. Source
families (`auditor/families/`) turn their raw records into these concepts; the checks judge the
concepts, so a new product is a new family, not a new branch in every check.

    codecs      Field (value / absent / unreadable), ProxyAddress, normalizers      (model/codecs.py)
    directory   Recipient (every mail-enabled kind), RecipientPolicy, AcceptedDomain,
                AddressSpace, SmtpConnector, ExchangeServer, MailboxStore           (model/directory.py)
    receive     ReceiveConnector (2007+), AddressRange, ListenBinding,
                PermissionVerdict                                                   (model/receive.py)
    transport   Pop3Host, SmtpService, RelayPolicy, MailboxService, MailDomain,
                Mailbox, Capability, DirectoryConnection, UnknownRecipientRule      (model/transport.py)
    snapshot    Snapshot and its indexes                                            (model/snapshot.py)
"""

from __future__ import annotations

from auditor.model.codecs import (
    Field,
    FieldState,
    ProxyAddress,
    normalize_dn,
    normalize_domain,
    normalize_host,
)
from auditor.model.directory import (
    AcceptedDomain,
    AcceptedDomainType,
    AddressSpace,
    ExchangeServer,
    MailboxStore,
    ObjectRef,
    Recipient,
    RecipientKind,
    RecipientPolicy,
    RecipientType,
    SmtpConnector,
)
from auditor.model.receive import (
    AddressRange,
    ListenBinding,
    PermissionVerdict,
    ReceiveConnector,
)
from auditor.model.snapshot import Snapshot
from auditor.model.transport import (
    AuthBackend,
    Capability,
    DirectoryConnection,
    HostDecision,
    HostRouting,
    Mailbox,
    MailboxService,
    MailDomain,
    Pop3Host,
    RelayPolicy,
    SmtpService,
    SystemRole,
    UnknownRecipientRule,
)

__all__ = [
    "AcceptedDomain",
    "AcceptedDomainType",
    "AddressRange",
    "AddressSpace",
    "AuthBackend",
    "Capability",
    "DirectoryConnection",
    "ExchangeServer",
    "Field",
    "FieldState",
    "HostDecision",
    "HostRouting",
    "ListenBinding",
    "MailDomain",
    "Mailbox",
    "MailboxService",
    "MailboxStore",
    "ObjectRef",
    "PermissionVerdict",
    "Pop3Host",
    "ProxyAddress",
    "ReceiveConnector",
    "Recipient",
    "RecipientKind",
    "RecipientPolicy",
    "RecipientType",
    "RelayPolicy",
    "SmtpConnector",
    "SmtpService",
    "Snapshot",
    "SystemRole",
    "UnknownRecipientRule",
    "normalize_dn",
    "normalize_domain",
    "normalize_host",
]
