"""The lab: simulated Windows hosts behind a WS-Management endpoint, and an in-process directory.

A simulator, not Windows: it answers as the hosts of a scenario would, from data, so the real
collectors (pywinrm, ldap3) run end to end in the tests, the demo and the benchmarks.
"""
