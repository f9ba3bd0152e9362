/// The fuzzer's smoke run (#16.15), part of every test run: about 1,000 cases from seed 1 (programs, data files,
/// checkpoints) in process and a few through `nn`, each ending in success or a coded diagnostic within its limits.
/// The cases its longer runs found are ordinary tests next to the code they broke.
module Nn.Tests.Fuzz.FuzzTests

open Expecto
open Nn.Tests.Fuzz

[<Tests>]
let tests =
    testList "Fuzz" [
        testCase "smoke run: every case succeeds or gets a coded diagnostic, in time, as nn without exit 2" <| fun () ->
            let records = Harness.run 2 ignore Harness.smoke
            let cases = records |> List.filter (fun r -> r.Where = "in process") |> List.length
            Expect.isGreaterThanOrEqual cases 1_000 "about 1,000 cases in process"
            Expect.isNonEmpty (records |> List.filter (fun r -> r.Where = "nn")) "some cases as nn processes"
            let coded = records |> List.filter (fun r -> match r.Outcome with Oracle.Coded _ -> true | _ -> false)
            Expect.isGreaterThan coded.Length 100 "the damaged inputs reach the diagnostics"
            Expect.isEmpty (Harness.failures records) (String.concat "\n" (Harness.report records))

        testCase "the same seed gives the same cases" <| fun () ->
            for seed in [ 1; 2; 3; 4; 97 ] do
                Expect.equal (Programs.program seed) (Programs.program seed) "program"
                Expect.equal (DataFiles.case seed) (DataFiles.case seed) "data files"
                Expect.equal (Checkpoints.damage seed) (Checkpoints.damage seed) "checkpoint"
            Expect.notEqual (Programs.program 1) (Programs.program 5) "another seed, another program"
    ]
