"""Collectors: the only modules that do I/O against AD (ldap3) and Windows hosts (pywinrm).

They gather facts and never judge. Each takes a connection factory so tests swap the endpoint (a
Samba DC, the loopback WinRM endpoint), never the collector's logic.
"""
