"""Plan, apply, verify and revert: the fixes of failing findings, carried out and undone (docs/apply.md).

- `model`: the plan (`offlineprep/plan/v1`) and the record (`offlineprep/record/v1`), pydantic models.
- `planner`: a plan from the results of a run (the findings' typed actions, in the fix script's order).
- `states`: the state each action reads before it changes anything, as plain data (no I/O).
- `directory`: AD actions over LDAP (ldap3), each a modify that the DC refuses if the state changed.
- `hosts`: host actions by one PowerShell per machine (`winrm/scripts/apply.ps1`), the actions as data.
- `runner`: apply and revert end to end: the record written as it goes, then the re-check.

`directory` is the only module here that imports ldap3; `hosts` reaches Windows through offlineprep.winrm
(the one delivery, its public names only), as the collectors do.
"""
