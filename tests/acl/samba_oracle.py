"""Run under Debian's /usr/bin/python3 (python3-samba is not importable from a venv).

Reads JSON cases on stdin: [{"sddl": ..., "sids": [...]}, ...]; prints the granted masks as JSON,
Samba's answer to MAXIMUM_ALLOWED (0 where Samba raises "access denied").
"""

import json
import sys

import samba.security as ss
from samba.dcerpc import security

DOMAIN = "S-1-5-21-1000-2000-3000"
MAXIMUM_ALLOWED = 0x02000000


def main() -> None:
    cases = json.load(sys.stdin)
    answers = []
    for case in cases:
        sd = security.descriptor.from_sddl(case["sddl"], security.dom_sid(DOMAIN))
        token = security.token()
        token.sids = [security.dom_sid(s) for s in case["sids"]]
        token.num_sids = len(case["sids"])
        try:
            answers.append(ss.access_check(sd, token, MAXIMUM_ALLOWED))
        except Exception:
            answers.append(0)
    json.dump(answers, sys.stdout)


main()
