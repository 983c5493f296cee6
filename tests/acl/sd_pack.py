"""Run under Debian's /usr/bin/python3: packs SDDL as Samba writes it (NDR, self-relative SD).

Reads JSON [{"sddl": ..., "domain": ...}] on stdin; prints the packed descriptors as base64.
"""

import base64
import json
import sys

from samba.dcerpc import security
from samba.ndr import ndr_pack

cases = json.load(sys.stdin)
json.dump([base64.b64encode(ndr_pack(security.descriptor.from_sddl(c["sddl"], security.dom_sid(c["domain"]))))
           .decode() for c in cases], sys.stdout)
