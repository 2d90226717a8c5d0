"""Security descriptors through Samba's own code (python3-samba), for the lab and the tests.

Run with the Debian interpreter that has python3-samba (`/usr/bin/python3`), not auditor's venv:

    samba_sd.py encode DOMAIN_SID   stdin: JSON list of SDDL strings -> stdout: JSON list of base64
                                    (self-relative descriptors, packed by Samba's NDR code)
    samba_sd.py decode DOMAIN_SID   stdin: JSON list of base64 -> stdout: JSON list of
                                    {"sddl", "owner", "group", "dacl": [ACE fields] | null}

This is the independent encoder and decoder the lab uses so that auditor's descriptor decoder is
never tested against itself. Lab only; the product does not use Samba.
"""

from __future__ import annotations

import base64
import json
import sys

from samba.dcerpc import security
from samba.ndr import ndr_pack, ndr_unpack

_OBJECT_ACES = {5, 6, 7, 8, 11, 12, 15, 16}


def _ace(ace: security.ace) -> dict[str, object]:
    fields: dict[str, object] = {
        "type": int(ace.type),
        "flags": int(ace.flags),
        "mask": int(ace.access_mask),
        "sid": str(ace.trustee),
        "object_type": None,
        "inherited_object_type": None,
    }
    if ace.type in _OBJECT_ACES:
        flags = int(ace.object.flags)
        if flags & 1:
            fields["object_type"] = str(ace.object.type).lower()
        if flags & 2:
            fields["inherited_object_type"] = str(ace.object.inherited_type).lower()
    return fields


def main() -> None:
    command, domain_sid = sys.argv[1], security.dom_sid(sys.argv[2])
    items = json.load(sys.stdin)
    out: list[object] = []
    for item in items:
        if command == "encode":
            descriptor = security.descriptor.from_sddl(item, domain_sid)
            out.append(base64.b64encode(ndr_pack(descriptor)).decode("ascii"))
        elif command == "decode":
            descriptor = ndr_unpack(security.descriptor, base64.b64decode(item))
            out.append(
                {
                    "sddl": descriptor.as_sddl(domain_sid),
                    "owner": str(descriptor.owner_sid) if descriptor.owner_sid else None,
                    "group": str(descriptor.group_sid) if descriptor.group_sid else None,
                    "dacl": [_ace(ace) for ace in descriptor.dacl.aces] if descriptor.dacl else None,
                }
            )
        else:
            raise SystemExit(f"samba_sd.py: unknown command {command!r}")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
