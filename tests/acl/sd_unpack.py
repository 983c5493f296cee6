"""Run under Debian's /usr/bin/python3: reads self-relative descriptors as Samba reads them (NDR).

Reads JSON {"domain": ..., "blobs": [base64, ...]} on stdin; prints, for each, Samba's SDDL of it or
null when Samba refuses the bytes.
"""

import base64
import json
import sys

from samba.dcerpc import security
from samba.ndr import ndr_unpack

request = json.load(sys.stdin)
domain = security.dom_sid(request["domain"])
out = []
for blob in request["blobs"]:
    try:
        out.append(ndr_unpack(security.descriptor, base64.b64decode(blob)).as_sddl(domain))
    except Exception:
        out.append(None)
json.dump(out, sys.stdout)
