"""Collectors: what is read from AD (ldap3, in `directory`) and from Windows hosts (`hosts`, through
offlineprep.winrm's delivery), the discovery sources, and the collection plan.

They gather facts and never judge. Each takes a connection factory so tests swap the endpoint (a
Samba DC, the loopback WinRM endpoint), never the collector's logic.
"""
