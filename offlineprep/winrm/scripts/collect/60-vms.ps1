if ($request.hyperv) {
    Try-Section 'vms' {
        if (-not (Get-Module -ListAvailable -Name Hyper-V)) { throw 'the Hyper-V PowerShell module is not installed (Windows feature Hyper-V-PowerShell): Get-VM cannot be run' }
        # types: $vm VirtualMachine; $disk HardDiskDrive; $vhd VirtualHardDisk; $vmEntry Answer
        $vms = @()
        foreach ($vm in @(Get-VM)) {
            # per VM: a pass-through disk or a missing/locked VHD makes this VM's size unknown, not all VMs'
            $vmEntry = [ordered]@{ name = [string]$vm.Name; disk_bytes = $null }
            try {
                $diskBytes = [int64]0
                foreach ($disk in @(Get-VMHardDiskDrive -VM $vm)) {
                    if ($null -ne $disk.DiskNumber) { throw ('pass-through disk ' + [string]$disk.DiskNumber + ': no file to size') }
                    $vhd = Get-VHD -Path $disk.Path
                    while ($vhd) {
                        $diskBytes += [int64]$vhd.FileSize
                        if ($vhd.ParentPath) { $vhd = Get-VHD -Path $vhd.ParentPath } else { $vhd = $null }
                    }
                }
                $vmEntry.disk_bytes = $diskBytes
            } catch { $vmEntry.error = $_.Exception.Message }
            $vms += , $vmEntry
        }
        $out.vms = $vms
    }
}
