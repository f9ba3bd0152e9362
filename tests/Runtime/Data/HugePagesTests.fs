/// Large data arrays in 2 MiB pages where Linux offers them (transparent huge pages on request).
module Nn.Tests.Runtime.Data.HugePagesTests

open System
open System.IO
open Expecto
open Nn.Runtime.Data

/// The `VmFlags` of the mapping of /proc/self/smaps that holds `address`, or None.
let private flagsAt (address: int64) =
    let mutable inside = false
    let mutable found = None
    for line in File.ReadAllLines "/proc/self/smaps" do
        let m = Text.RegularExpressions.Regex.Match(line, "^([0-9a-f]+)-([0-9a-f]+) ")
        if m.Success then
            inside <- Convert.ToInt64(m.Groups[1].Value, 16) <= address
                      && address < Convert.ToInt64(m.Groups[2].Value, 16)
        elif inside && line.StartsWith "VmFlags:" then found <- Some(line.Substring 8)
    found

/// Whether this kernel grants huge pages on request (`madvise` or `always` mode).
let private offered () =
    let path = "/sys/kernel/mm/transparent_hugepage/enabled"
    OperatingSystem.IsLinux() && File.Exists path
    && (let mode = File.ReadAllText path in mode.Contains "[madvise]" || mode.Contains "[always]")

[<Tests>]
let tests =
    testList "Runtime.Data.HugePages" [
        test "an array of any length holds what is written to it" {
            for n in [ 0; 1; 1000; (4 <<< 20) / 4 + 3; (9 <<< 20) / 4 ] do
                let a = HugePages.Uninitialized<float32> n
                Expect.equal a.Length n "length"
                for i in 0 .. a.Length - 1 do a[i] <- float32 (i % 251)
                Expect.isTrue (a |> Array.mapi (fun i x -> x = float32 (i % 251)) |> Array.forall id)
                    (sprintf "values of %d" n)
        }
        test "a large array is pinned and its whole 2 MiB blocks are advised for huge pages (hg in VmFlags)" {
            if not (offered ()) then skiptest "no transparent huge pages on request here"
            let a = HugePages.Uninitialized<float32>((12 <<< 20) / 4)
            Expect.isTrue (GC.GetGeneration a = GC.MaxGeneration) "on the pinned heap (collected with gen 2)"
            let pin = Runtime.InteropServices.GCHandle.Alloc(a, Runtime.InteropServices.GCHandleType.Pinned)
            let address = int64 (pin.AddrOfPinnedObject())
            pin.Free()
            let inner = (address + (2L <<< 20) - 1L) &&& ~~~((2L <<< 20) - 1L)
            match flagsAt inner with
            | Some flags -> Expect.stringContains flags " hg" "VM_HUGEPAGE on the array's inner blocks"
            | None -> failtest "the array's address is in no mapping"
        }
    ]
