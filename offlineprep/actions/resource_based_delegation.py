"""ad.resource-based-delegation: the path computer lets hosts delegate to it
(msDS-AllowedToActOnBehalfOfOtherIdentity through -PrincipalsAllowedToDelegateToAccount), the form
that works across domains. apply writes it over LDAP (apply.directory) within one domain; a path
computer of another domain is left to the fix script's step.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from offlineprep.actions.base import DIRECTORY, ActionBase, ApplyWay, Owner, Phase, server_parameter
from offlineprep.pwsh import quote, quote_list


class AllowDelegationFrom(ActionBase):
    """Resource-based constrained delegation: the path computer lets hosts delegate to it
    (msDS-AllowedToActOnBehalfOfOtherIdentity through -PrincipalsAllowedToDelegateToAccount); works
    across domains, where classic constrained delegation does not.

    The hosts are read through the owner (the site's domain controller: their accounts are in the
    domain read). A path computer of another domain has `computer_domain`: its account is read and
    written there (-Server takes a domain name), and the hosts are passed as the objects read in
    their own domain, as Microsoft's cross-domain examples do (Application Proxy "SSO using KCD",
    delegation in a different domain; "Making the second hop in PowerShell Remoting", resource-based
    constrained delegation, which also clears the list with $null)."""

    kind: Literal["ad.resource-based-delegation"] = "ad.resource-based-delegation"
    owner: Owner | None = DIRECTORY
    rights: str = "write access to the path computer's msDS-AllowedToActOnBehalfOfOtherIdentity"
    computer: str  # the path computer (Get-ADComputer -Identity)
    computer_domain: str | None = None  # its domain's DNS name when it is not the one the owner's DC serves
    principals: list[str]  # the hosts to allow (Get-ADComputer -Identity each)
    before: list[str] = Field(default_factory=list)  # SIDs allowed as read ([] when not read)

    phase: ClassVar[Phase] = Phase.DIRECTORY
    modules: ClassVar[tuple[str, ...]] = ("ActiveDirectory",)
    apply_way: ClassVar[ApplyWay | None] = "ldap"

    def describe(self) -> tuple[str, str]:
        return self.computer, "Allow delegation from " + ", ".join(self.principals)

    def fix_lines(self) -> list[str]:
        return _rbcd(self, add=True)

    def revert_lines(self) -> list[str]:
        return _rbcd(self, add=False)

    def change(self) -> str:
        before = ", ".join(self.before) if self.before else "none"
        principals = ", ".join(self.principals) if self.principals else "none"
        return f"allowed to delegate: {before} -> adds {principals}"

    def by_hand(self) -> str | None:
        if not self.computer_domain:
            return None
        return (f"{self.computer}'s account is in {self.computer_domain}, the hosts it allows in another domain: apply "
                "writes resource-based delegation only within one domain (it reads the allowed accounts' SIDs where it "
                "writes); run the fix script's AD step, which sends it to that domain")


def _rbcd(a: AllowDelegationFrom, add: bool) -> list[str]:
    # -PrincipalsAllowedToDelegateToAccount replaces the whole list (Set-ADComputer docs): the
    # principals allowed already are kept, and the revert removes only these hosts. The hosts are
    # read through the site's DC (their domain) and passed as those objects, so a file server of
    # another domain (`computer_domain`, read and written there) is given principals it can resolve.
    server = server_parameter(a.owner)
    there = f" -Server {quote(a.computer_domain)}" if a.computer_domain else server
    who = quote(a.computer)
    lines = [
        f"$allowed = @((Get-ADComputer -Identity {who} -Properties 'PrincipalsAllowedToDelegateToAccount'{there})"
        ".PrincipalsAllowedToDelegateToAccount)",
        f"$hosts = @({quote_list(a.principals)} | ForEach-Object {{ Get-ADComputer -Identity $_{server} }})",
    ]
    if add:
        lines += ["$missing = @($hosts | Where-Object { $allowed -notcontains $_.DistinguishedName })",
                  f"if ($missing.Count -gt 0) {{ Set-ADComputer -Identity {who} -PrincipalsAllowedToDelegateToAccount "
                  f"(@($allowed) + @($missing)){there} }}"]
    else:
        lines += ["$names = @($hosts | ForEach-Object { $_.DistinguishedName })",
                  "$remaining = @($allowed | Where-Object { $names -notcontains $_ })",
                  # only when one of these hosts is still allowed; the last one out clears the list
                  f"if ($remaining.Count -lt $allowed.Count -and $remaining.Count -gt 0) {{ Set-ADComputer -Identity "
                  f"{who} -PrincipalsAllowedToDelegateToAccount $remaining{there} }}",
                  f"elseif ($remaining.Count -lt $allowed.Count) {{ Set-ADComputer -Identity {who} "
                  f"-PrincipalsAllowedToDelegateToAccount $null{there} }}"]
    return lines
